// One fleet per role (`api`, `worker`): instance role and profile, launch template, auto scaling group.
import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import type { GroupCapacity } from '../config/tiers';
import { processesPerInstance } from '../config/processes';
import { partitionOf, ServiceRole } from './iam';
import type { AppLogGroups } from './logs';
import { MIGRATION_START_BUDGET_SECONDS } from '../../common/operations/timeouts';
import { userDataScript, type AppRole, type AppSettings } from './user-data';

export interface AppFleetProps {
  namePrefix: string;
  role: AppRole;
  region: string;
  /** AMI with the Cyphr bundle and systemd units: from the image construct, or from config until it exists. */
  imageId: string;
  capacity: GroupCapacity;
  subnetIds: string[];
  securityGroupId: string;
  /** Non-secret settings written to /etc/cyphr/cyphr.env. */
  settings: AppSettings;
  /** The groups the CloudWatch agent ships this role's process logs and metrics to. */
  appLogs: AppLogGroups;
  /** Register instances in this target group and use its health checks. */
  targetGroupArn?: string;
  /** @default 20 */
  rootVolumeGb?: number;
  /** Root device of the AMI. @default /dev/xvda (Amazon Linux) */
  rootDeviceName?: string;
  /** Seconds after launch before health checks count; never below the start budget. @default START_BUDGET_SECONDS */
  healthCheckGraceSeconds?: number;
  /** Healthy share kept during an instance refresh. @default 100 (launch before terminating) */
  refreshMinHealthyPercentage?: number;
  /** Share the group may grow to while replacing instances. @default 110 (at least one extra instance) */
  refreshMaxHealthyPercentage?: number;
}

/**
 * Seconds from launch until an instance can pass its health check: boot, user data and the units starting
 * (BOOT_SECONDS), then the migration, which systemd allows MIGRATION_START_BUDGET_SECONDS
 * (cyphr-migrate.service TimeoutStartSec), before the API or worker starts. A grace shorter than this lets
 * the group replace instances that are still migrating (a policy rule refuses it: apply-rules.ts).
 */
export const BOOT_SECONDS = 120;
export const START_BUDGET_SECONDS = BOOT_SECONDS + MIGRATION_START_BUDGET_SECONDS;

export class AppFleet extends Construct {
  readonly role: ServiceRole;
  readonly launchTemplate: LaunchTemplate;
  readonly group: AutoscalingGroup;

  constructor(scope: Construct, id: string, props: AppFleetProps) {
    super(scope, id);
    const name = `${props.namePrefix}-${props.role}`;
    this.role = new ServiceRole(this, 'instance-role', {
      name,
      servicePrincipal: 'ec2.amazonaws.com',
      description: `Cyphr ${props.role} instances`,
      instanceProfile: true,
    });
    this.allowSessionManager(props.region);
    this.allowCloudWatchAgent(props.appLogs.arnsFor(props.role));
    const grace = props.healthCheckGraceSeconds ?? START_BUDGET_SECONDS;

    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      name,
      imageId: props.imageId,
      instanceType: props.capacity.instanceType,
      iamInstanceProfile: { arn: this.role.instanceProfile?.arn },
      networkInterfaces: [
        { associatePublicIpAddress: 'false', deleteOnTermination: 'true', securityGroups: [props.securityGroupId] },
      ],
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        httpPutResponseHopLimit: 1,
        instanceMetadataTags: 'enabled',
      },
      // Encrypted with the account's EBS key: a customer key would need the Auto Scaling service-linked role in its policy.
      blockDeviceMappings: [
        {
          deviceName: props.rootDeviceName ?? '/dev/xvda',
          ebs: {
            volumeSize: props.rootVolumeGb ?? 20,
            volumeType: 'gp3',
            encrypted: 'true',
            deleteOnTermination: 'true',
          },
        },
      ],
      monitoring: { enabled: true },
      // A unit that cannot stay up powers the instance off (StartLimitAction=poweroff): it is then terminated and
      // its group launches a replacement, with no IAM permission that could touch another instance.
      instanceInitiatedShutdownBehavior: 'terminate',
      // One Node process per vCPU: the API's share port 3001 (SO_REUSEPORT), the workers consume side by side.
      userData: Fn.base64encode(
        userDataScript(props.role, props.settings, processesPerInstance(props.capacity.instanceType)),
      ),
      updateDefaultVersion: true,
      tagSpecifications: ['instance', 'volume'].map((resourceType) => ({
        resourceType,
        tags: { Name: name, Role: props.role },
      })),
    });

    this.group = new AutoscalingGroup(this, 'group', {
      name,
      vpcZoneIdentifier: props.subnetIds,
      minSize: props.capacity.min,
      maxSize: props.capacity.max,
      desiredCapacity: props.capacity.desired,
      launchTemplate: { id: this.launchTemplate.id, version: Token.asString(this.launchTemplate.latestVersion) },
      targetGroupArns: props.targetGroupArn ? [props.targetGroupArn] : undefined,
      healthCheckType: props.targetGroupArn ? 'ELB' : 'EC2',
      healthCheckGracePeriod: grace,
      defaultInstanceWarmup: 120,
      metricsGranularity: '1Minute',
      enabledMetrics: [
        'GroupDesiredCapacity',
        'GroupInServiceInstances',
        'GroupMinSize',
        'GroupMaxSize',
        'GroupPendingInstances',
        'GroupTerminatingInstances',
      ],
      // A new launch template version (new AMI, new settings) rolls the group: each replacement is launched
      // and healthy before an old instance goes, so the serving capacity never drops; a failed refresh
      // rolls back to the previous launch template version (its AMI stays: Image Builder keeps old AMIs).
      instanceRefresh: {
        strategy: 'Rolling',
        preferences: {
          minHealthyPercentage: props.refreshMinHealthyPercentage ?? 100,
          maxHealthyPercentage: props.refreshMaxHealthyPercentage ?? 110,
          // As long as the health check grace: migrations and boot before the next replacement.
          instanceWarmup: String(grace),
          autoRollback: true,
        },
      },
      tag: [
        { key: 'Name', value: name, propagateAtLaunch: true },
        { key: 'Role', value: props.role, propagateAtLaunch: true },
      ],
      // Scaling policies own the desired count after creation.
      lifecycle: { ignoreChanges: ['desired_capacity'] },
    });
  }

  /** SSM agent: Session Manager instead of SSH, patching, inventory. */
  private allowSessionManager(region: string): void {
    this.role.attachManagedPolicy(
      'ssm-core',
      `arn:${partitionOf(region)}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    );
  }

  /**
   * CloudWatch agent: streams in this role's log groups only (Terraform made the groups). The process
   * metrics travel as embedded-metric-format log events in the metrics group, so no PutMetricData.
   */
  private allowCloudWatchAgent(logGroupArns: string[]): void {
    this.role.addToPolicy({
      sid: 'WriteOwnLogGroups',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: logGroupArns.flatMap((arn) => [arn, `${arn}:*`]),
    });
  }
}
