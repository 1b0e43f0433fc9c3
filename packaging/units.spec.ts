import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATION_START_BUDGET_SECONDS } from '../common/operations/timeouts';
import { METRICS_PORT_PREFIX } from '../infra/config/processes';
import { START_BUDGET_SECONDS } from '../infra/constructs/compute';
import { UNITS } from '../infra/constructs/image-component';
import { roleUnits, UNIT_SETTINGS } from '../infra/constructs/user-data';
import { readServiceUnit } from './test/support/systemd-unit';

const unit = (name: string) => readFileSync(join(__dirname, 'systemd', name), 'utf8');
const directives = (text: string, key: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .flatMap((line) => line.slice(key.length + 1).split(/\s+/));

describe('systemd units: the migration runs on worker instances only', () => {
  it('the worker requires and follows cyphr-migrate.service (its env file holds the owner role and master secret)', () => {
    const worker = unit('cyphr-worker@.service');
    expect(directives(worker, 'Requires')).toContain('cyphr-migrate.service');
    expect(directives(worker, 'After')).toContain('cyphr-migrate.service');
  });

  it('the api neither requires nor waits for it (its env file cannot run it)', () => {
    const api = unit('cyphr-api@.service');
    for (const key of ['Requires', 'Wants', 'After', 'BindsTo']) {
      expect(directives(api, key)).not.toContain('cyphr-migrate.service');
    }
  });
});

describe('systemd units: a process that cannot stay up takes its instance out', () => {
  const units = ['cyphr-api@.service', 'cyphr-worker@.service', 'cyphr-migrate.service'];

  it.each(units)('%s: restarts, and at its start limit powers the instance off (the group replaces it)', (name) => {
    const [unitSection, serviceSection] = unit(name).split('[Service]');
    expect(unitSection).toMatch(/^StartLimitAction=poweroff$/m);
    expect(unitSection).toMatch(/^StartLimitIntervalSec=\d+$/m);
    expect(unitSection).toMatch(/^StartLimitBurst=\d+$/m);
    expect(serviceSection).toMatch(/^Restart=on-failure$/m);
  });

  // Powering off ends the instance whatever its group's grace period, so a unit must keep retrying at least as long
  // as that grace: on a new stack the API starts before the first worker's migration has created its database
  // role, and a failover makes every start fail for a minute or two.
  it.each(units)('%s: gives up no sooner than the health-check grace', (name) => {
    const text = unit(name);
    const value = (key: string) => Number(new RegExp(`^${key}=(\\d+)$`, 'm').exec(text)?.[1]);
    const quickestGiveUp = value('StartLimitBurst') * value('RestartSec');
    expect(quickestGiveUp).toBeGreaterThanOrEqual(START_BUDGET_SECONDS);
    expect(value('StartLimitIntervalSec')).toBeGreaterThanOrEqual(quickestGiveUp);
  });

  it('the migration unit allows exactly the start budget the health-check grace is computed from', () => {
    expect(unit('cyphr-migrate.service')).toMatch(
      new RegExp(`^TimeoutStartSec=${MIGRATION_START_BUDGET_SECONDS}$`, 'm'),
    );
  });

  it.each([
    ['cyphr-api@.service', 'api-%i'],
    ['cyphr-worker@.service', 'worker-%i'],
    ['cyphr-migrate.service', 'migrate'],
  ])('%s writes its output to the file the CloudWatch agent ships (%s.log)', (name, file) => {
    const text = unit(name);
    expect(text).toMatch(new RegExp(`^StandardOutput=append:/var/log/cyphr/${file}\\.log$`, 'm'));
    expect(text).toMatch(/^StandardError=inherit$/m);
    expect(text).toMatch(/^LogsDirectory=cyphr$/m);
  });
});

describe('systemd units: several processes per instance', () => {
  const template = (name: string) => join(__dirname, 'systemd', name);

  it('ships the api and worker as templates, the units the image checks and the bundle manifest lists', () => {
    const shipped = readdirSync(join(__dirname, 'systemd')).filter((file) => file.endsWith('.service'));
    expect(shipped.sort()).toEqual([...UNITS].sort());
    const manifestLine = readFileSync(join(__dirname, 'build-bundle.sh'), 'utf8').match(/units: (\[[^\]]*\])/);
    expect(JSON.parse(manifestLine![1]).sort()).toEqual([...UNITS].sort());
    expect(roleUnits('api', 2)).toEqual(['cyphr-api@0.service', 'cyphr-api@1.service']);
  });

  it('api processes share the port (SO_REUSEPORT) and each has its own metrics port and log file', () => {
    const [first, second] = ['0', '1'].map((n) => readServiceUnit(template('cyphr-api@.service'), n).environment);
    expect(first).toMatchObject({ REUSE_PORT: 'true', METRICS_PORT: `${METRICS_PORT_PREFIX.api}0` });
    expect(second.METRICS_PORT).toBe(`${METRICS_PORT_PREFIX.api}1`);
    // PORT itself comes from the env file, the same for every process of the instance.
    expect(first.PORT).toBeUndefined();
  });

  it('worker processes each have their own metrics port', () => {
    const ports = ['0', '1'].map(
      (n) => readServiceUnit(template('cyphr-worker@.service'), n).environment.WORKER_METRICS_PORT,
    );
    expect(ports).toEqual([`${METRICS_PORT_PREFIX.worker}0`, `${METRICS_PORT_PREFIX.worker}1`]);
  });

  it('user data keeps out of the env file every setting a unit sets besides the role (UNIT_SETTINGS)', () => {
    for (const role of ['api', 'worker'] as const) {
      const { environment } = readServiceUnit(template(`cyphr-${role}@.service`), '0');
      // NODE_ENV and CYPHR_ROLE are the same for every process; the env file may say them too.
      const perProcess = Object.keys(environment).filter((name) => name !== 'NODE_ENV' && name !== 'CYPHR_ROLE');
      expect(perProcess.sort()).toEqual([...UNIT_SETTINGS[role]].sort());
    }
  });
});

describe('install.sh on an instance that ran a release before the template units', () => {
  it('removes the plain cyphr-api and cyphr-worker units, which would hold the port against the templates', () => {
    const root = mkdtempSync(join(tmpdir(), 'cyphr-install-'));
    try {
      const bundle = join(root, 'bundle');
      const systemd = join(root, 'systemd');
      for (const dir of ['app', 'certs', 'node_modules', 'systemd']) mkdirSync(join(bundle, dir), { recursive: true });
      for (const name of readdirSync(join(__dirname, 'systemd')))
        copyFileSync(join(__dirname, 'systemd', name), join(bundle, 'systemd', name));
      copyFileSync(join(__dirname, 'install.sh'), join(bundle, 'install.sh'));
      for (const [name, text] of [
        ['package.json', '{}'],
        ['VERSION', '1.0.0'],
        ['manifest.json', '{}'],
      ])
        writeFileSync(join(bundle, name), text);
      mkdirSync(systemd);
      for (const old of ['cyphr-api.service', 'cyphr-worker.service']) writeFileSync(join(systemd, old), '[Service]\n');

      execFileSync(
        'bash',
        [
          join(bundle, 'install.sh'),
          '--prefix',
          join(root, 'opt'),
          '--systemd-dir',
          systemd,
          '--node',
          process.execPath,
          '--no-system-user',
        ],
        { stdio: 'pipe' },
      );

      expect(readdirSync(systemd).sort()).toEqual([
        'cyphr-api@.service',
        'cyphr-migrate.service',
        'cyphr-worker@.service',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
