// One fleet per role (`api`, `worker`): instance role and profile, launch template, auto scaling group.
import { Construct } from 'constructs';
import { Fn, Token } from 'cdktf';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';
import type { GroupCapacity } from '../config/tiers';
import { partitionOf, ServiceRole } from './iam';
import { encryptedLogGroup, type LogGroupSettings } from './logs';
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
  logs: LogGroupSettings;
  /** Register instances in this target group and use its health checks. */
  targetGroupArn?: string;
  /** @default 20 */
  rootVolumeGb?: number;
  /** Root device of the AMI. @default /dev/xvda (Amazon Linux) */
  rootDeviceName?: string;
  /** Seconds after launch before health checks count. @default 180 */
  healthCheckGraceSeconds?: number;
  /** Healthy share kept during an instance refresh. @default 100 (launch before terminating) */
  refreshMinHealthyPercentage?: number;
  /** Share the group may grow to while replacing instances. @default 110 (at least one extra instance) */
  refreshMaxHealthyPercentage?: number;
}

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
    this.allowCloudWatchAgent(
      encryptedLogGroup(this, 'app-logs', `/cyphr/${props.namePrefix}/${props.role}`, props.logs).arn,
    );

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
      userData: Fn.base64encode(userDataScript(props.role, props.settings)),
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
      healthCheckGracePeriod: props.healthCheckGraceSeconds ?? 180,
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
          instanceWarmup: String(props.healthCheckGraceSeconds ?? 180),
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

  /** CloudWatch agent: metrics in its own namespaces, logs to this fleet's log group only. */
  private allowCloudWatchAgent(logGroupArn: string): void {
    this.role.addToPolicy({
      sid: 'PutMetricsInOwnNamespaces',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'], // PutMetricData has no resource-level permissions; the namespace condition scopes it.
      conditions: [{ test: 'StringEquals', variable: 'cloudwatch:namespace', values: ['CWAgent', 'Cyphr'] }],
    });
    this.role.addToPolicy({
      sid: 'WriteOwnLogGroup',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logGroupArn, `${logGroupArn}:*`],
    });
  }
}
