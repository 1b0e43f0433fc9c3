// Scaling from CloudWatch alarms: the API on average CPU (the plan's phase 3), the worker on the
// `messages` backlog.
import { Construct } from 'constructs';
import { AutoscalingPolicy } from '@cdktf/provider-aws/lib/autoscaling-policy';
import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmConfig,
} from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { AutoscalingGroup } from '@cdktf/provider-aws/lib/autoscaling-group';

export interface ScalingStep {
  /** Instances added (positive) or removed (negative). */
  adjustment: number;
  threshold: number;
  /** Consecutive 60 s periods past the threshold. */
  periods: number;
}

export interface AlarmScalingProps {
  group: AutoscalingGroup;
  namePrefix: string;
  /** Alarm metric (without thresholds and actions). */
  metric: Pick<CloudwatchMetricAlarmConfig, 'namespace' | 'metricName' | 'statistic' | 'dimensions'>;
  scaleOut: ScalingStep;
  scaleIn: ScalingStep;
  /** Seconds after an activity before the next. @default 300 */
  cooldownSeconds?: number;
}

/** Two simple-scaling policies, each triggered by its alarm. */
export class AlarmScaling extends Construct {
  readonly policies: AutoscalingPolicy[];
  readonly alarms: CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: AlarmScalingProps) {
    super(scope, id);
    const steps = [
      { dir: 'out', step: props.scaleOut, comparisonOperator: 'GreaterThanThreshold' },
      { dir: 'in', step: props.scaleIn, comparisonOperator: 'LessThanThreshold' },
    ];
    this.policies = [];
    this.alarms = [];
    for (const { dir, step, comparisonOperator } of steps) {
      const policy = new AutoscalingPolicy(this, `scale-${dir}`, {
        name: `${props.namePrefix}-scale-${dir}`,
        autoscalingGroupName: props.group.name,
        policyType: 'SimpleScaling',
        adjustmentType: 'ChangeInCapacity',
        scalingAdjustment: step.adjustment,
        cooldown: props.cooldownSeconds ?? 300,
      });
      const alarm = new CloudwatchMetricAlarm(this, `scale-${dir}-alarm`, {
        alarmName: `${props.namePrefix}-scale-${dir}`,
        alarmDescription: `Scale ${props.group.name} ${dir} by ${Math.abs(step.adjustment)}: ${props.metric.metricName} ${comparisonOperator} ${step.threshold}`,
        ...props.metric,
        period: 60,
        evaluationPeriods: step.periods,
        threshold: step.threshold,
        comparisonOperator,
        treatMissingData: dir === 'out' ? 'notBreaching' : 'missing',
        alarmActions: [policy.arn],
      });
      this.policies.push(policy);
      this.alarms.push(alarm);
    }
  }
}

/** The plan: +2 when average CPU > 70 %, -1 when < 30 %, 300 s cooldown. */
export function cpuScaling(scope: Construct, group: AutoscalingGroup, namePrefix: string): AlarmScaling {
  return new AlarmScaling(scope, 'api-cpu-scaling', {
    group,
    namePrefix: `${namePrefix}-api-cpu`,
    metric: {
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      statistic: 'Average',
      dimensions: { AutoScalingGroupName: group.name },
    },
    scaleOut: { adjustment: 2, threshold: 70, periods: 2 },
    scaleIn: { adjustment: -1, threshold: 30, periods: 5 },
    cooldownSeconds: 300,
  });
}

/** One more worker while `messages` holds more than `backlog` visible messages; one fewer below a tenth of it. */
export function queueBacklogScaling(
  scope: Construct,
  group: AutoscalingGroup,
  namePrefix: string,
  queueName: string,
  backlog: number,
): AlarmScaling {
  return new AlarmScaling(scope, 'worker-backlog-scaling', {
    group,
    namePrefix: `${namePrefix}-worker-backlog`,
    metric: {
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      statistic: 'Maximum',
      dimensions: { QueueName: queueName },
    },
    scaleOut: { adjustment: 1, threshold: backlog, periods: 3 },
    scaleIn: { adjustment: -1, threshold: Math.max(1, Math.floor(backlog / 10)), periods: 15 },
    cooldownSeconds: 300,
  });
}
