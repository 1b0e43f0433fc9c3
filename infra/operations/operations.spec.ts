// Monitoring, backups, the CI deploy role and remote state, each in a small stack of its own with
// plain names standing in for the stack's ALB, fleets, database, cache and queues.
import { Testing, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Monitoring, type MonitoringProps } from './monitoring';
import { DatabaseBackup, EVERY_6_HOURS } from './backup';
import { CiDeployRole, DEPLOY_SESSION_SECONDS, deployPolicy, type CiDeployRoleProps } from './ci-deploy-role';
import { configureStateBackend } from './state-backend';

type Json = Record<string, any>;

function synth(build: (stack: TerraformStack) => void) {
  const stack = new TerraformStack(Testing.app(), 'ops-test');
  new AwsProvider(stack, 'aws', { region: 'eu-central-1' });
  build(stack);
  const doc = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Json>>; terraform: Json };
  const all = (type: string) => Object.values(doc.resource?.[type] ?? {});
  return { doc, all, one: (type: string) => all(type)[0] };
}

const TARGETS: MonitoringProps = {
  environment: 'test',
  namePrefix: 'cyphr-test',
  accountId: '123456789012',
  region: 'eu-central-1',
  alb: { arnSuffix: 'app/cyphr-test-alb/abc', targetGroupArnSuffix: 'targetgroup/cyphr-test-api/def' },
  fleets: [
    { role: 'api', groupName: 'cyphr-test-api' },
    { role: 'worker', groupName: 'cyphr-test-worker' },
  ],
  database: {
    primaryId: 'cyphr-test-db',
    replicaIds: ['cyphr-test-db-replica-1', 'cyphr-test-db-replica-2'],
    allocatedStorageGb: 100,
  },
  cache: { replicationGroupId: 'cyphr-test-redis' },
  queues: {
    work: [
      { label: 'messages', name: 'cyphr-test-messages.fifo' },
      { label: 'notifications', name: 'cyphr-test-notifications' },
    ],
    deadLetters: [
      { label: 'messages', name: 'cyphr-test-messages-dlq.fifo' },
      { label: 'notifications', name: 'cyphr-test-dlq' },
    ],
  },
};

describe('Monitoring', () => {
  const { all, one } = synth((s) => new Monitoring(s, 'monitoring', { ...TARGETS, alarmEmail: 'ops@example.com' }));
  const alarms: Record<string, Json> = Object.fromEntries(
    all('aws_cloudwatch_metric_alarm').map((a) => [a.alarm_name, a]),
  );

  it('draws CyphrMetrics-<environment> with every layer the plan watches', () => {
    const dashboard = one('aws_cloudwatch_dashboard');
    expect(dashboard.dashboard_name).toBe('CyphrMetrics-test');
    const body = JSON.parse(dashboard.dashboard_body);
    const text = JSON.stringify(body);
    for (const metric of [
      'RequestCount',
      'TargetResponseTime',
      'HTTPCode_Target_5XX_Count',
      'HealthyHostCount',
      'CPUUtilization',
      'GroupInServiceInstances',
      'DatabaseConnections',
      'ReplicaLag',
      'FreeStorageSpace',
      'EngineCPUUtilization',
      'DatabaseMemoryUsagePercentage',
      'Evictions',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
    ])
      expect(text).toContain(metric);
    expect(text).toContain('"p95"');
    expect(body.widgets.every((w: Json) => w.properties.region === 'eu-central-1')).toBe(true);
    // The processes' own metrics, scraped by the CloudWatch agent into Cyphr/<environment>.
    const processMetrics = body.widgets
      .flatMap((w: Json) => w.properties.metrics)
      .filter((m: unknown[]) => m[0] === 'Cyphr/test')
      .map((m: unknown[]) => `${m[3]}:${m[1]}`);
    expect(processMetrics).toEqual(
      expect.arrayContaining([
        'cyphr-api:cyphr_websocket_connections',
        'cyphr-worker:cyphr_worker_messages_stored_total',
        'cyphr-worker:cyphr_worker_messages_dead_lettered_total',
        'cyphr-worker:cyphr_worker_mailbox_pending_messages',
        'cyphr-worker:cyphr_worker_mailbox_oldest_pending_age_seconds',
        'cyphr-worker:cyphr_worker_push_total',
      ]),
    );
    // Mailbox gauges are the table's, reported alike by every worker: Maximum, never a Sum over instances.
    const mailbox = body.widgets
      .flatMap((w: Json) => w.properties.metrics)
      .filter((m: unknown[]) => String(m[1]).startsWith('cyphr_worker_mailbox_'));
    expect(mailbox.map((m: unknown[]) => (m[m.length - 1] as Json).stat)).toEqual(['Maximum', 'Maximum']);
    const pushOutcomes = body.widgets
      .flatMap((w: Json) => w.properties.metrics)
      .filter((m: unknown[]) => m[1] === 'cyphr_worker_push_total')
      .map((m: unknown[]) => m[5]);
    expect(pushOutcomes).toEqual(['delivered', 'dropped', 'token-invalid', 'failed', 'no-token']);
  });

  it('raises the plan’s alarms', () => {
    expect(Object.keys(alarms).sort()).toEqual([
      'cyphr-test-api-5xx-rate',
      'cyphr-test-api-high-cpu',
      'cyphr-test-api-p95-latency',
      'cyphr-test-api-unhealthy-hosts',
      'cyphr-test-db-high-cpu',
      'cyphr-test-db-low-free-storage',
      'cyphr-test-db-replica-1-lag',
      'cyphr-test-db-replica-2-lag',
      'cyphr-test-mailbox-expiry-stalled',
      'cyphr-test-mailbox-pending-high',
      'cyphr-test-messages-dlq-not-empty',
      'cyphr-test-messages-oldest-message',
      'cyphr-test-notifications-dlq-not-empty',
      'cyphr-test-notifications-oldest-message',
      'cyphr-test-push-failures',
      'cyphr-test-worker-high-cpu',
    ]);
    // The expiry pass keeps every mailbox younger than the retention (30 days by default) plus an hour.
    expect(alarms['cyphr-test-mailbox-expiry-stalled']).toMatchObject({
      namespace: 'Cyphr/test',
      metric_name: 'cyphr_worker_mailbox_oldest_pending_age_seconds',
      dimensions: { job: 'cyphr-worker' },
      statistic: 'Maximum',
      threshold: 30 * 86_400 + 3_600,
    });
    expect(alarms['cyphr-test-push-failures']).toMatchObject({
      metric_name: 'cyphr_worker_push_total',
      dimensions: { job: 'cyphr-worker', outcome: 'failed' },
      statistic: 'Sum',
    });
    expect(alarms['cyphr-test-api-high-cpu']).toMatchObject({
      metric_name: 'CPUUtilization',
      threshold: 80,
      comparison_operator: 'GreaterThanThreshold',
      dimensions: { AutoScalingGroupName: 'cyphr-test-api' },
    });
    expect(alarms['cyphr-test-api-p95-latency']).toMatchObject({
      extended_statistic: 'p95',
      threshold: 0.1,
      dimensions: { LoadBalancer: 'app/cyphr-test-alb/abc' },
    });
    expect(alarms['cyphr-test-api-5xx-rate'].metric_query[0].expression).toContain(
      '(FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests',
    );
    expect(alarms['cyphr-test-messages-dlq-not-empty']).toMatchObject({
      threshold: 0,
      dimensions: { QueueName: 'cyphr-test-messages-dlq.fifo' },
    });
    expect(alarms['cyphr-test-notifications-dlq-not-empty']).toMatchObject({
      dimensions: { QueueName: 'cyphr-test-dlq' },
    });
    expect(alarms['cyphr-test-db-low-free-storage']).toMatchObject({
      comparison_operator: 'LessThanThreshold',
      threshold: 10 * 1024 ** 3,
    });
    expect(alarms['cyphr-test-db-replica-1-lag']).toMatchObject({ metric_name: 'ReplicaLag', threshold: 30 });
  });

  it('notifies an encrypted topic and the configured address, on alarm and on recovery', () => {
    for (const alarm of Object.values(alarms)) {
      expect(alarm.alarm_actions).toEqual([expect.stringContaining('aws_sns_topic.')]);
      expect(alarm.ok_actions).toEqual(alarm.alarm_actions);
    }
    expect(one('aws_sns_topic').kms_master_key_id).toContain('aws_kms_key.');
    expect(JSON.parse(one('aws_kms_key').policy).Statement[1].Principal).toEqual({
      Service: 'cloudwatch.amazonaws.com',
    });
    expect(one('aws_sns_topic_subscription')).toMatchObject({ protocol: 'email', endpoint: 'ops@example.com' });
  });

  it('has no replica alarms when the tier has no replicas, and no subscription without an address', () => {
    const small = synth(
      (s) => new Monitoring(s, 'monitoring', { ...TARGETS, database: { ...TARGETS.database, replicaIds: [] } }),
    );
    expect(small.all('aws_cloudwatch_metric_alarm').filter((a) => a.metric_name === 'ReplicaLag')).toEqual([]);
    expect(small.all('aws_sns_topic_subscription')).toEqual([]);
  });
});

describe('DatabaseBackup', () => {
  const { one } = synth(
    (s) =>
      new DatabaseBackup(s, 'backup', {
        namePrefix: 'cyphr-test',
        accountId: '123456789012',
        region: 'eu-central-1',
        resourceArns: ['arn:aws:rds:eu-central-1:123456789012:db:cyphr-test-db'],
      }),
  );
  it('backs the database up every 6 hours into a KMS-encrypted vault and keeps 30 days', () => {
    expect(EVERY_6_HOURS).toBe('cron(0 */6 * * ? *)');
    expect(one('aws_backup_plan').rule[0]).toMatchObject({ schedule: EVERY_6_HOURS, lifecycle: { delete_after: 30 } });
    expect(one('aws_backup_vault').kms_key_arn).toContain('aws_kms_key.');
    expect(one('aws_backup_selection').resources).toEqual(['arn:aws:rds:eu-central-1:123456789012:db:cyphr-test-db']);
    expect(JSON.parse(one('aws_backup_vault_policy').policy).Statement[0]).toMatchObject({
      Effect: 'Deny',
      Action: expect.arrayContaining(['backup:DeleteRecoveryPoint']),
    });
  });
});

describe('CiDeployRole', () => {
  const props: CiDeployRoleProps = {
    namePrefix: 'cyphr-test',
    accountId: '123456789012',
    region: 'eu-central-1',
    githubRepository: 'example-org/cyphr',
    githubEnvironment: 'test',
    stateBackend: { bucket: 'state-bucket', key: 'cyphr/cyphr-test.tfstate' },
    hostedZoneId: 'Z0123456789ABC',
  };
  const { one, all } = synth((s) => new CiDeployRole(s, 'ci', props));

  it('lasts long enough for an apply that bakes an AMI', () => {
    expect(one('aws_iam_role').max_session_duration).toBe(DEPLOY_SESSION_SECONDS);
  });

  it('trusts only the deploy workflow’s apply job on main in one GitHub environment, through a GitHub OIDC provider it creates', () => {
    expect(one('aws_iam_openid_connect_provider')).toMatchObject({
      url: 'https://token.actions.githubusercontent.com',
      client_id_list: ['sts.amazonaws.com'],
    });
    const trust = JSON.parse(one('aws_iam_role').assume_role_policy).Statement[0];
    expect(trust).toMatchObject({
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub':
            'repo:example-org/cyphr:environment:test:ref:refs/heads/main' +
            ':job_workflow_ref:example-org/cyphr/.github/workflows/apply.yml@refs/heads/main',
        },
      },
    });
  });

  it('is scoped: regions, own names, own state, no secret values, no changes to itself', () => {
    const policy = deployPolicy(props, 'cyphr-test-ci-deploy') as { Statement: Json[] };
    const sid = (s: string) => policy.Statement.find((x) => x.Sid === s) as Json;
    expect(sid('ManageStackServicesInItsRegions').Condition).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['eu-central-1', 'us-east-1'] },
    });
    expect(sid('ManageStackRoles').Resource).toEqual([
      'arn:aws:iam::123456789012:role/cyphr-test-*',
      'arn:aws:iam::123456789012:instance-profile/cyphr-test-*',
    ]);
    expect(sid('NeverChangeOwnPermissions')).toMatchObject({
      Effect: 'Deny',
      Resource: 'arn:aws:iam::123456789012:role/cyphr-test-ci-deploy',
    });
    expect(sid('ReadOnlyTerraformWrittenSecrets')).toMatchObject({
      Effect: 'Deny',
      Action: 'secretsmanager:GetSecretValue',
      NotResource: [
        'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cyphr-test/db-master-*',
        'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cyphr-test/jwt-signing-keys-*',
      ],
    });
    expect(sid('ReadWriteStateAndLock').Resource).toEqual([
      'arn:aws:s3:::state-bucket/cyphr/cyphr-test.tfstate',
      'arn:aws:s3:::state-bucket/cyphr/cyphr-test.tfstate.tflock',
    ]);
    expect(sid('ManageStackRecords').Resource).toBe('arn:aws:route53:::hostedzone/Z0123456789ABC');
    expect(
      policy.Statement.some(
        (s) =>
          s.Effect === 'Allow' &&
          [s.Action].flat().some((a: string) => ['*', 'iam:*', 'iam:CreateUser', 'iam:CreateAccessKey'].includes(a)),
      ),
    ).toBe(false);
    expect(all('aws_iam_role_policy')).toHaveLength(1);
  });

  it('reuses an existing OIDC provider and refuses a malformed repository', () => {
    const existing = synth(
      (s) =>
        new CiDeployRole(s, 'ci', {
          ...props,
          existingOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
        }),
    );
    expect(existing.all('aws_iam_openid_connect_provider')).toEqual([]);
    // The owning stack alone may change the provider another environment's deploys trust.
    const statements = (p: CiDeployRoleProps) =>
      (deployPolicy(p, 'cyphr-test-ci-deploy') as { Statement: Json[] }).Statement.map((x) => x.Sid);
    expect(statements(props)).toContain('ManageGithubOidcProvider');
    expect(
      statements({
        ...props,
        existingOidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
      }),
    ).not.toContain('ManageGithubOidcProvider');
    expect(() => synth((s) => new CiDeployRole(s, 'ci', { ...props, githubRepository: 'not a repo' }))).toThrow(
      /owner\/name/,
    );
  });
});

describe('remote state', () => {
  it('uses S3 with encryption and the native lock file when configured', () => {
    const { doc } = synth((s) => configureStateBackend(s, { bucket: 'state-bucket', region: 'eu-central-1' }));
    expect(doc.terraform.backend).toEqual({
      s3: {
        bucket: 'state-bucket',
        key: 'cyphr/ops-test.tfstate',
        region: 'eu-central-1',
        encrypt: true,
        use_lockfile: true,
      },
    });
  });
  it('keeps local state by default', () => {
    const { doc } = synth((s) => configureStateBackend(s, undefined));
    expect(doc.terraform.backend?.s3).toBeUndefined();
  });
});
