/**
 * The runner's HTTP face (Fastify): `/health` (liveness) and `/ready`
 * (readiness) for orchestrators, `/status` for people (each pipeline's
 * schedule, last pass, pause and counts), `/metrics` in
 * Prometheus text for monitoring (see `metrics.ts`, `readiness.ts`). None
 * of them holds citizens' data. Later sources (webhook intake) add their
 * routes here.
 */
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
}

/** Starts the server; resolves once it listens. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
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
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { url, close: () => app.close() };
}
