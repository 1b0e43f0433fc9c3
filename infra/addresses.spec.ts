// Terraform addresses are settled before the first apply: readable (the construct path, no hash), unique
// per type by construction (a clash fails synth instead of being hashed apart), the same in every
// environment x tier for the resources operators name in runbooks and `terraform state` commands.
import { TerraformDataSource, TerraformResource, Testing } from 'cdktf';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { Construct } from 'constructs';
import { ENVIRONMENTS, TIERS, type TierName } from './config';
import { CyphrStack } from './stack';
import { readableName } from './addresses';

type Blocks = Record<string, Record<string, unknown>>;
interface Synthesized {
  resource: Blocks;
  data?: Blocks;
  output?: Record<string, unknown>;
}

const cases = Object.values(ENVIRONMENTS).flatMap((environment) =>
  (Object.keys(TIERS) as TierName[]).map((tierName) => ({ environment, tierName, tier: TIERS[tierName] })),
);

/** `<type>.<name>` for resources, `data.<type>.<name>` for data sources, as Terraform writes addresses. */
function addressesOf(json: Synthesized): string[] {
  const of = (blocks: Blocks | undefined, prefix: string) =>
    Object.entries(blocks ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((n) => `${prefix}${type}.${n}`));
  return [...of(json.resource, ''), ...of(json.data, 'data.')];
}

describe('readableName', () => {
  it('joins the construct path with `_`, lowercased, other characters as `_`', () => {
    expect(readableName(['database', 'primary'])).toBe('database_primary');
    expect(readableName(['load-balancer', 'alb'])).toBe('load_balancer_alb');
    expect(readableName(['backup', 'role', 'AWSBackupServiceRolePolicyForBackup'])).toBe(
      'backup_role_awsbackupservicerolepolicyforbackup',
    );
  });

  it('drops what says nothing: cdktf’s Default/Resource ids and a component the previous one ends with', () => {
    expect(readableName(['api', 'instance-role', 'role'])).toBe('api_instance_role');
    expect(readableName(['data-key', 'key'])).toBe('data_key');
    expect(readableName(['queues', 'dlq', 'Default'])).toBe('queues_dlq');
    expect(readableName(['cache', 'Resource', 'redis'])).toBe('cache_redis');
    // A suffix of a word is not a word: `network/work` keeps both.
    expect(readableName(['network', 'work'])).toBe('network_work');
  });

  it('refuses a path that makes no valid Terraform name', () => {
    expect(() => readableName(['3az', 'subnet'])).toThrow(/3az\/subnet.*not a valid name/);
  });
});

describe.each(cases)('$environment.name stack at tier $tierName: Terraform addresses', ({ environment, tier }) => {
  let stack: CyphrStack;
  let json: Synthesized;
  let addresses: string[];

  beforeAll(() => {
    stack = new CyphrStack(Testing.app(), 'test', { environment, tier });
    json = JSON.parse(Testing.synth(stack)) as Synthesized;
    addresses = addressesOf(json);
  });

  it('are readable: lowercase words, no hash-like suffix', () => {
    const names = [...addresses.map((a) => a.split('.').pop() as string), ...Object.keys(json.output ?? {})];
    expect(names.filter((n) => !/^[a-z][a-z0-9_]*$/.test(n))).toEqual([]);
    // cdktf's suffix is 8 hex digits of an md5 of the path.
    expect(names.filter((n) => /_[0-9a-f]{8}$/i.test(n))).toEqual([]);
  });

  it('are unique per type: every element of the tree has its own address, none merged away', () => {
    const elements = stack.node
      .findAll()
      .filter((c) => TerraformResource.isTerraformResource(c) || TerraformDataSource.isTerraformDataSource(c))
      .map((c) => {
        const e = c as TerraformResource | TerraformDataSource;
        const prefix = TerraformDataSource.isTerraformDataSource(e) ? 'data.' : '';
        return `${prefix}${e.terraformResourceType}.${e.friendlyUniqueId}`;
      });
    expect(new Set(elements).size).toBe(elements.length);
    expect([...elements].sort()).toEqual([...addresses].sort());
  });

  it('name the resources operators act on exactly', () => {
    const replicas = Array.from(
      { length: tier.database.replicas },
      (_, i) => `aws_db_instance.database_replica_${i + 1}`,
    );
    expect(addresses).toEqual(
      expect.arrayContaining([
        'aws_db_instance.database_primary',
        ...replicas,
        'aws_lb.load_balancer_alb',
        'aws_autoscaling_group.api_group',
        'aws_autoscaling_group.worker_group',
        'aws_elasticache_replication_group.cache_redis',
        'aws_vpc.network_vpc',
      ]),
    );
    expect(addresses.filter((a) => a.startsWith('aws_db_instance.'))).toHaveLength(1 + tier.database.replicas);
  });
});

describe('an address two constructs would share', () => {
  const build = () => {
    const stack = new CyphrStack(Testing.app(), 'test', {
      environment: ENVIRONMENTS.staging,
      tier: TIERS.small,
    });
    return stack;
  };

  it('fails synth, naming both construct paths', () => {
    const stack = build();
    new S3Bucket(stack, 'extra-bucket', { bucket: 'a' });
    new S3Bucket(new Construct(stack, 'extra'), 'bucket', { bucket: 'b' });
    expect(() => Testing.synth(stack)).toThrow(
      /aws_s3_bucket\.extra_bucket: test\/extra-bucket and test\/extra\/bucket/,
    );
  });

  it('is fine across types: the type is part of the address', () => {
    const stack = build();
    new S3Bucket(stack, 'network-vpc', { bucket: 'a' });
    expect(() => Testing.synth(stack)).not.toThrow();
  });
});
