// Each policy rule fails synth on a deliberately bad resource; a named suppression lets one through.
import { Aspects, Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { EbsVolume } from '@cdktf/provider-aws/lib/ebs-volume';
import { ElasticacheReplicationGroup } from '@cdktf/provider-aws/lib/elasticache-replication-group';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { PolicyAspect, checkPolicies } from './aspect';
import { POLICY_RULES } from './rules';
import { suppressPolicy } from './suppressions';

function stackWith(production: boolean, build: (scope: Construct) => void): TerraformStack {
  const stack = new TerraformStack(Testing.app(), 'policy-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  build(stack);
  Aspects.of(stack).add(new PolicyAspect({ production }));
  return stack;
}

const goodDb = {
  engine: 'postgres',
  instanceClass: 'db.t3.medium',
  storageEncrypted: true,
  backupRetentionPeriod: 7,
  multiAz: true,
  deletionProtection: true,
};
const goodLaunchTemplate = {
  metadataOptions: { httpTokens: 'required' },
  blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { encrypted: 'true' } }],
  networkInterfaces: [{ associatePublicIpAddress: 'false' }],
};
const ingress = (scope: Construct, id: string, securityGroupId: string, port: number) =>
  new VpcSecurityGroupIngressRule(scope, id, {
    securityGroupId,
    cidrIpv4: '0.0.0.0/0',
    ipProtocol: 'tcp',
    fromPort: port,
    toPort: port,
  });

/** One deliberately bad resource per rule. */
const BAD: Record<string, { production?: boolean; build: (s: Construct) => void }> = {
  'rds-encrypted': { build: (s) => new DbInstance(s, 'db', { ...goodDb, storageEncrypted: false }) },
  'ebs-encrypted': {
    build: (s) => {
      new LaunchTemplate(s, 'lt', {
        ...goodLaunchTemplate,
        blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { encrypted: 'false' } }],
      });
      new EbsVolume(s, 'vol', { availabilityZone: 'eu-central-1a', size: 10 });
    },
  },
  'cache-encrypted': {
    build: (s) =>
      new ElasticacheReplicationGroup(s, 'redis', {
        replicationGroupId: 'r',
        description: 'r',
        atRestEncryptionEnabled: 'true',
      }),
  },
  'queue-encrypted': { build: (s) => new SqsQueue(s, 'q', { name: 'q', sqsManagedSseEnabled: false }) },
  'bucket-encrypted': { build: (s) => new S3Bucket(s, 'bucket', { bucket: 'plain-bucket' }) },
  'log-group-encrypted': { build: (s) => new CloudwatchLogGroup(s, 'logs', { name: 'l', retentionInDays: 30 }) },
  'log-group-retention': {
    build: (s) =>
      new CloudwatchLogGroup(s, 'logs', { name: 'l', kmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/x' }),
  },
  imdsv2: {
    build: (s) => new LaunchTemplate(s, 'lt', { ...goodLaunchTemplate, metadataOptions: { httpTokens: 'optional' } }),
  },
  'rds-not-public': { build: (s) => new DbInstance(s, 'db', { ...goodDb, publiclyAccessible: true }) },
  'no-public-ip': {
    build: (s) => {
      new LaunchTemplate(s, 'lt', { ...goodLaunchTemplate, networkInterfaces: [{ associatePublicIpAddress: 'true' }] });
      new Subnet(s, 'subnet', { vpcId: 'vpc-1', cidrBlock: '10.0.0.0/24', mapPublicIpOnLaunch: true });
    },
  },
  'no-open-ingress': {
    build: (s) => {
      const alb = new SecurityGroup(s, 'alb-sg', { name: 'alb' });
      const app = new SecurityGroup(s, 'app-sg', { name: 'app' });
      new Lb(s, 'alb', { securityGroups: [alb.id], dropInvalidHeaderFields: true });
      ingress(s, 'alb-ssh', alb.id, 22); // the ALB, but not a web port
      ingress(s, 'app-https', app.id, 443); // a web port, but not the ALB
    },
  },
  'alb-drop-invalid-headers': { build: (s) => new Lb(s, 'alb', { loadBalancerType: 'application' }) },
  'alb-http-redirect': {
    build: (s) =>
      new LbListener(s, 'http', {
        loadBalancerArn: 'arn',
        port: 80,
        protocol: 'HTTP',
        defaultAction: [{ type: 'forward', targetGroupArn: 'tg' }],
      }),
  },
  'rds-backups': { build: (s) => new DbInstance(s, 'db', { ...goodDb, backupRetentionPeriod: 0 }) },
  'production-rds-multi-az': { production: true, build: (s) => new DbInstance(s, 'db', { ...goodDb, multiAz: false }) },
  'production-rds-deletion-protection': {
    production: true,
    build: (s) => new DbInstance(s, 'db', { ...goodDb, deletionProtection: false }),
  },
};

describe('policy aspect', () => {
  it('has a bad example for every rule', () => {
    expect(Object.keys(BAD).sort()).toEqual(POLICY_RULES.map((r) => r.id).sort());
  });

  it.each(Object.entries(BAD))('fails synth on a resource breaking %s', (rule, { production, build }) => {
    const stack = stackWith(production ?? false, build);
    expect(() => Testing.synth(stack, true)).toThrow(new RegExp(`policy ${rule} \\(`));
    const broken = checkPolicies(stack, { production: production ?? false }).filter((v) => v.rule === rule);
    expect(broken.length).toBeGreaterThan(0);
  });

  it('finds both halves of a two-resource example', () => {
    const stack = stackWith(false, BAD['no-open-ingress'].build);
    const found = checkPolicies(stack, { production: false }).map((v) => v.address);
    expect(found).toEqual([
      expect.stringMatching(/^aws_vpc_security_group_ingress_rule\.alb-ssh/),
      expect.stringMatching(/^aws_vpc_security_group_ingress_rule\.app-https/),
    ]);
  });

  it('lets the ALB take the internet on 80 and 443', () => {
    const stack = stackWith(false, (s) => {
      const alb = new SecurityGroup(s, 'alb-sg', { name: 'alb' });
      new Lb(s, 'alb', { securityGroups: [alb.id], dropInvalidHeaderFields: true });
      ingress(s, 'https', alb.id, 443);
      ingress(s, 'http', alb.id, 80);
    });
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });

  it('applies the production rules only in production', () => {
    const stack = stackWith(
      false,
      (s) => new DbInstance(s, 'db', { ...goodDb, multiAz: false, deletionProtection: false }),
    );
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });

  it('honours a named suppression with a reason on that one resource only', () => {
    const stack = stackWith(false, (s) => {
      const exempt = new SqsQueue(s, 'exempt', { name: 'exempt' });
      suppressPolicy(exempt, 'queue-encrypted', 'Test fixture: stands for a queue that holds only public data');
      new SqsQueue(s, 'other', { name: 'other' });
    });
    const violations = checkPolicies(stack, { production: false });
    expect(violations.map((v) => v.address)).toEqual([expect.stringMatching(/^aws_sqs_queue\.other/)]);
  });

  it('refuses a suppression without a real reason', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const queue = new SqsQueue(stack, 'q', { name: 'q' });
    expect(() => suppressPolicy(queue, 'queue-encrypted', 'because')).toThrow(/needs a written reason/);
  });
});
