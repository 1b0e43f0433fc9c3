import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const unit = (name: string) => readFileSync(join(__dirname, 'systemd', name), 'utf8');
const directives = (text: string, key: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .flatMap((line) => line.slice(key.length + 1).split(/\s+/));

describe('systemd units: the migration runs on worker instances only', () => {
  it('the worker requires and follows cyphr-migrate.service (its env file holds the owner role and master secret)', () => {
    const worker = unit('cyphr-worker.service');
    expect(directives(worker, 'Requires')).toContain('cyphr-migrate.service');
    expect(directives(worker, 'After')).toContain('cyphr-migrate.service');
  });

  it('the api neither requires nor waits for it (its env file cannot run it)', () => {
    const api = unit('cyphr-api.service');
    for (const key of ['Requires', 'Wants', 'After', 'BindsTo']) {
      expect(directives(api, key)).not.toContain('cyphr-migrate.service');
    }
  });
});
