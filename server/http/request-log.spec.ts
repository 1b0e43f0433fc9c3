import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { LOG_REDACT_PATHS, REDACTED } from './logging';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chooseRequestId } from './request-id';
import { requestLog } from './request-log';

/** A request (its id from chooseRequestId, as Fastify's genReqId) through requestLog that ends with `status` after `ms`; answers the lines logged and the response headers. */
async function through(
  url: string,
  status: number,
  options: { ms?: number; aborted?: boolean; requestId?: string } = {},
): Promise<{ lines: Record<string, any>[]; headers: Record<string, unknown> }> {
  const stream = new PassThrough();
  const lines: Record<string, any>[] = [];
  stream.on('data', (chunk: Buffer) =>
    lines.push(
      ...chunk
        .toString()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ),
  );
  const logger = pino({ level: 'info', redact: LOG_REDACT_PATHS }, stream);
  const headers: Record<string, unknown> = {};
  const req = {
    method: 'GET',
    url,
    headers: { authorization: 'Bearer secret', ...(options.requestId ? { 'x-request-id': options.requestId } : {}) },
    socket: { remoteAddress: '10.0.0.1' },
  } as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), {
    req,
    statusCode: status,
    writableFinished: !options.aborted,
    setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = value),
  }) as unknown as ServerResponse;
  requestLog(logger)(res, chooseRequestId(req));
  if (options.ms) jest.advanceTimersByTime(options.ms);
  res.emit('close');
  await new Promise((resolve) => setImmediate(resolve));
  return { lines, headers };
}

describe('requestLog', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] }));
  afterEach(() => jest.useRealTimers());

  it('gives every request an id (the caller’s when sane) but logs no successful one', async () => {
    const ok = await through('/v1/users/me', 200);
    expect(ok.lines).toEqual([]);
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await through('/v1/users/me', 202, { requestId: 'alb-trace-12345' })).headers['x-request-id']).toBe(
      'alb-trace-12345',
    );
  });

  it('logs a 4xx with its request id, status and the URL with credentials redacted, never a header', async () => {
    const { lines, headers } = await through('/v1/users/me?token=eyJ.secret.sig&x=1', 401);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request completed',
        req: {
          id: headers['x-request-id'],
          method: 'GET',
          url: `/v1/users/me?token=${REDACTED}&x=1`,
          remoteAddress: '10.0.0.1',
        },
        res: { statusCode: 401 },
        responseTime: expect.any(Number),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toMatch(/secret|eyJ/);
  });

  it('logs a 5xx as an error, a slow success as a warning and an aborted request', async () => {
    expect((await through('/v1/conversations', 500)).lines[0]).toMatchObject({ level: 50, msg: 'request errored' });
    expect((await through('/v1/conversations', 200, { ms: 1_500 })).lines[0]).toMatchObject({
      level: 40,
      responseTime: 1_500,
    });
    expect((await through('/v1/conversations', 200, { aborted: true })).lines[0]).toMatchObject({
      msg: 'request aborted',
    });
  });

  it('stays quiet about the health and metrics endpoints', async () => {
    expect((await through('/health', 503)).lines).toEqual([]);
    expect((await through('/metrics?x', 404)).lines).toEqual([]);
  });
});
