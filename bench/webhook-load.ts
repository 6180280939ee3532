/**
 * The webhook benchmark's load generator, run as its own process:
 * `node dist/bench/webhook-load.js <json options>`. Sends `requests`
 * distinct signed submissions to `url` over keep-alive HTTP with
 * `concurrency` requests in flight (after `warmup` unmeasured ones), and
 * prints one JSON line: answers by status, seconds, accepted per second and
 * latency percentiles.
 */
import { Agent, request } from 'node:http';
import { sign } from '../connectors/webhook/signature.js';
import { makeSubmissions } from './data.js';

/** What the parent passes. */
export interface LoadOptions {
  url: string;
  secret: string;
  requests: number;
  concurrency: number;
  warmup: number;
  /** First reference number, so that runs against one ledger do not collide. */
  offset: number;
}

/** What the generator prints. */
export interface LoadResult {
  requests: number;
  concurrency: number;
  byStatus: Record<string, number>;
  errors: number;
  seconds: number;
  acceptedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function post(agent: Agent, url: URL, raw: Buffer, secret: string): Promise<number> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = {
    'content-type': 'application/json',
    'content-length': String(raw.length),
    'x-rekey-timestamp': timestamp,
    'x-rekey-signature': `sha256=${sign(secret, timestamp, raw)}`,
  };
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(raw);
  });
}

async function send(opts: LoadOptions, count: number, offset: number, latencies?: number[]): Promise<{ byStatus: Record<string, number>; errors: number }> {
  const url = new URL(opts.url);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const bodies = makeSubmissions(count, 7 + offset, offset).map((s) => Buffer.from(JSON.stringify(s)));
  const byStatus: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const raw = bodies[next++]!;
      const t0 = process.hrtime.bigint();
      try {
        const status = await post(agent, url, raw, opts.secret);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      } catch {
        errors++;
      }
      latencies?.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  agent.destroy();
  return { byStatus, errors };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Runs the load described by `opts`. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.warmup) await send(opts, opts.warmup, opts.offset + opts.requests);
  const latencies: number[] = [];
  const t0 = process.hrtime.bigint();
  const { byStatus, errors } = await send(opts, opts.requests, opts.offset, latencies);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    requests: opts.requests,
    concurrency: opts.concurrency,
    byStatus,
    errors,
    seconds,
    acceptedPerSecond: (byStatus['202'] ?? 0) / seconds,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
  };
}

if (process.argv[1]?.endsWith('webhook-load.js')) {
  const result = await runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
