/**
 * The runner's HTTP face (Fastify): `/health` for orchestrators, `/status`
 * for people, `/metrics` in Prometheus text for monitoring. Later sources
 * (webhook intake) add their routes here.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Scheduler } from './scheduler.js';
import type { LedgerState } from '../../pipelines/ledger/ledger.types.js';

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

/** Starts the server; resolves once it listens. */
export async function startServer(opts: { host: string; port: number; scheduler: Scheduler; ledger: CountsSource; log: Logger; routes?: RouteRegistrar[] }): Promise<RunningServer> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  for (const add of opts.routes ?? []) add(app);
  app.get('/health', async (_req, reply) => {
    const stopping = opts.scheduler.isStopping;
    return reply.code(stopping ? 503 : 200).send({ status: stopping ? 'stopping' : 'ok' });
  });
  app.get('/status', async () => {
    const counts = await opts.ledger.counts();
    return {
      pipelines: opts.scheduler.pipelines.map((p) => ({
        name: p.name,
        cron: p.cron ?? null,
        timezone: p.timezone,
        running: p.running,
        lastStarted: p.lastStarted ?? null,
        lastFinished: p.lastFinished ?? null,
        lastResult: p.lastResult ?? null,
        lastError: p.lastError ?? null,
        nextRun: p.nextRun() ?? null,
        counts: counts[p.name] ?? {},
      })),
    };
  });
  app.get('/metrics', async (_req, reply) => {
    const counts = await opts.ledger.counts();
    let out = '# HELP rekey_submissions Submissions in the ledger by pipeline and state.\n# TYPE rekey_submissions gauge\n';
    for (const [pipeline, byState] of Object.entries(counts)) {
      for (const [state, n] of Object.entries(byState)) out += `rekey_submissions{pipeline=${JSON.stringify(pipeline)},state="${state}"} ${n ?? 0}\n`;
    }
    out += '# HELP rekey_pass_running Whether a pass of the pipeline is running.\n# TYPE rekey_pass_running gauge\n';
    for (const p of opts.scheduler.pipelines) out += `rekey_pass_running{pipeline=${JSON.stringify(p.name)}} ${p.running ? 1 : 0}\n`;
    return reply.type('text/plain; version=0.0.4').send(out);
  });
  const url = await app.listen({ host: opts.host, port: opts.port });
  return { url, close: () => app.close() };
}
