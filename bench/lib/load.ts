import autocannon, { AutocannonResult } from 'autocannon';
import { Agent, request } from 'node:http';
import { LatencySummary, perSecond, summarize } from './stats';

/** What one request of a load phase is: built per request so each can have its own user, path and body. */
export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  seconds: number;
  /** Requests answered with the expected status, per second. */
  okPerSecond: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
}

function countStatus(statuses: Record<string, number>, status: number | string): void {
  statuses[status] = (statuses[status] ?? 0) + 1;
}

/**
 * Saturation (closed loop) with autocannon: `connections` keep-alive connections each send the next request
 * as soon as the previous one is answered, for `seconds`. Latencies come from autocannon's per-response
 * event (p95 is not among autocannon's own percentiles).
 */
export async function saturate(
  baseUrl: string,
  options: {
    connections: number;
    seconds: number;
    next: () => RequestSpec;
    okStatus: number;
    onTick?: (ok: number) => void;
  },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  const instance = autocannon({
    url: baseUrl,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    requests: [{ setupRequest: (req) => ({ ...req, ...options.next() }) }],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    countStatus(statuses, statusCode);
    if (statusCode !== options.okStatus) return void failed++;
    ok++;
    latencies.push(responseTime);
  });
  const ticker = setInterval(() => options.onTick?.(ok), 1000);
  const result = await new Promise<AutocannonResult>((resolve) => instance.on('done', resolve));
  clearInterval(ticker);
  if (result.errors > 0) statuses.error = result.errors;
  return {
    seconds: result.duration,
    okPerSecond: perSecond(ok, result.duration),
    ok,
    failed: failed + result.errors,
    statuses,
    latencyMs: summarize(latencies),
  };
}

/**
 * A fixed offered rate (open loop): request i is due at start + i / rate, whether or not earlier ones have
 * been answered, and its latency counts from when it was due, so a server that falls behind shows it
 * (no coordinated omission). autocannon's own rate limit releases each second's quota at once, in a burst at
 * the start of the second, which would measure queueing behind our own burst instead.
 */
export async function paced(
  baseUrl: string,
  options: {
    rate: number;
    seconds: number;
    maxSockets: number;
    next: (index: number) => RequestSpec;
    okStatus: number;
    /** Called when request `index` is issued and when it is answered (e.g. to time delivery). */
    onSent?: (index: number, at: number) => void;
    /** Each expected answer's latency, e.g. to summarise several concurrent loads as one. */
    onOk?: (latencyMs: number) => void;
    onTick?: (ok: number, inFlight: number) => void;
  },
): Promise<LoadResult & { offered: number; inFlightAtEnd: number }> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let issued = 0;
  let answered = 0;
  let ok = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve) => {
    const issue = (index: number, dueAt: number) => {
      const spec = options.next(index);
      options.onSent?.(index, performance.now());
      const req = request(
        { host: url.hostname, port: url.port, agent, method: spec.method, path: spec.path, headers: spec.headers },
        (res) => {
          res.resume();
          res.once('end', () => {
            countStatus(statuses, res.statusCode ?? 0);
            if (res.statusCode === options.okStatus) {
              ok++;
              const latency = performance.now() - dueAt;
              latencies.push(latency);
              options.onOk?.(latency);
            }
            if (++answered === total) resolve();
          });
        },
      );
      req.once('error', () => {
        countStatus(statuses, 'error');
        if (++answered === total) resolve();
      });
      req.end(spec.body);
    };
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate));
      while (issued < due) issue(issued, started + (issued++ * 1000) / options.rate);
      if (issued >= total) clearInterval(timer);
    }, 2);
  });
  const ticker = setInterval(() => options.onTick?.(ok, issued - answered), 1000);
  // Bounded: whatever is unanswered 10 s after the last request was due counts as failed.
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, options.seconds * 1000 + 10_000).unref());
  await Promise.race([done, deadline]);
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return {
    offered: options.rate,
    seconds: Number(seconds.toFixed(2)),
    okPerSecond: perSecond(ok, seconds),
    ok,
    failed: total - ok,
    inFlightAtEnd: issued - answered,
    statuses,
    latencyMs: summarize(latencies),
  };
}
