// The EC2 Image Builder component that puts Cyphr on Amazon Linux 2023: Node.js from AL2023's
// namespaced packages, the bundle from the artifacts bucket (sha256 checked), install.sh, kernel
// settings. Services are installed, not enabled: user data enables the one unit its role runs.
// Validate (build instance) and test (an instance launched from the new AMI) check the same things.
//
// Every scalar is written as a JSON string (valid YAML); no `${` or `%{` may appear, since Terraform
// would read them as template syntax in the component's `data`.
import { createHash } from 'node:crypto';
import {
  AGENT_CONFIG,
  AGENT_DIR,
  agentConfig,
  LOGROTATE_CONFIG,
  logrotateConfig,
  PROMETHEUS_CONFIG,
  prometheusConfig,
} from './cloudwatch-agent';

export const INSTALL_PREFIX = '/opt/cyphr';
export const SYSTEMD_DIR = '/etc/systemd/system';
/** The unit files the bundle installs: the api and worker are templates, one instance per process (cyphr-api@0 ...). */
export const UNITS = ['cyphr-api@.service', 'cyphr-worker@.service', 'cyphr-migrate.service'];
/** A unit file's first instance (a template's `@.` becomes `@0.`): what `systemctl is-enabled` can ask about. */
export const firstInstance = (unit: string) => unit.replace('@.', '@0.');
const ENTRY_POINTS = ['app/server/main.js', 'app/worker/main.js', 'app/common/database/migrate.js'];
const WORK_DIR = '/var/tmp/cyphr-bundle';
/**
 * Kernel settings, in sysctl.d: systemd-sysctl applies them early in every boot, before user data starts a unit.
 * tcp_migrate_req: several cyphr-api@n processes share port 3001 (SO_REUSEPORT); when one stops, the connections
 * already queued on its listener go to a sibling instead of being reset.
 */
export const SYSCTL_FILE = '/etc/sysctl.d/60-cyphr.conf';
export const KERNEL_SETTINGS: Readonly<Record<string, string>> = { 'net.ipv4.tcp_migrate_req': '1' };

export interface ComponentDocumentProps {
  /** Artifacts bucket name and the bundle's key in it. */
  bucket: string;
  key: string;
  /** Account that must own the bucket (aws s3 cp --expected-bucket-owner). */
  accountId: string;
  /** cyphr-<version>.tar.gz; the archive's top folder is cyphr-<version>/. */
  fileName: string;
  version: string;
  sha256: string;
  /** Node.js major from AL2023 (package nodejs<major>, binary /usr/bin/node-<major>). */
  nodeMajor: number;
  /** Install and configure the CloudWatch agent for this environment's log groups and metrics. @default not installed */
  cloudWatchAgent?: { environment: string };
}

interface Step {
  name: string;
  commands: string[];
}

const bash = (name: string, ...commands: string[]): Step => ({ name, commands: ['set -euo pipefail', ...commands] });

function checks(p: ComponentDocumentProps): Step[] {
  const node = `/usr/bin/node-${p.nodeMajor}`;
  const current = `${INSTALL_PREFIX}/current`;
  return [
    // 22.12 or later: the API processes of an instance share port 3001 through SO_REUSEPORT (`reusePort`).
    bash(
      'NodeVersion',
      `${node} --version`,
      `${node} --version | grep -q '^v${p.nodeMajor}\\.'`,
      `${node} -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'`,
    ),
    bash(
      'BundleInstalled',
      `test "$(cat ${current}/VERSION)" = '${p.version}'`,
      ...ENTRY_POINTS.map((entry) => `test -f ${current}/${entry}`),
      `cd ${current} && ${node} -e "require.resolve('@nestjs/core'); require.resolve('pg'); require.resolve('sqs-consumer')"`,
      'id cyphr',
    ),
    ...(p.cloudWatchAgent
      ? [
          bash(
            'CloudWatchAgentConfigured',
            'rpm -q amazon-cloudwatch-agent',
            'systemctl is-enabled --quiet amazon-cloudwatch-agent',
            `test -f ${AGENT_CONFIG}`,
            `test -f ${PROMETHEUS_CONFIG}`,
            `logrotate --debug ${LOGROTATE_CONFIG}`,
          ),
        ]
      : []),
    bash(
      'KernelSettings',
      ...Object.entries(KERNEL_SETTINGS).map(([key, value]) => `test "$(sysctl -n ${key})" = '${value}'`),
    ),
    bash(
      'UnitsInstalledNotEnabled',
      ...UNITS.flatMap((unit) => [
        `test -f ${SYSTEMD_DIR}/${unit}`,
        `grep -q '^ExecStart=${node} ' ${SYSTEMD_DIR}/${unit}`,
        // User data enables exactly one role's unit at boot; the image starts nothing by itself.
        // (`! cmd` would not trip `set -e`, hence the explicit exit.)
        `if systemctl is-enabled --quiet ${firstInstance(unit)}; then echo '${firstInstance(unit)} is enabled in the image' >&2; exit 1; fi`,
      ]),
    ),
  ];
}

function buildSteps(p: ComponentDocumentProps): Step[] {
  const archive = `${WORK_DIR}/${p.fileName}`;
  const folder = p.fileName.replace(/\.tar\.gz$/, '');
  return [
    bash('InstallNodejs', `dnf install -y nodejs${p.nodeMajor}`, `/usr/bin/node-${p.nodeMajor} --version`),
    bash(
      'DownloadBundle',
      `rm -rf ${WORK_DIR} && install -d -m 0700 ${WORK_DIR}`,
      `aws s3 cp --only-show-errors --expected-bucket-owner ${p.accountId} s3://${p.bucket}/${p.key} ${archive}`,
    ),
    bash('VerifyBundle', `echo '${p.sha256}  ${archive}' | sha256sum --check --strict -`),
    bash(
      'InstallBundle',
      `tar -xzf ${archive} -C ${WORK_DIR}`,
      `${WORK_DIR}/${folder}/install.sh --prefix ${INSTALL_PREFIX} --systemd-dir ${SYSTEMD_DIR} --node /usr/bin/node-${p.nodeMajor}`,
    ),
    bash('RemoveDownload', `rm -rf ${WORK_DIR}`),
    bash(
      'KernelSettings',
      writeFile(
        SYSCTL_FILE,
        Object.entries(KERNEL_SETTINGS)
          .map(([key, value]) => `${key} = ${value}\n`)
          .join(''),
      ),
      // Now as well, so validate (on this build instance) sees it; test runs on a fresh boot of the AMI.
      `sysctl --load ${SYSCTL_FILE}`,
    ),
    ...(p.cloudWatchAgent ? [cloudWatchAgentStep(p.cloudWatchAgent.environment)] : []),
  ];
}

/** Writes `text` to `path` through base64: no quoting, and no `$` or `%` that YAML or Terraform could read. */
const writeFile = (path: string, text: string, mode = '0644') =>
  `echo '${Buffer.from(text).toString('base64')}' | base64 -d | install -m ${mode} /dev/stdin ${path}`;

/**
 * The CloudWatch agent from AL2023's repository, its config for this environment (translated and checked by
 * the agent's own tool here, so a bad config fails the build), enabled to start at boot; logrotate for the
 * units' log files.
 */
function cloudWatchAgentStep(environment: string): Step {
  return bash(
    'InstallCloudWatchAgent',
    'dnf install -y amazon-cloudwatch-agent logrotate',
    writeFile(AGENT_CONFIG, `${JSON.stringify(agentConfig(environment), null, 2)}\n`),
    writeFile(PROMETHEUS_CONFIG, prometheusConfig()),
    writeFile(LOGROTATE_CONFIG, logrotateConfig()),
    `${AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:${AGENT_CONFIG}`,
    'systemctl enable amazon-cloudwatch-agent',
  );
}

function yamlSteps(steps: Step[]): string[] {
  return steps.flatMap((step) => [
    `      - name: ${step.name}`,
    '        action: ExecuteBash',
    '        inputs:',
    '          commands:',
    ...step.commands.map((c) => `            - ${JSON.stringify(c)}`),
  ]);
}

/** The AWSTOE document (YAML). */
export function componentDocument(p: ComponentDocumentProps): string {
  const text = [
    'name: cyphr-bundle',
    `description: ${JSON.stringify(`Node.js ${p.nodeMajor} and Cyphr ${p.version} (sha256 ${p.sha256})`)}`,
    'schemaVersion: 1.0',
    'phases:',
    '  - name: build',
    '    steps:',
    ...yamlSteps(buildSteps(p)),
    '  - name: validate',
    '    steps:',
    ...yamlSteps(checks(p)),
    '  - name: test',
    '    steps:',
    ...yamlSteps(checks(p)),
    '',
  ].join('\n');
  if (/[$%]\{/.test(text)) throw new Error('component document must not contain ${ or %{ (Terraform template syntax)');
  return text;
}

/**
 * Image Builder versions are immutable `major.minor.patch` integers. Ours: major.minor of the package,
 * patch = the first 28 bits of the sha256 of everything that makes the image (component document,
 * which holds the bundle's sha256, parent image, volume). New bytes -> new version -> new component,
 * recipe and image; the same bytes (a reproducible rebuild) -> the same version -> nothing to do.
 */
export function buildVersion(packageVersion: string, ...inputs: string[]): string {
  const [major, minor] = packageVersion.split(/[.+-]/).map((n) => Number.parseInt(n, 10));
  if (!Number.isInteger(major) || !Number.isInteger(minor))
    throw new Error(`not a semantic version: ${packageVersion}`);
  const fingerprint = createHash('sha256').update(inputs.join('\0')).digest('hex');
  return `${major}.${minor}.${Number.parseInt(fingerprint.slice(0, 7), 16)}`;
}

/** AMI names allow letters, digits, spaces and ()[]./-'@_ only (no `+`). */
export function amiSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9()[\]./\-'@_ ]/g, '-');
}
