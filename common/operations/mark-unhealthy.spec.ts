// mark-unhealthy against a local HTTP stand-in that answers as IMDSv2 and the Auto Scaling query API do.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { markUnhealthy } from './mark-unhealthy';
import { MIGRATION_START_BUDGET_SECONDS } from './timeouts';
import { START_BUDGET_SECONDS } from '../../infra/constructs/compute';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const TOKEN = 'imds-session-token';
const INSTANCE = 'i-0123456789abcdef0';

function standIn(
  options: { requireToken?: boolean } = {},
): Promise<{ url: string; calls: Recorded[]; server: Server }> {
  const calls: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end(TOKEN);
      if (req.method === 'GET' && req.url === '/latest/meta-data/instance-id') {
        if ((options.requireToken ?? true) && req.headers['x-aws-ec2-metadata-token'] !== TOKEN) {
          res.statusCode = 401;
          return void res.end();
        }
        return void res.end(INSTANCE);
      }
      if (req.method === 'POST' && body.includes('Action=SetInstanceHealth')) {
        res.setHeader('content-type', 'text/xml');
        return void res.end(
          '<SetInstanceHealthResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">' +
            '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></SetInstanceHealthResponse>',
        );
      }
      res.statusCode = 404;
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, server }),
    ),
  );
}

const clientFor = (url: string) =>
  new AutoScalingClient({
    endpoint: url,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });

describe('mark-unhealthy', () => {
  it('reads its instance id with an IMDSv2 token and sets it Unhealthy, not waiting for the grace period', async () => {
    const { url, calls, server } = await standIn();
    try {
      await expect(markUnhealthy({ metadataEndpoint: url, client: clientFor(url) })).resolves.toBe(INSTANCE);
      const [token, id, setHealth] = calls;
      expect(token).toMatchObject({ method: 'PUT', url: '/latest/api/token' });
      expect(token.headers['x-aws-ec2-metadata-token-ttl-seconds']).toBeDefined();
      expect(id.headers['x-aws-ec2-metadata-token']).toBe(TOKEN);
      const form = new URLSearchParams(setHealth.body);
      expect(Object.fromEntries(form)).toMatchObject({
        Action: 'SetInstanceHealth',
        InstanceId: INSTANCE,
        HealthStatus: 'Unhealthy',
        ShouldRespectGracePeriod: 'false',
      });
      expect(setHealth.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d+\/eu-central-1\/autoscaling\//,
      );
    } finally {
      server.close();
    }
  });

  it('fails (and calls nothing) when the metadata service refuses', async () => {
    const { url, calls, server } = await standIn();
    try {
      await expect(markUnhealthy({ metadataEndpoint: `${url}/nowhere`, client: clientFor(url) })).rejects.toThrow(
        /IMDS token: HTTP 404/,
      );
      expect(calls.some((c) => c.body.includes('SetInstanceHealth'))).toBe(false);
    } finally {
      server.close();
    }
  });
});

describe('systemd wiring', () => {
  const unit = (name: string) => readFileSync(join(__dirname, '../../packaging/systemd', name), 'utf8');

  it.each(['cyphr-api.service', 'cyphr-worker.service', 'cyphr-migrate.service'])(
    '%s: restarts, and when its start limit is hit, starts cyphr-unhealthy@ for itself',
    (name) => {
      const text = unit(name);
      const [unitSection, serviceSection] = text.split('[Service]');
      expect(unitSection).toMatch(/^OnFailure=cyphr-unhealthy@%n\.service$/m);
      expect(unitSection).toMatch(/^StartLimitIntervalSec=\d+$/m);
      expect(unitSection).toMatch(/^StartLimitBurst=\d+$/m);
      expect(serviceSection).toMatch(/^Restart=on-failure$/m);
    },
  );

  // Giving up marks the instance unhealthy at once (the grace period is not waited for), so a unit must keep
  // retrying at least as long as the group's grace: on a new stack the API starts before the first worker's
  // migration has created its database role, and a failover makes every start fail for a minute or two.
  it.each(['cyphr-api.service', 'cyphr-worker.service', 'cyphr-migrate.service'])(
    '%s: gives up no sooner than the health-check grace',
    (name) => {
      const text = unit(name);
      const value = (key: string) => Number(new RegExp(`^${key}=(\\d+)$`, 'm').exec(text)?.[1]);
      const quickestGiveUp = value('StartLimitBurst') * value('RestartSec');
      expect(quickestGiveUp).toBeGreaterThanOrEqual(START_BUDGET_SECONDS);
      expect(value('StartLimitIntervalSec')).toBeGreaterThanOrEqual(quickestGiveUp);
    },
  );

  it('the template runs this script from the installed release with the instance settings', () => {
    const text = unit('cyphr-unhealthy@.service');
    expect(text).toMatch(/^Type=oneshot$/m);
    expect(text).toMatch(/^EnvironmentFile=\/etc\/cyphr\/cyphr\.env$/m);
    expect(text).toMatch(/^ExecStart=@NODE@ @PREFIX@\/current\/app\/common\/operations\/mark-unhealthy\.js %i$/m);
    expect(text).not.toMatch(/^OnFailure=/m); // no loop when marking fails
  });

  it('the migration unit allows exactly the start budget the health-check grace is computed from', () => {
    expect(unit('cyphr-migrate.service')).toMatch(
      new RegExp(`^TimeoutStartSec=${MIGRATION_START_BUDGET_SECONDS}$`, 'm'),
    );
  });

  it.each(['api', 'worker', 'migrate'])('cyphr-%s writes its output to the file the CloudWatch agent ships', (role) => {
    const text = unit(`cyphr-${role}.service`);
    expect(text).toMatch(new RegExp(`^StandardOutput=append:/var/log/cyphr/${role}\\.log$`, 'm'));
    expect(text).toMatch(/^StandardError=inherit$/m);
    expect(text).toMatch(/^LogsDirectory=cyphr$/m);
  });
});
