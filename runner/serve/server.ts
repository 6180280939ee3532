/**
 * The runner's HTTP face (Fastify): `/health` (liveness) and `/ready`
 * (readiness) for orchestrators, `/status` for people (each pipeline's
 * schedule, last pass, pause and counts), `/metrics` in
 * Prometheus text for monitoring (see `metrics.ts`, `readiness.ts`). None
 * of them holds citizens' data. Later sources (webhook intake) add their
 * routes here.
 */
import { isIP } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Scheduler } from './scheduler.js';
import { ServeMetrics } from './metrics.js';
import { Readiness } from './readiness.js';
import type { LedgerState } from '../../pipelines/ledger/ledger.types.js';
import type { PipelineControl } from '../../pipelines/ledger/controls.js';

/** What the server reads ledger counts from. */
export interface CountsSource {
  counts(pipeline?: string): Promise<Record<string, Partial<Record<LedgerState, number>>>>;
}

/** A listening server. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Adds routes (such as a source's intake) to the server before it listens. */
export type RouteRegistrar = (app: FastifyInstance) => void;

/** What `startServer` needs. */
export interface ServerOptions {
  host: string;
  port: number;
  scheduler: Scheduler;
  ledger: CountsSource;
  /** The pause state of pipelines (see `pipelineControls`), read for each `/status`. */
  controls: () => Promise<readonly PipelineControl[]>;
  log: Logger;
  routes?: RouteRegistrar[];
  /** The metrics `/metrics` renders; default: new ones for the scheduler's pipelines, fed by its pass ends. */
  metrics?: ServeMetrics;
  /** What `/ready` reports; default: every pipeline judged by its passes alone (no probes). */
  readiness?: Readiness;
  /** The reverse proxies whose `X-Forwarded-For` gives the client's address (see `parseTrustProxy`); default: none, `request.ip` is the socket's peer. */
  trustProxy?: readonly string[];
}

/** The address ranges `@fastify/proxy-addr` names: `loopback`, `linklocal`, `uniquelocal`. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Reads `--trust-proxy` / `REKEY_TRUST_PROXY`: a comma list of the reverse
 * proxies' addresses or CIDR ranges (`127.0.0.1`, `10.0.0.0/8`, `::1`, or
 * `loopback`, `linklocal`, `uniquelocal`). A request whose socket peer is
 * one of them has its client address (`request.ip`, and so the sign-in
 * rate limit's bucket) taken from `X-Forwarded-For`, skipping every
 * trusted hop; any other request's header is ignored. Empty: trust none.
 * A hop count is refused: Fastify 5 trusts no peer for one (it cannot tell
 * a proxy from a client that sends the header itself). Returns the list,
 * or undefined for none; throws a message naming the entry that is wrong.
 */
export function parseTrustProxy(text: string | undefined): string[] | undefined {
  const list = (text ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of list) {
    if (/^\d+$/.test(a)) throw new Error(`${JSON.stringify(a)} is a hop count; give the proxies' addresses or CIDR ranges instead (such as 127.0.0.1 or 10.0.0.0/8)`);
    if (PROXY_RANGE_NAMES.has(a)) continue;
    const [addr = '', prefix, ...more] = a.split('/');
    const family = isIP(addr);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (!family || !prefixOk || more.length) throw new Error(`${JSON.stringify(a)} is not an IP address or CIDR range (such as 127.0.0.1, 10.0.0.0/8 or ::1)`);
  }
  return list.length ? list : undefined;
}

/** Why the server could not listen, by the system's error code. */
const LISTEN_REASONS: Record<string, string> = {
  EADDRINUSE: 'another process is listening there; choose another port with --port (or REKEY_PORT)',
  EACCES: 'this user may not listen on that port; choose one above 1023 with --port (or REKEY_PORT)',
  EADDRNOTAVAIL: 'this machine has no such address; choose another with --host',
};

/** Starts the server; resolves once it listens, or rejects naming the address and why it could not. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: opts.trustProxy?.length ? [...opts.trustProxy] : false,
  }) as unknown as FastifyInstance;
  const { scheduler } = opts;
  const readiness = opts.readiness ?? new Readiness(scheduler.pipelines.map((p) => ({ name: p.name, isRunning: () => p.running })), opts.log);
  if (!opts.readiness) scheduler.onPassEnd((end) => readiness.passEnded(end));
  const metrics = opts.metrics ?? new ServeMetrics(scheduler.pipelines, opts.ledger, (name) => readiness.isReady(name));
  if (!opts.metrics) scheduler.onPassEnd((end) => metrics.passEnded(end));
  for (const add of opts.routes ?? []) add(app);
  app.get('/health', async (_req, reply) => {
    const stopping = scheduler.isStopping;
    return reply.code(stopping ? 503 : 200).send({ status: stopping ? 'stopping' : 'ok' });
  });
  app.get('/ready', async (_req, reply) => {
    const report = readiness.report();
    const status = scheduler.isStopping ? 'stopping' : report.ready ? 'ready' : 'not ready';
    return reply.code(status === 'ready' ? 200 : 503).send({ status, pipelines: report.pipelines });
  });
  app.get('/status', async () => {
    const [counts, controls] = await Promise.all([opts.ledger.counts(), opts.controls()]);
    const paused = new Map(controls.filter((c) => c.paused).map((c) => [c.pipeline, { by: c.by, reason: c.reason, since: c.since.toISOString() }]));
    return {
      pipelines: scheduler.pipelines.map((p) => ({
        name: p.name,
        cron: p.cron ?? null,
        timezone: p.timezone,
        running: p.running,
        lastStarted: p.lastStarted ?? null,
        lastFinished: p.lastFinished ?? null,
        lastResult: p.lastResult ?? null,
        lastError: p.lastError ?? null,
        nextRun: paused.has(p.name) ? null : (p.nextRun() ?? null),
        paused: paused.get(p.name) ?? null,
        counts: counts[p.name] ?? {},
      })),
    };
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.text();
    return reply.type(metrics.contentType).send(text);
  });
  const url = await app.listen({ host: opts.host, port: opts.port }).catch(async (e: NodeJS.ErrnoException) => {
    await app.close();
    throw new Error(`cannot listen on ${opts.host}:${opts.port}: ${LISTEN_REASONS[e.code ?? ''] ?? e.message}`);
  });
  return { url, close: () => app.close() };
}
