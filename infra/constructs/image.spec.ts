// The image construct in a synthesized stack: artifacts bucket, bundle upload, Image Builder component,
// recipe, infrastructure and distribution configuration, and the launch templates on its AMI; an
// existing AMI instead; versions that follow the bundle; a missing bundle.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnotationMetadataEntryType, Testing } from 'cdktf';
import { ENVIRONMENTS, TIERS, type EnvironmentConfig } from '../config';
import { CyphrStack } from '../stack';
import { findBundle, readBundle, type Bundle, type MissingBundle } from './bundle';
import { amiSafe, buildVersion, componentDocument } from './image-component';
import { START_BUDGET_SECONDS } from './compute';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
interface Synthesized {
  resource: Resources;
  output: Record<string, { value: unknown }>;
}

const work = mkdtempSync(join(tmpdir(), 'cyphr-image-spec-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function fakeBundle(version: string, content: string): Bundle {
  const dir = mkdtempSync(join(work, 'dist-'));
  const path = join(dir, `cyphr-${version}.tar.gz`);
  writeFileSync(path, content);
  const sha = (content.length.toString(16) + 'a'.repeat(64)).slice(0, 64);
  writeFileSync(`${path}.sha256`, `${sha}  cyphr-${version}.tar.gz\n`);
  const bundle = readBundle(path);
  if ('missing' in bundle) throw new Error(bundle.reason);
  return bundle;
}

function synth(environment: EnvironmentConfig, bundle: Bundle | MissingBundle): Synthesized {
  const stack = new CyphrStack(Testing.app(), 'test', { environment, tier: TIERS.small, bundle });
  return JSON.parse(Testing.synth(stack, true)) as Synthesized;
}

const one = (json: Synthesized, type: string) => {
  const all = Object.values(json.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0];
};
const addressOf = (json: Synthesized, type: string) => `${type}.${Object.keys(json.resource[type])[0]}`;
const staging = ENVIRONMENTS.staging;

describe('image built by EC2 Image Builder (given a bundle)', () => {
  const bundle = fakeBundle('0.1.0+abc123def456', 'bundle bytes');
  let json: Synthesized;
  beforeAll(() => {
    json = synth(staging, bundle);
  });

  it('artifacts bucket: SSE-KMS with the data key, versioned, public access blocked, TLS only', () => {
    // Four buckets in the stack; find ours by its name.
    const buckets = json.resource.aws_s3_bucket;
    const [id] = Object.entries(buckets).find(([, b]) => b.bucket === 'cyphr-staging-artifacts-111111111111') ?? [];
    expect(id).toBeDefined();
    const ofOurs = (type: string) =>
      Object.values(json.resource[type]).find((r) => String(r.bucket).includes(`aws_s3_bucket.${id}.`));
    expect(ofOurs('aws_s3_bucket_server_side_encryption_configuration')).toMatchObject({
      rule: [
        {
          apply_server_side_encryption_by_default: {
            sse_algorithm: 'aws:kms',
            kms_master_key_id: expect.stringMatching(/^\$\{aws_kms_key\.data_key\.arn\}$/),
          },
          bucket_key_enabled: true,
        },
      ],
    });
    expect(ofOurs('aws_s3_bucket_versioning')).toMatchObject({ versioning_configuration: { status: 'Enabled' } });
    expect(ofOurs('aws_s3_bucket_public_access_block')).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(String(ofOurs('aws_s3_bucket_policy')?.policy)).toMatch(/aws:SecureTransport.*false/);
  });

  it('uploads the bundle from the stack assets, keyed by version, tracked by its sha256, KMS-encrypted', () => {
    expect(one(json, 'aws_s3_object')).toMatchObject({
      key: `bundles/cyphr-${bundle.version}.tar.gz`,
      source: `assets/image_bundle-asset_63FDC58D/${bundle.sha256}/cyphr-${bundle.version}.tar.gz`,
      source_hash: bundle.sha256,
      server_side_encryption: 'aws:kms',
      kms_key_id: expect.stringMatching(/^\$\{aws_kms_key\.data_key\.arn\}$/),
    });
  });

  it('component: Node.js 22, download, sha256 check, install.sh, nothing enabled, checks in validate and test', () => {
    const component = one(json, 'aws_imagebuilder_component');
    expect(component).toMatchObject({
      name: 'cyphr-staging-bundle',
      platform: 'Linux',
      supported_os_versions: ['Amazon Linux 2023'],
      lifecycle: { create_before_destroy: true },
      depends_on: [expect.stringMatching(/^aws_s3_object\./)],
    });
    const data = String(component.data);
    // Image Builder refuses a component document over 16,000 characters (terraform validate says so first).
    expect(data.length).toBeLessThanOrEqual(16_000);
    expect(data).toContain('"dnf install -y nodejs22"');
    expect(data).toContain(
      `aws s3 cp --only-show-errors --expected-bucket-owner 111111111111 s3://cyphr-staging-artifacts-111111111111/bundles/cyphr-${bundle.version}.tar.gz`,
    );
    expect(data).toContain(
      `echo '${bundle.sha256}  /var/tmp/cyphr-bundle/cyphr-${bundle.version}.tar.gz' | sha256sum --check --strict -`,
    );
    expect(data).toContain(
      `/var/tmp/cyphr-bundle/cyphr-${bundle.version}/install.sh --prefix /opt/cyphr --systemd-dir /etc/systemd/system --node /usr/bin/node-22`,
    );
    // The Cyphr units stay disabled (user data enables one role's); only the CloudWatch agent starts at boot.
    expect(data).not.toMatch(/systemctl (enable|start) (?!amazon-cloudwatch-agent")/);
    expect(data).not.toMatch(/[$%]\{/);
    for (const phase of ['build', 'validate', 'test']) expect(data).toContain(`  - name: ${phase}\n`);
    const [, validate, test] = data.split(/\n {2}- name: (?:validate|test)\n/);
    for (const checks of [validate, test]) {
      expect(checks).toContain("/usr/bin/node-22 --version | grep -q '^v22\\\\.'");
      // The API processes share their port through reusePort, which Node.js has from 22.12.
      expect(checks).toContain('(a === 22 && b >= 12) ? 0 : 1)');
      expect(checks).toContain(`test \\"$(cat /opt/cyphr/current/VERSION)\\" = '${bundle.version}'`);
      for (const unit of ['cyphr-api@.service', 'cyphr-worker@.service', 'cyphr-migrate.service'])
        expect(checks).toContain(`test -f /etc/systemd/system/${unit}`);
      expect(checks).toContain('test -f /opt/cyphr/current/app/worker/main.js');
      expect(checks).toContain('systemctl is-enabled --quiet amazon-cloudwatch-agent');
      // test runs on an instance booted from the AMI: the setting is in effect after a boot, not just written.
      expect(checks).toContain(`test \\"$(sysctl -n net.ipv4.tcp_migrate_req)\\" = '1'`);
    }
  });

  it('component: connections queued on a stopping API process move to its sibling, from the first boot on', () => {
    const data = String(one(json, 'aws_imagebuilder_component').data);
    const [build] = data.split(/\n {2}- name: validate\n/);
    const sysctl = Buffer.from('net.ipv4.tcp_migrate_req = 1\n').toString('base64');
    // A sysctl.d file (systemd-sysctl applies it early in every boot, before user data starts the units).
    expect(build).toContain(`echo '${sysctl}' | base64 -d | install -m 0644 /dev/stdin /etc/sysctl.d/60-cyphr.conf`);
    expect(build).toContain('"sysctl --load /etc/sysctl.d/60-cyphr.conf"');
  });

  it("component: the CloudWatch agent ships this environment's logs and process metrics, checked by its own tool", () => {
    const data = String(one(json, 'aws_imagebuilder_component').data);
    expect(data).toContain('"dnf install -y amazon-cloudwatch-agent logrotate"');
    const written = (path: string) => {
      const match = new RegExp(`echo '([A-Za-z0-9+/=]+)' \\| base64 -d \\| install -m 0644 /dev/stdin ${path}"`).exec(
        data,
      );
      if (!match) throw new Error(`${path} is not written`);
      return Buffer.from(match[1], 'base64').toString('utf8');
    };
    const config = JSON.parse(written('/opt/aws/amazon-cloudwatch-agent/etc/cyphr-agent.json'));
    expect(config.logs.logs_collected.files.collect_list).toEqual(
      expect.arrayContaining(
        ['api-0', 'api-1', 'worker-0', 'worker-1', 'migrate'].map((file) =>
          expect.objectContaining({
            file_path: `/var/log/cyphr/${file}.log`,
            log_group_name: `/cyphr/staging/${file.replace(/-\d$/, '')}`,
          }),
        ),
      ),
    );
    expect(config.logs.metrics_collected.prometheus).toMatchObject({
      log_group_name: '/cyphr/staging/metrics',
      emf_processor: { metric_namespace: 'Cyphr/staging' },
    });
    const selectors = config.logs.metrics_collected.prometheus.emf_processor.metric_declaration.flatMap(
      (d: { metric_selectors: string[] }) => d.metric_selectors,
    );
    expect(selectors).toEqual(
      expect.arrayContaining(['^cyphr_websocket_connections$', '^cyphr_worker_messages_stored_total$']),
    );
    const scrape = written('/opt/aws/amazon-cloudwatch-agent/etc/cyphr-prometheus.yaml');
    expect(scrape).toContain("targets: ['127.0.0.1:9480', ");
    expect(scrape).toContain("targets: ['127.0.0.1:9470', ");
    expect(written('/etc/logrotate.d/cyphr')).toContain('copytruncate');
    expect(data).toContain(
      '"/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:/opt/aws/amazon-cloudwatch-agent/etc/cyphr-agent.json"',
    );
  });

  it("image: waits for its subnet's route through NAT and the VPC endpoints", () => {
    const image = one(json, 'aws_imagebuilder_image') as { depends_on: string[] };
    expect(image.depends_on).toEqual(
      expect.arrayContaining([
        'aws_route.network_app_0_default_route_0',
        'aws_route_table_association.network_app_0_rta',
        'aws_vpc_endpoint.endpoints_s3',
        'aws_vpc_endpoint.endpoints_ssm',
      ]),
    );
  });

  it('recipe: the configured parent image, encrypted gp3 root volume as big as the launch templates’', () => {
    const recipe = one(json, 'aws_imagebuilder_image_recipe');
    const component = one(json, 'aws_imagebuilder_component');
    expect(recipe).toMatchObject({
      name: 'cyphr-staging',
      version: component.version,
      parent_image: 'arn:aws:imagebuilder:eu-central-1:aws:image/amazon-linux-2023-x86/x.x.x',
      component: [{ component_arn: expect.stringContaining('aws_imagebuilder_component.') }],
      block_device_mapping: [
        {
          device_name: '/dev/xvda',
          ebs: { encrypted: 'true', volume_type: 'gp3', volume_size: TIERS.small.rootVolumeGb },
        },
      ],
    });
    expect(String(recipe.version)).toMatch(/^0\.1\.\d+$/);
  });

  it('infrastructure: private app subnet, HTTPS-only group, IMDSv2, terminated on failure; least-privilege profile', () => {
    const infra = one(json, 'aws_imagebuilder_infrastructure_configuration');
    expect(infra).toMatchObject({
      subnet_id: expect.stringMatching(/^\$\{aws_subnet\.network_app_0\.id\}$/),
      terminate_instance_on_failure: true,
      instance_metadata_options: { http_tokens: 'required', http_put_response_hop_limit: 1 },
      instance_types: ['t3.small'],
    });
    const groupRef = String((infra.security_group_ids as string[])[0]);
    const groupId = /aws_security_group\.([^.]+)\.id/.exec(groupRef)?.[1];
    const egress = Object.values(json.resource.aws_vpc_security_group_egress_rule).filter((r) =>
      String(r.security_group_id).includes(`.${groupId}.`),
    );
    expect(egress.map((r) => [r.from_port, r.to_port])).toEqual([
      [443, 443],
      [443, 443],
    ]);
    const ingress = Object.values(json.resource.aws_vpc_security_group_ingress_rule).filter((r) =>
      String(r.security_group_id).includes(`.${groupId}.`),
    );
    expect(ingress).toEqual([]);
    const policies = Object.values(json.resource.aws_iam_role_policy_attachment).map((a) => a.policy_arn);
    expect(policies.filter((p) => String(p).endsWith('/AmazonSSMManagedInstanceCore'))).toHaveLength(3);
    const role = Object.values(json.resource.aws_iam_role).find((r) => r.name === 'cyphr-staging-image-builder');
    expect(role).toBeDefined();
  });

  it('distribution: AMI named with the version and the build date, tagged; the image tests it', () => {
    expect(one(json, 'aws_imagebuilder_distribution_configuration')).toMatchObject({
      distribution: [
        {
          region: 'eu-central-1',
          ami_distribution_configuration: {
            name: 'cyphr-staging-0.1.0-abc123def456-{{ imagebuilder:buildDate }}',
            ami_tags: { BundleVersion: bundle.version, BundleSha256: bundle.sha256 },
          },
        },
      ],
    });
    expect(one(json, 'aws_imagebuilder_image')).toMatchObject({
      image_tests_configuration: { image_tests_enabled: true },
      lifecycle: { create_before_destroy: true },
    });
    const logs = Object.values(json.resource.aws_cloudwatch_log_group).find(
      (g) => g.name === '/aws/imagebuilder/cyphr-staging',
    );
    expect(logs).toMatchObject({ retention_in_days: staging.logRetentionDays, kms_key_id: expect.any(String) });
  });

  it('both launch templates run the image’s AMI; the groups roll on a new launch template version', () => {
    const image = addressOf(json, 'aws_imagebuilder_image');
    for (const lt of Object.values(json.resource.aws_launch_template)) {
      expect(lt).toMatchObject({
        image_id: `\${tolist(${image}.output_resources[0].amis).0.image}`,
        update_default_version: true,
      });
    }
    for (const group of Object.values(json.resource.aws_autoscaling_group)) {
      expect(group).toMatchObject({
        launch_template: { version: expect.stringMatching(/\.latest_version\}$/) },
        health_check_grace_period: START_BUDGET_SECONDS,
        instance_refresh: {
          strategy: 'Rolling',
          preferences: {
            min_healthy_percentage: 100,
            max_healthy_percentage: 110,
            instance_warmup: String(START_BUDGET_SECONDS),
            auto_rollback: true,
          },
        },
      });
    }
    expect(json.output.ami_id.value).toMatch(/^\$\{aws_launch_template\.api_launch_template\.image_id\}$/);
  });
});

describe('image versions', () => {
  const versionsFor = (bundle: Bundle) => {
    const json = synth(staging, bundle);
    return {
      component: one(json, 'aws_imagebuilder_component'),
      recipe: one(json, 'aws_imagebuilder_image_recipe'),
      object: one(json, 'aws_s3_object'),
    };
  };

  it('a new bundle makes a new component and recipe version; the same bytes keep them', () => {
    const first = versionsFor(fakeBundle('0.1.0+aaaaaaaaaaaa', 'one'));
    const same = versionsFor(fakeBundle('0.1.0+aaaaaaaaaaaa', 'one'));
    const next = versionsFor(fakeBundle('0.1.0+bbbbbbbbbbbb', 'three'));
    expect(same.component.version).toBe(first.component.version);
    expect(next.component.version).not.toBe(first.component.version);
    expect(next.recipe.version).toBe(next.component.version);
    expect(next.object.key).not.toBe(first.object.key);
    expect(next.object.source_hash).not.toBe(first.object.source_hash);
  });

  it('versions are semantic, within Image Builder’s 2^30 per field', () => {
    const version = buildVersion('3.14.1+x', 'anything');
    expect(version).toMatch(/^3\.14\.\d+$/);
    expect(Number(version.split('.')[2])).toBeLessThan(2 ** 30);
    expect(buildVersion('0.1.0', 'a')).not.toBe(buildVersion('0.1.0', 'b'));
  });

  it('AMI names drop what EC2 refuses', () => {
    expect(amiSafe('0.1.0+93f09221083b-dirty')).toBe('0.1.0-93f09221083b-dirty');
  });

  it('refuses a document with Terraform template syntax', () => {
    expect(() =>
      componentDocument({
        bucket: 'b',
        key: 'k',
        accountId: '1',
        fileName: 'cyphr-0.1.0.tar.gz',
        version: '${oops}',
        sha256: '0'.repeat(64),
        nodeMajor: 22,
      }),
    ).toThrow(/must not contain/);
  });
});

describe('image from an existing AMI', () => {
  it('creates no Image Builder resources, no artifacts bucket, and points both launch templates at the AMI', () => {
    const environment = { ...staging, image: { amiId: 'ami-0fedcba9876543210' } };
    const json = synth(environment, { missing: true, reason: 'not needed' });
    const types = Object.keys(json.resource);
    expect(types.filter((t) => t.startsWith('aws_imagebuilder_'))).toEqual([]);
    expect(json.resource.aws_s3_object).toBeUndefined();
    expect(Object.values(json.resource.aws_s3_bucket).map((b) => b.bucket)).not.toContain(
      'cyphr-staging-artifacts-111111111111',
    );
    for (const lt of Object.values(json.resource.aws_launch_template))
      expect(lt.image_id).toBe('ami-0fedcba9876543210');
    expect(json.output.artifacts_bucket).toBeUndefined();
  });
});

describe('bundle discovery', () => {
  it('reads dist/LATEST and the .sha256 next to the archive', () => {
    const root = mkdtempSync(join(work, 'repo-'));
    const bundle = fakeBundle('1.2.3+feedfacecafe', 'x');
    writeFileSync(join(root, 'package.json'), '{}');
    expect(findBundle(root, { CYPHR_BUNDLE: bundle.path })).toEqual(bundle);
    expect(findBundle(root, {})).toEqual({
      missing: true,
      reason: expect.stringContaining('dist/LATEST does not exist'),
    });
  });

  it('without a bundle: placeholder source that fails apply, warning, and the stack still synthesizes', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const stack = new CyphrStack(Testing.app(), 'test', {
      environment: staging,
      tier: TIERS.small,
      bundle: { missing: true, reason: 'dist/LATEST does not exist (spec)' },
    });
    const json = JSON.parse(Testing.synth(stack, true)) as Synthesized;
    expect(one(json, 'aws_s3_object')).toMatchObject({
      source: 'assets/no-bundle-run-npm-run-package-then-synth/cyphr-0.1.0+unbuilt.tar.gz',
      key: 'bundles/cyphr-0.1.0+unbuilt.tar.gz',
    });
    const warnings = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === AnnotationMetadataEntryType.WARN));
    expect(warnings.map((w) => String(w.data)).filter((w) => w.includes('bundle'))).toEqual([
      expect.stringContaining('no Cyphr bundle: dist/LATEST does not exist (spec)'),
    ]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('npm run package'));
    warn.mockRestore();
  });
});
