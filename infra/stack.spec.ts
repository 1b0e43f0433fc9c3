// Synthesized JSON of the whole stack, for every environment x tier, construct by construct.
// Testing.synth(stack, true) also runs the policy aspect: every shipped stack must pass it.
import { Testing } from 'cdktf';
import { albOrigin, ENVIRONMENTS, pushOf, TIERS, type TierName } from './config';
import { CyphrStack } from './stack';
import { ALB_IDLE_TIMEOUT_SECONDS } from '../common/operations/timeouts';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
interface Synthesized {
  ephemeral: Resources;
  resource: Resources;
  data: Resources;
  output: Record<string, unknown>;
}

const cases = Object.values(ENVIRONMENTS).flatMap((environment) =>
  (Object.keys(TIERS) as TierName[]).map((tierName) => ({ environment, tierName, tier: TIERS[tierName] })),
);

describe.each(cases)('$environment.name stack at tier $tierName', ({ environment, tier }) => {
  let json: Synthesized;
  const all = (type: string) => Object.values(json.resource[type] ?? {});
  const one = (type: string, match: (r: Record<string, unknown>) => boolean = () => true) => {
    const found = all(type).filter(match);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return found[0];
  };
  const byName = (type: string, key: string, value: string) => one(type, (r) => r[key] === value);
  /** `type.name` of the one resource of `type` that matches. */
  const addressOf = (type: string, match: (r: Record<string, unknown>) => boolean) => {
    const found = Object.entries(json.resource[type] ?? {}).filter(([, r]) => match(r));
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
    return `${type}.${found[0][0]}`;
  };
  const prefix = `cyphr-${environment.name}`;
  const webhook = pushOf(environment).provider === 'webhook';

  beforeAll(() => {
    const stack = new CyphrStack(Testing.app(), 'test', { environment, tier });
    json = JSON.parse(Testing.synth(stack, true)) as Synthesized;
  });

  it('network: three AZs x three subnet tiers, NAT per AZ only where configured, flow logs, closed default group', () => {
    expect(all('aws_subnet')).toHaveLength(9);
    expect(all('aws_subnet').every((s) => s.map_public_ip_on_launch === false)).toBe(true);
    expect(all('aws_nat_gateway')).toHaveLength(environment.natGatewayPerAz ? 3 : 1);
    expect(one('aws_flow_log')).toMatchObject({ traffic_type: 'ALL', log_destination_type: 'cloud-watch-logs' });
    const defaultGroup = one('aws_default_security_group');
    expect(defaultGroup.ingress).toBeUndefined();
    expect(defaultGroup.egress).toBeUndefined();
    const endpoints = all('aws_vpc_endpoint').map((e) => String(e.service_name).split('.').pop());
    expect(endpoints.sort()).toEqual(['ec2messages', 's3', 'secretsmanager', 'sqs', 'ssm', 'ssmmessages']);
  });

  it('security: a rotating key; no internet ingress, the ALB from CloudFront’s prefix list on its origin port', () => {
    expect(byName('aws_kms_key', 'description', `${prefix} data at rest`)).toMatchObject({ enable_key_rotation: true });
    const ingress = all('aws_vpc_security_group_ingress_rule');
    expect(ingress.filter((r) => r.cidr_ipv4 || r.cidr_ipv6)).toEqual([]);
    const fromCloudFront = ingress.filter((r) => r.prefix_list_id);
    expect(fromCloudFront.map((r) => [r.prefix_list_id, r.from_port])).toEqual([
      [albOrigin(environment).prefixListId, environment.domain ? 443 : 80],
    ]);
    expect(new Set(fromCloudFront.map((r) => r.security_group_id))).toEqual(
      new Set([one('aws_lb').security_groups].flat()),
    );
    const ports = ingress.filter((r) => r.referenced_security_group_id).map((r) => r.from_port);
    // 443 to the interface endpoints from api, worker and the image build instances.
    expect(ports.sort()).toEqual([3001, 443, 443, 443, 5432, 5432, 6379, 6379]);
  });

  it(`database: primary + ${tier.database.replicas} replicas, encrypted, private, write-only password, IAM auth`, () => {
    const primary = byName('aws_db_instance', 'identifier', `${prefix}-db`);
    expect(primary).toMatchObject({
      engine: 'postgres',
      instance_class: tier.database.instanceClass,
      storage_encrypted: true,
      publicly_accessible: false,
      iam_database_authentication_enabled: true,
      password_wo: '${ephemeral.aws_secretsmanager_random_password.database_master_password.random_password}',
      password_wo_version: 1,
      performance_insights_enabled: true,
      monitoring_interval: 60,
      multi_az: environment.production,
      deletion_protection: environment.deletionProtection,
      backup_retention_period: environment.backupRetentionDays,
      enabled_cloudwatch_logs_exports: ['postgresql', 'upgrade'],
    });
    expect(primary.password).toBeUndefined();
    // RDS cannot replicate a source whose password Secrets Manager manages.
    expect(primary.manage_master_user_password).toBeUndefined();
    expect(json.ephemeral.aws_secretsmanager_random_password.database_master_password).toEqual({
      password_length: 40,
      exclude_characters: '/"@ ',
    });
    const replicas = all('aws_db_instance').filter((d) => d.replicate_source_db);
    expect(replicas).toHaveLength(tier.database.replicas);
    for (const replica of replicas) {
      expect(replica).toMatchObject({
        storage_encrypted: true,
        publicly_accessible: false,
        iam_database_authentication_enabled: true,
        instance_class: tier.database.instanceClass,
      });
      // Same-region replicas inherit the primary's key; AWS says not to pass one.
      expect(replica.kms_key_id).toBeUndefined();
      expect(replica.password_wo).toBeUndefined();
    }
  });

  it('cache: encrypted Redis, failover with replicas, cluster mode with shards', () => {
    const redis = one('aws_elasticache_replication_group');
    expect(redis).toMatchObject({
      at_rest_encryption_enabled: 'true',
      transit_encryption_enabled: true,
      node_type: tier.cache.nodeType,
    });
    expect(redis.auth_token).toBeUndefined();
    expect(redis.lifecycle).toBeUndefined();
    const group = one('aws_elasticache_user_group');
    expect(group).toMatchObject({ engine: 'redis', user_group_id: `${prefix}-redis-users` });
    expect(redis.user_group_ids).toEqual([
      expect.stringMatching(/^\$\{aws_elasticache_user_group\.\w+\.user_group_id\}$/),
    ]);
    const users = all('aws_elasticache_user');
    expect(users).toHaveLength(3);
    expect(
      (group.user_ids as string[]).map((ref) => /aws_elasticache_user\.([\w-]+)\.user_id/.exec(ref)?.[1]).sort(),
    ).toEqual(Object.keys(json.resource.aws_elasticache_user).sort());
    for (const role of ['api', 'worker'])
      expect(byName('aws_elasticache_user', 'user_id', `${prefix}-${role}`)).toMatchObject({
        user_name: `${prefix}-${role}`,
        authentication_mode: { type: 'iam' },
        access_string: expect.stringMatching(/^on .*-@dangerous$/),
      });
    expect(byName('aws_elasticache_user', 'user_name', 'default')).toMatchObject({
      user_id: `${prefix}-default`,
      authentication_mode: { type: 'no-password-required' },
      access_string: expect.stringMatching(/^off /),
    });
    const replicas = tier.cache.replicasPerShard > 0;
    expect(redis.multi_az_enabled).toBe(replicas);
    if (tier.cache.shards > 1) {
      expect(redis).toMatchObject({
        cluster_mode: 'enabled',
        num_node_groups: tier.cache.shards,
        automatic_failover_enabled: true,
      });
    } else {
      expect(redis).toMatchObject({
        cluster_mode: 'disabled',
        num_cache_clusters: 1 + tier.cache.replicasPerShard,
        automatic_failover_enabled: replicas,
      });
    }
  });

  it('queues: KMS, long polling, 60 s visibility, DLQ after 5 receives, TLS-only policies', () => {
    const messages = byName('aws_sqs_queue', 'name', `${prefix}-messages.fifo`);
    expect(messages).toMatchObject({ receive_wait_time_seconds: 20, visibility_timeout_seconds: 60 });
    // Policies are jsonencode() expressions (they reference ARNs), so they read as HCL object syntax.
    expect(String(messages.redrive_policy)).toMatch(
      /^\$\{jsonencode\(\{"deadLetterTargetArn" = aws_sqs_queue\.queues_messages_dlq_queue\.arn, "maxReceiveCount" = 5\}\)\}$/,
    );
    const notifications = byName('aws_sqs_queue', 'name', `${prefix}-notifications`);
    expect(String(notifications.redrive_policy)).toContain('aws_sqs_queue.queues_dlq_queue.arn');
    expect(notifications.fifo_queue).toBeUndefined();
    expect(all('aws_sqs_queue').every((q) => String(q.kms_master_key_id).includes('aws_kms_key'))).toBe(true);
    const policies = all('aws_sqs_queue_policy').map((p) => String(p.policy));
    expect(policies).toHaveLength(4);
    for (const p of policies) expect(p).toContain('"Effect" = "Deny", "Principal" = "*", "Action" = "sqs:*"');
    for (const p of policies) expect(p).toContain('"Condition" = {"Bool" = {"aws:SecureTransport" = "false"}}');
  });

  it('messages: high-throughput FIFO (one group per conversation) with a FIFO dead-letter queue', () => {
    const fifo = {
      fifo_queue: true,
      content_based_deduplication: false,
      deduplication_scope: 'messageGroup',
      fifo_throughput_limit: 'perMessageGroupId',
    };
    expect(byName('aws_sqs_queue', 'name', `${prefix}-messages.fifo`)).toMatchObject(fifo);
    expect(byName('aws_sqs_queue', 'name', `${prefix}-messages-dlq.fifo`)).toMatchObject(fifo);
  });

  it('secrets: KMS-encrypted, values written only through write-only arguments', () => {
    expect(
      all('aws_secretsmanager_secret')
        .map((s) => s.name)
        .sort(),
    ).toEqual([
      `${prefix}/db-master`,
      `${prefix}/jwt-signing-keys`,
      ...(webhook ? [`${prefix}/push-webhook-signing-key`] : []),
    ]);
    for (const secret of all('aws_secretsmanager_secret'))
      expect(secret).toMatchObject({
        kms_key_id: expect.stringContaining('aws_kms_key'),
        recovery_window_in_days: environment.secretRecoveryWindowDays ?? 30,
      });
    const versions = all('aws_secretsmanager_secret_version');
    expect(versions.map((v) => v.secret_string_wo).sort()).toEqual([
      ...(webhook ? ['${ephemeral.aws_secretsmanager_random_password.secrets_push_webhook_key.random_password}'] : []),
      // The master secret holds the very value the primary gets as password_wo.
      '${jsonencode({ keys = [{ kid = "k1", secret = ephemeral.aws_secretsmanager_random_password.secrets_jwt_first_key.random_password }] })}',
      '${jsonencode({ username = "cyphr_admin", password = ephemeral.aws_secretsmanager_random_password.database_master_password.random_password })}',
    ]);
    expect(json.ephemeral.aws_secretsmanager_random_password.secrets_push_webhook_key).toEqual(
      webhook ? { password_length: 64, exclude_punctuation: true } : undefined,
    );
    for (const version of versions) expect(version.secret_string_wo_version).toBe(1);
    // Written only once the instance exists, so a failed create cannot leave the secret with another password.
    const masterValue = versions.find((v) => String(v.secret_string_wo).includes('database_master_password'));
    expect(masterValue?.depends_on).toEqual(['aws_db_instance.database_primary']);
    expect(json.ephemeral.aws_secretsmanager_random_password.secrets_jwt_first_key).toEqual({
      password_length: 64,
      exclude_punctuation: true,
    });
    const secretKeys = ['password', 'auth_token', 'secret_string', 'secret_binary'];
    const offenders = Object.entries(json.resource).flatMap(([type, byId]) =>
      Object.entries(byId).flatMap(([id, attributes]) =>
        Object.keys(attributes)
          .filter((k) => secretKeys.includes(k))
          .map((k) => `${type}.${id}.${k}`),
      ),
    );
    expect(offenders).toEqual([]);
  });

  it('compute: IMDSv2, encrypted EBS, no public IP, user data with settings only', () => {
    for (const role of ['api', 'worker']) {
      const lt = byName('aws_launch_template', 'name', `${prefix}-${role}`);
      expect(lt).toMatchObject({
        // The AMI Image Builder bakes from the bundle (environment.image builds it in both environments).
        image_id: expect.stringMatching(
          /^\$\{tolist\(aws_imagebuilder_image\.\w+\.output_resources\[0\]\.amis\)\.0\.image\}$/,
        ),
        instance_type: tier[role as 'api' | 'worker'].instanceType,
        metadata_options: { http_tokens: 'required', http_put_response_hop_limit: 1 },
        monitoring: { enabled: true },
        // A unit past its start limit powers off; the instance then terminates and the group replaces it.
        instance_initiated_shutdown_behavior: 'terminate',
        network_interfaces: [{ associate_public_ip_address: 'false' }],
        block_device_mappings: [{ ebs: { encrypted: 'true' } }],
      });
      const userData = String(lt.user_data);
      // One process per vCPU: every tier's instance types have two, so two instances of the role's template unit.
      expect(userData).toContain(`systemctl enable --now cyphr-${role}@0.service cyphr-${role}@1.service\\n`);
      expect(userData).toContain(`CYPHR_ROLE=${role}`);
      for (const key of [
        'DATABASE_HOST',
        'DATABASE_REPLICA_HOSTS',
        'DATABASE_AUTH=iam',
        'REDIS_URL=rediss://',
        'REDIS_AUTH=iam',
        'AWS_REGION',
        'SQS_MESSAGES_QUEUE_URL',
        'SQS_NOTIFICATIONS_QUEUE_URL',
        'LOG_LEVEL',
      ]) {
        expect(userData).toContain(key);
      }
      expect(userData).not.toContain('DATABASE_SECRET_ARN');
      expect(userData).not.toContain('REDIS_AUTH_SECRET_ARN');
      expect(userData.includes('REDIS_CLUSTER=true')).toBe(tier.cache.shards > 1);
      expect(userData.includes('JWT_SECRET_ARN')).toBe(role === 'api');
      expect(userData.includes('PORT=3001')).toBe(role === 'api');
    }
  });

  it('compute: ASGs sized by the tier, api behind the ALB with ELB checks and rolling refresh', () => {
    const api = byName('aws_autoscaling_group', 'name', `${prefix}-api`);
    expect(api).toMatchObject({
      min_size: tier.api.min,
      max_size: tier.api.max,
      desired_capacity: tier.api.desired,
      health_check_type: 'ELB',
    });
    expect(api.target_group_arns).toHaveLength(1);
    expect(api.instance_refresh).toMatchObject({ strategy: 'Rolling' });
    const worker = byName('aws_autoscaling_group', 'name', `${prefix}-worker`);
    expect(worker).toMatchObject({ min_size: tier.worker.min, max_size: tier.worker.max, health_check_type: 'EC2' });
  });

  it('scaling: api +2 above 70 % CPU, -1 below 30 %, 300 s cooldown; worker on the messages backlog', () => {
    const policies = all('aws_autoscaling_policy');
    expect(byName('aws_autoscaling_policy', 'name', `${prefix}-api-cpu-scale-out`)).toMatchObject({
      scaling_adjustment: 2,
      cooldown: 300,
    });
    expect(byName('aws_autoscaling_policy', 'name', `${prefix}-api-cpu-scale-in`)).toMatchObject({
      scaling_adjustment: -1,
      cooldown: 300,
    });
    expect(policies).toHaveLength(4);
    expect(byName('aws_cloudwatch_metric_alarm', 'alarm_name', `${prefix}-api-cpu-scale-out`)).toMatchObject({
      metric_name: 'CPUUtilization',
      threshold: 70,
    });
    expect(byName('aws_cloudwatch_metric_alarm', 'alarm_name', `${prefix}-api-cpu-scale-in`)).toMatchObject({
      threshold: 30,
    });
    expect(byName('aws_cloudwatch_metric_alarm', 'alarm_name', `${prefix}-worker-backlog-scale-out`)).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      threshold: tier.worker.scaleOutBacklog,
    });
  });

  it('iam: least privilege from intents, no wildcard resources', () => {
    const documents = json.data.aws_iam_policy_document;
    const statements = (role: string) => {
      const key = Object.keys(documents).find((k) => k.startsWith(`${role}_instance_role`));
      return documents[key as string].statement as { sid: string; resources: string[]; condition?: unknown[] }[];
    };
    const sids = (role: string) => statements(role).map((s) => s.sid);
    expect(sids('api')).toEqual(
      expect.arrayContaining([
        'SendMessagesQueue',
        'ReadJwtSigningKeysSecret',
        'ConnectDatabaseAsCyphrApi',
        'ConnectCache',
      ]),
    );
    expect(sids('api')).not.toContain('ConsumeMessagesQueue');
    // Only the migration reads the master secret, and it runs on worker instances.
    expect(sids('api')).not.toContain('ReadDbMasterSecret');
    expect(sids('worker')).toContain('ReadDbMasterSecret');
    expect(sids('worker')).toEqual(
      expect.arrayContaining([
        'ConsumeMessagesQueue',
        'SendNotificationsQueue',
        'SendDlqQueue',
        'ConsumeDlqQueue',
        'ConnectDatabaseAsCyphrWorker',
        'ConnectDatabaseAsCyphrMigrate',
        'ReadDbMasterSecret',
        'ConnectCache',
      ]),
    );
    expect(sids('api')).not.toContain('SendDlqQueue');
    expect(sids('worker')).not.toContain('ReadJwtSigningKeysSecret');
    // The push webhook's signing key: the worker reads it (and nothing else reads it), only when pushes go to one.
    expect(sids('api')).not.toContain('ReadPushWebhookSigningKeySecret');
    const pushKey = statements('worker').find((s) => s.sid === 'ReadPushWebhookSigningKeySecret');
    expect(pushKey?.resources).toEqual(
      webhook
        ? [`\${${addressOf('aws_secretsmanager_secret', (r) => r.name === `${prefix}/push-webhook-signing-key`)}.arn}`]
        : undefined,
    );
    // IAM database logins: each role as its own users, on the primary and every replica.
    const connect = (role: string, user: string) =>
      statements(role).find((s) => s.sid === `ConnectDatabaseAs${user}`)?.resources ?? [];
    expect(connect('api', 'CyphrApi')).toHaveLength(1 + tier.database.replicas);
    // The schema owner never reads a replica: its login is granted on the primary only.
    expect(connect('worker', 'CyphrMigrate')).toEqual([expect.stringContaining('aws_db_instance.database_primary.')]);
    for (const arn of connect('api', 'CyphrApi'))
      expect(arn).toMatch(
        new RegExp(
          `^arn:aws:rds-db:${environment.region}:${environment.accountId}:dbuser:\\$\\{aws_db_instance\\.[\\w-]+\\.resource_id\\}/cyphr_api$`,
        ),
      );
    const cacheArn = (kind: string, id: string) =>
      `arn:aws:elasticache:${environment.region}:${environment.accountId}:${kind}:${id}`;
    for (const role of ['api', 'worker'])
      expect(statements(role).find((s) => s.sid === 'ConnectCache')?.resources).toEqual([
        cacheArn('replicationgroup', `${prefix}-redis`),
        cacheArn('user', `${prefix}-${role}`),
      ]);
    for (const role of ['api', 'worker']) {
      const wildcards = statements(role).filter((s) => s.resources.includes('*'));
      expect(wildcards.map((s) => s.sid)).toEqual([]);
      // The CloudWatch agent: its own process's group, the migration's and the metrics group; nothing else.
      const logGroup = (stream: string) =>
        addressOf('aws_cloudwatch_log_group', (g) => g.name === `/cyphr/${environment.name}/${stream}`);
      const logs = statements(role).find((s) => s.sid === 'WriteOwnLogGroups');
      expect(logs?.resources).toEqual(
        [role, 'migrate', 'metrics'].flatMap((stream) => [
          `\${${logGroup(stream)}.arn}`,
          `\${${logGroup(stream)}.arn}:*`,
        ]),
      );
      // No instance can act on another: a unit that cannot stay up powers its own instance off.
      expect(statements(role).flatMap((s) => (s as { actions?: string[] }).actions ?? [])).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^autoscaling:/)]),
      );
    }
  });

  it('log groups: every process and the metrics scrapes in a KMS-encrypted group with the retention', () => {
    for (const stream of ['api', 'worker', 'migrate', 'metrics']) {
      expect(byName('aws_cloudwatch_log_group', 'name', `/cyphr/${environment.name}/${stream}`)).toMatchObject({
        kms_key_id: expect.stringMatching(/^\$\{aws_kms_key\./),
        retention_in_days: environment.logRetentionDays,
      });
    }
  });

  it('load balancer: hardened ALB, /health on 3001, TLS when a domain exists', () => {
    expect(one('aws_lb')).toMatchObject({
      internal: false,
      drop_invalid_header_fields: true,
      desync_mitigation_mode: 'defensive',
      idle_timeout: ALB_IDLE_TIMEOUT_SECONDS,
      enable_deletion_protection: environment.deletionProtection,
      access_logs: { enabled: true },
    });
    expect(one('aws_lb_target_group')).toMatchObject({
      port: 3001,
      health_check: { path: '/health' },
      stickiness: { enabled: false },
    });
    const listeners = all('aws_lb_listener');
    if (environment.domain) {
      expect(byName('aws_acm_certificate', 'domain_name', environment.domain.name)).toMatchObject({
        validation_method: 'DNS',
      });
      expect(one('aws_lb_listener', (l) => l.protocol === 'HTTPS')).toMatchObject({
        port: 443,
        ssl_policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      });
      expect(one('aws_lb_listener', (l) => l.protocol === 'HTTP')).toMatchObject({
        default_action: [{ type: 'redirect' }],
      });
    } else {
      // The default action may be narrowed by the edge (origin verification); the shape is ours.
      expect(listeners).toEqual([expect.objectContaining({ protocol: 'HTTP', port: 80 })]);
      expect(listeners[0].certificate_arn).toBeUndefined();
      expect(json.resource.aws_acm_certificate).toBeUndefined();
    }
    const bucketName = `${prefix}-alb-logs-${environment.accountId}`;
    const [bucketId] = Object.entries(json.resource.aws_s3_bucket).find(([, b]) => b.bucket === bucketName) ?? [];
    expect(bucketId).toBeDefined();
    const block = one('aws_s3_bucket_public_access_block', (b) => b.bucket === `\${aws_s3_bucket.${bucketId}.id}`);
    expect(block).toMatchObject({ block_public_acls: true, restrict_public_buckets: true });
  });

  it('log groups: every one encrypted with a retention', () => {
    for (const group of all('aws_cloudwatch_log_group')) {
      expect(group).toMatchObject({
        retention_in_days: environment.logRetentionDays,
        kms_key_id: expect.stringContaining('aws_kms_key'),
      });
    }
  });

  it('outputs what consumers need', () => {
    expect(Object.keys(json.output)).toEqual(
      expect.arrayContaining([
        'alb_dns_name',
        'api_asg_name',
        'db_master_secret_arn',
        'db_primary_endpoint',
        'db_replica_endpoints',
        'dead_letter_queue_url',
        'jwt_secret_arn',
        'messages_dead_letter_queue_url',
        'messages_queue_url',
        'notifications_queue_url',
        'redis_endpoint',
        'worker_asg_name',
      ]),
    );
    expect(json.output.redis_auth_secret_arn).toBeUndefined();
  });
});
