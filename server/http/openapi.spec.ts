import { NestFactory } from '@nestjs/core';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ASYNCAPI_DOCUMENT } from '../../common/contracts/realtime-asyncapi';
import { AppModule } from '../app.module';
import type { ServerConfig } from '../config/server-config';
import { createFastifyAdapter } from './fastify-adapter';
import { openApiDocument } from './openapi';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
/** Redocly CLI lives in its own package (scripts/openapi-lint), installed with `npm ci` on first use. */
const TOOL_DIR = join(ROOT, 'scripts', 'openapi-lint');
const REDOCLY = join(TOOL_DIR, 'node_modules', '.bin', 'redocly');

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer?: string }[];
}

function redocly(): string {
  if (!existsSync(REDOCLY))
    execFileSync('npm', ['ci', '--prefix', TOOL_DIR, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: 'pipe' });
  return REDOCLY;
}

/** `redocly lint --extends recommended`; its problems, each as "severity rule at pointer: message". */
async function lint(document: object): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cyphr-contract-'));
  const file = join(dir, 'document.json');
  writeFileSync(file, JSON.stringify(document, null, 2));
  try {
    // Exits 1 when there are errors; the JSON report is on stdout either way.
    const { stdout } = await run(redocly(), ['lint', '--extends', 'recommended', '--format', 'json', file], {
      cwd: dir,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { problems: LintProblem[] };
    return report.problems.map(
      (problem) =>
        `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer ?? '?'}: ${problem.message}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the published contracts', () => {
  let document: ReturnType<typeof openApiDocument>;

  beforeAll(async () => {
    // Preview mode builds the module graph without instantiating providers: no database, Redis or SQS needed,
    // and the document comes out exactly as createServerApp builds and serves it.
    const app = await NestFactory.create(
      AppModule.register({ database: {} } as unknown as ServerConfig),
      createFastifyAdapter({ trustProxy: () => false, bodyLimitBytes: 1024 }),
      {
        preview: true,
        logger: false,
        abortOnError: false,
      },
    );
    document = openApiDocument(app);
    await app.close();
  }, 30_000);

  it('the OpenAPI document passes redocly lint with its recommended rules: no errors, no warnings', async () => {
    expect(await lint(document)).toEqual([]);
  }, 120_000);

  it('every operation has an operationId, a summary, and declares its errors with the shared error schema', () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item as Record<string, any>)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, operationId: typeof operation.operationId, summary: typeof operation.summary }).toEqual({
          where,
          operationId: 'string',
          summary: 'string',
        });
        const errors = Object.entries(operation.responses as Record<string, any>).filter(([status]) => status >= '400');
        expect({ where, errors: errors.length > 0 }).toEqual({ where, errors: true });
        for (const [status, response] of errors) {
          const schema = response.content?.['application/json']?.schema?.$ref;
          // /health/ready answers 503 with its readiness report, not an error body.
          if (!(path === '/health/ready' && status === '503'))
            expect({ where, status, schema }).toEqual({ where, status, schema: '#/components/schemas/ErrorBodyDto' });
        }
      }
    }
  });

  it('says `security: []` exactly on the public operations', () => {
    const open = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, any>)
        .filter(([, operation]) => Array.isArray(operation.security) && operation.security.length === 0)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(open.sort()).toEqual(
      [
        'POST /v1/auth/register',
        'POST /v1/auth/login',
        'POST /v1/auth/refresh',
        'GET /health',
        'GET /health/ready',
        'GET /v1/openapi.json',
        'GET /v1/asyncapi.json',
      ].sort(),
    );
    expect(document.security).toEqual([{ bearer: [] }]);
  });

  it('the AsyncAPI document of the WebSocket passes redocly lint too', async () => {
    expect(await lint(ASYNCAPI_DOCUMENT)).toEqual([]);
  }, 120_000);
});
