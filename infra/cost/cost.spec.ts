import { App } from 'cdktf';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeEnvironments } from '../app';
import { TIERS } from '../config/tiers';
import { priceStack } from './price-stack';
import { HOURS_PER_MONTH, PRICES } from './prices-us-east-1';
import { priceStacks, stackIdentity } from './report';
import { renderReport } from './render';
import { Resources } from './stack-json';
import { DEFAULT_USAGE, deviceVolumes, parseUsage } from './usage';

const resources: Resources = {
  aws_launch_template: {
    api_lt: { instance_type: 'c5.large', block_device_mappings: [{ ebs: { volume_size: 30, volume_type: 'gp3' } }] },
  },
  aws_autoscaling_group: {
    api_group: {
      min_size: 2,
      max_size: 6,
      desired_capacity: 3,
      launch_template: { id: '${aws_launch_template.api_lt.id}' },
    },
  },
  aws_db_instance: {
    primary: {
      identifier: 'db',
      instance_class: 'db.r5.large',
      multi_az: true,
      allocated_storage: 100,
      storage_type: 'gp3',
      manage_master_user_password: true,
    },
    replica: { instance_class: 'db.r5.large', replicate_source_db: '${aws_db_instance.primary.identifier}' },
  },
  aws_elasticache_replication_group: {
    redis: { node_type: 'cache.m5.large', num_node_groups: 3, replicas_per_node_group: 1 },
  },
  aws_nat_gateway: { a: {}, b: {}, c: {} },
  aws_eip: { a: {}, b: {}, c: {} },
  aws_vpc_endpoint: {
    sqs: {
      service_name: 'com.amazonaws.eu-central-1.sqs',
      vpc_endpoint_type: 'Interface',
      subnet_ids: ['a', 'b', 'c'],
    },
    s3: { service_name: 'com.amazonaws.eu-central-1.s3', vpc_endpoint_type: 'Gateway' },
  },
  aws_sqs_queue: { messages: {} },
  aws_iam_role: { any: {} },
  aws_shiny_new_thing: { x: {} },
};

const line = (cost: ReturnType<typeof priceStack>, text: string) =>
  cost.lines.find((entry) => entry.item.includes(text));

describe('cost report', () => {
  const cost = priceStack('cyphr-production-large', 'production', 'large', resources, DEFAULT_USAGE);

  it('prices instances from the ASG desired capacity and the launch template it references', () => {
    expect(line(cost, 'api c5.large')).toMatchObject({ category: 'EC2', quantity: '3 × 730 h', monthly: 186.15 });
    expect(line(cost, 'api root volumes')).toMatchObject({ category: 'EBS', monthly: 7.2 });
    expect(line(cost, 'surplus')).toBeUndefined(); // c5 is not burstable
  });

  it('doubles a Multi-AZ primary and its storage, prices replicas and their storage, and the RDS-managed secret', () => {
    expect(line(cost, 'primary, Multi-AZ')?.monthly).toBe(2 * 0.25 * HOURS_PER_MONTH);
    expect(line(cost, 'storage gp3 (primary)')?.monthly).toBe(2 * 100 * PRICES.rds.gp3PerGbMonth);
    expect(line(cost, 'read replica')?.monthly).toBe(0.25 * HOURS_PER_MONTH);
    expect(line(cost, 'storage gp2 (read replica)')?.quantity).toBe('1 × 100 GB');
    expect(line(cost, 'RDS-managed master password')?.monthly).toBe(0.4);
  });

  it('counts cluster-mode Redis nodes as shards x (1 + replicas)', () => {
    expect(line(cost, 'Redis')).toMatchObject({ item: 'cache.m5.large Redis (3 shards × 2)', quantity: '6 × 730 h' });
  });

  it('prices NAT gateways, their addresses and interface endpoints per AZ; gateway endpoints are free', () => {
    expect(line(cost, 'NAT gateways')?.monthly).toBe(Number((3 * 0.045 * HOURS_PER_MONTH).toFixed(2)));
    expect(line(cost, 'Elastic IPs')?.quantity).toBe('3 × 730 h');
    expect(line(cost, 'interface endpoints (sqs)')).toMatchObject({ quantity: '3 ENIs × 730 h', monthly: 21.9 });
  });

  it('shows what it cannot price instead of dropping it, and compares with the plan', () => {
    expect(cost.unpriced).toEqual(['aws_shiny_new_thing']);
    expect(cost.plan.total).toBe(5_300);
    expect(cost.plan.items[0]).toMatchObject({ label: 'EC2 20× c5.xlarge', ours: cost.byCategory.EC2 });
    expect(cost.plan.leftOutCategories).toEqual(
      expect.arrayContaining(['NAT gateway', 'VPC endpoints', 'EBS', 'Public IPv4']),
    );
    expect(cost.total).toBeCloseTo(
      cost.lines.reduce((sum, entry) => sum + entry.monthly, 0),
      1,
    );
  });

  it('prices the FIFO messages queue at the FIFO request price, notifications at the standard one', () => {
    const withFifo = { ...resources, aws_sqs_queue: { messages: { fifo_queue: true }, notifications: {} } };
    // One recipient device per message, always offline and registered: as many notifications as messages.
    const usage = {
      ...DEFAULT_USAGE,
      offlineShare: 1,
      devicesPerUser: 1,
      membersPerConversation: 2,
      pushRegisteredShare: 1,
      workerMessagesPollingLoops: 5,
    };
    const priced = priceStack('cyphr-production-large', 'production', 'large', withFifo, usage);
    const fifo = line(priced, 'requests on messages (FIFO)')!;
    const standard = line(priced, 'requests on notifications')!;
    // Same messages and idle polls on both (offline share 1, loops 5 + 5): only the price per request differs.
    expect(fifo.quantity).toBe(standard.quantity);
    expect(fifo.monthly / standard.monthly).toBeCloseTo(0.5 / 0.4, 3);
  });

  it('models devices: a push per registered offline recipient device, sender keys on FIFO, mailboxes in storage', () => {
    // 2 members × 2 devices: the other member's 2 devices and the sender's other one receive each message.
    const volumes = deviceVolumes(1_000, DEFAULT_USAGE, 30);
    expect(volumes.recipientDevices).toBe(3);
    const messages = 1_000 * DEFAULT_USAGE.messagesPerUserPerDay * (730 / 24);
    expect(volumes.pushes).toBeCloseTo(messages * 3 * 0.3 * 0.8, 3);
    // One rotation per device per day, each to 3 recipient devices.
    expect(volumes.deviceMessages).toBeCloseTo(1_000 * 2 * 3 * (730 / 24), 3);
    // Steady state: 6,000 a day, 95 % staying 8 h, 5 % the 30-day retention.
    expect(volumes.pendingRows).toBeCloseTo(6_000 * (0.95 / 3 + 0.05 * 30), 3);
    expect(deviceVolumes(1_000, DEFAULT_USAGE, 60).pendingRows).toBeGreaterThan(volumes.pendingRows);
  });

  it('takes usage overrides and names a bad one', () => {
    const cheap = priceStack('s', 'production', 'large', resources, parseUsage('messagesPerUserPerDay=0'));
    expect(line(cheap, 'requests on messages')?.item).toContain('0.0 M messages');
    expect(() => parseUsage('messagesPerCat=1')).toThrow(/messagesPerCat/);
    expect(() => parseUsage('averageCpu=lots')).toThrow(/averageCpu/);
  });

  it('reads environment and tier from the stack name', () => {
    expect(stackIdentity('cyphr-production-large')).toEqual({ environment: 'production', tier: 'large' });
    expect(stackIdentity('cyphr-staging')).toEqual({ environment: 'staging', tier: 'small' });
    expect(() => stackIdentity('cyphr-nowhere')).toThrow(/cannot tell its tier/);
  });

  it('prices a synthesized stack with nothing left unpriced', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cyphr-cost-spec-'));
    try {
      const app = new App({ outdir });
      synthesizeEnvironments(app, { names: ['production'], tier: 'medium' });
      app.synth();
      const [synthesized] = priceStacks(join(outdir, 'stacks'), DEFAULT_USAGE);
      expect(synthesized).toMatchObject({ stack: 'cyphr-production-medium', tier: 'medium', unpriced: [] });
      expect(line(synthesized, 'api t3.medium')?.quantity).toBe(`${TIERS.medium.api.desired} × 730 h`);
      expect(line(synthesized, 'NAT gateways')?.quantity).toBe('3 × 730 h');
      // Production pushes through a webhook (its user data says so) and keeps mailboxes 30 days.
      expect(line(synthesized, 'push webhook calls')?.basis).toBe('usage');
      expect(line(synthesized, 'device mailboxes')?.item).toContain('retention 30 days');
      expect(line(synthesized, 'device messages on messages (FIFO)')).toBeDefined();
      const markdown = renderReport([synthesized], DEFAULT_USAGE);
      expect(markdown).toContain('### cyphr-production-medium');
      expect(markdown).toContain('left out by the plan');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
