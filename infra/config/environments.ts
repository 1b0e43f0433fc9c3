// Environments as data. Add one by adding an entry: constructs never name an environment.
// Replace accountId, amiId and the domain/hosted zone with your own before deploying.
import type { TierName } from './tiers';

export interface DomainConfig {
  /** Host name the ALB certificate is issued for, e.g. api.example.com. */
  name: string;
  /** Route 53 public hosted zone holding `name` (from config: plans stay offline). */
  hostedZoneId: string;
}

export interface EnvironmentConfig {
  /** Used in resource names and the stack name `cyphr-<name>`. */
  name: string;
  tier: TierName;
  /** Production turns on the strict policies (Multi-AZ, deletion protection) and longer retention. */
  production: boolean;
  /** The AWS account the stack deploys to (key policies need it; no data source asks AWS). */
  accountId: string;
  region: string;
  /** Exactly three AZ names in `region`. */
  availabilityZones: string[];
  /** VPC CIDR, /16 to /20; subnets are carved from it. Must not overlap another environment's. */
  vpcCidr: string;
  /** One NAT gateway per AZ (survives an AZ outage) or one shared (cheaper). */
  natGatewayPerAz: boolean;
  /** Deletion protection on the database and the ALB. */
  deletionProtection: boolean;
  /** RDS primary in Multi-AZ. @default production */
  multiAzDatabase?: boolean;
  /** RDS automated backup retention (1-35 days). */
  backupRetentionDays: number;
  /** CloudWatch log retention, one of the values CloudWatch accepts. */
  logRetentionDays: number;
  /** AMI for both roles until the image construct (packaging issue) supplies one. */
  amiId: string;
  /** Without a domain the ALB has no certificate and serves plain HTTP (see load-balancer.ts). */
  domain?: DomainConfig;
  /** Alarm notifications (used by the monitoring construct). */
  alarmEmail?: string;
  /** LOG_LEVEL of the API and the worker. @default info */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export const ENVIRONMENTS: Record<string, EnvironmentConfig> = {
  staging: {
    name: 'staging',
    tier: 'small',
    production: false,
    accountId: '111111111111',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.20.0.0/16',
    natGatewayPerAz: false,
    deletionProtection: false,
    backupRetentionDays: 7,
    logRetentionDays: 30,
    amiId: 'ami-0123456789abcdef0',
  },
  production: {
    name: 'production',
    tier: 'medium',
    production: true,
    accountId: '222222222222',
    region: 'eu-central-1',
    availabilityZones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
    vpcCidr: '10.30.0.0/16',
    natGatewayPerAz: true,
    deletionProtection: true,
    multiAzDatabase: true,
    backupRetentionDays: 30,
    logRetentionDays: 365,
    amiId: 'ami-0123456789abcdef0',
    domain: { name: 'api.cyphr.example.com', hostedZoneId: 'Z0123456789EXAMPLEZONE' },
    alarmEmail: 'ops@cyphr.example.com',
  },
};
