/**
 * `rekey serve [FOLDER]`: runs every pipeline in a folder on its cron
 * schedule, with health, readiness, status and metrics endpoints. On SIGTERM or SIGINT
 * it stops taking new work, lets the batch in hand finish, releases its
 * leases and exits; nothing read is lost. It also applies each pipeline's
 * `retention:` (the purge of `rekey purge`) once at start and then hourly,
 * on the hour (UTC), and writes signed audit checkpoints to
 * `REKEY_AUDIT_CHECKPOINTS` at start, hourly and at shutdown (see
 * `serve/audit-checkpoints.ts`). On a PostgreSQL state store these chores
 * run on one runner per period across every runner sharing it (see
 * `Scheduler.chore`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { formatProblem } from '../../mappings/index.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { loadPipelineFile } from '../pipeline-files.js';
import { createLogger } from '../logging.js';
import { flowPipeline, routedPipeline, routedSummary } from '../../pipelines/flow/flow-pipeline.js';
import { runRoutedPass } from '../../pipelines/flow/routes.js';
import type { PassOptions } from '../../pipelines/flow/flow.types.js';
import { CRASH_ENV, crashHook } from '../../pipelines/flow/crash-points.js';
import { durationOption, openRuntime, piiHasher, piiKey, runnerId, UsageError } from '../runtime.js';
import { Scheduler, type PassTrigger } from '../serve/scheduler.js';
import { scheduleTicks } from '../serve/schedule-ticks.js';
import { ServeSteering } from '../serve/steering.js';
import { isPaused, pipelineControls } from '../../pipelines/ledger/controls.js';
import { auditCheckpoints } from '../serve/audit-checkpoints.js';
import { PipelinePools } from '../pool/pipeline-pools.js';
import { defaultThreads } from '../pool/mapping-pool.js';
import { mappingOptions } from './run.command.js';
import { parseTrustProxy, startServer } from '../serve/server.js';
import { Intake } from '../serve/intake.js';
import { Alerter } from '../serve/alerts.js';
import { registerConsole } from '../console/console.js';
import { CONSOLE_PAGES } from '../console/pages/index.js';
import { loadUsers } from '../console/users.js';
import { withLanes } from '../console/context.js';
import { ServeMetrics } from '../serve/metrics.js';
import { Readiness, type Watched } from '../serve/readiness.js';
import type { LoadedPipeline } from '../pipeline-files.js';
import type { CommandResult } from '../cli.js';
import { parsePipeline } from '../../pipelines/definition/pipeline.loader.js';
import type { PipelineDef } from '../../pipelines/definition/pipeline.types.js';
import { purgePipeline } from '../../pipelines/privacy/purge.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from 'pino';

/** When `rekey serve` purges: on the hour, every hour (UTC); and once at start. */
export const PURGE_CRON = '0 * * * *';

/** Purges each pipeline under the `retention:` its file holds now (the one loaded at start if the file no longer reads), logging counts only. */
async function purgeAll(runtime: Runtime, pipelines: readonly { file: string; def: PipelineDef }[], actor: string, log: Logger): Promise<void> {
  for (const { file, def } of pipelines) {
    const fresh = parsePipeline(file, await readFile(file, 'utf8').catch(() => '')).def;
    const retention = fresh?.pipeline === def.pipeline ? fresh.retention : def.retention;
    const counts = await purgePipeline(runtime.store, runtime.audit, def.pipeline, retention, { actor });
    const purged = Object.fromEntries(counts.filter((c) => c.count > 0).map((c) => [c.kind, c.count]));
    if (Object.keys(purged).length) log.info({ pipeline: def.pipeline, purged }, 'retention purge');
  }
}

/** The `target` label of a pipeline's metrics: its target's kind (`postgres`, `file-drop`, ...), never its URL. */
function targetLabel(p: Pick<LoadedPipeline, 'def' | 'target'>): string {
  return p.target.identity?.().kind ?? p.def.target.kind;
}

/**
 * The readiness probe of the pipeline in `file`: builds its target (each
 * route's, for a pipeline with routes) afresh, connects and closes it.
 * Not a browser target: its connect launches Chromium, too dear for a
 * health check, so its passes alone judge it.
 */
function targetProbe(file: string, def: PipelineDef, runtime: Runtime, log: Logger, signal: AbortSignal): (() => Promise<void>) | undefined {
  const probed = (def.routes ?? [{ def }]).filter((r) => r.def.target.kind !== 'browser');
  if (!probed.length) return undefined;
  return async () => {
    const fresh = await loadPipelineFile(file);
    if (!fresh.pipeline) throw new Error(fresh.problems.map(formatProblem).join('\n'));
    const built = fresh.pipeline.routes ?? [fresh.pipeline];
    for (const b of built) {
      if (b.def.target.kind === 'browser') continue;
      const name = b.def.pipeline;
      try {
        await b.target.connect({ log: log.child({ pipeline: name, probe: true }), signal, attempt: 1, state: runtime.ledger.connectorState(name), files: runtime.ledger.sealedFiles(name) });
      } finally {
        await b.target.close().catch(() => undefined);
      }
    }
  };
}

interface ServeOptions {
  state?: string;
  port: string;
  host: string;
  lease: string;
  runAtStart?: boolean;
  consoleUsers?: string;
  trustProxy?: string;
}

/** Pipeline files in `folder`: `*.yaml` / `*.yml` whose top level names a pipeline. */
export async function pipelineFiles(folder: string): Promise<string[]> {
  const names = (await readdir(folder)).filter((n) => /\.ya?ml$/.test(n) && !/\.cases\.ya?ml$/.test(n)).sort();
  return names.map((n) => join(folder, n));
}

/** Registers `serve` on the program. */
export function serveCommand(program: Command, result: CommandResult): void {
  program
    .command('serve')
    .description('run every pipeline in a folder on its schedule, with /health, /ready, /status and /metrics')
    .argument('[folder]', 'folder of pipeline files', 'pipelines')
    .option('--state <url>', 'state store URL (default: REKEY_STATE_URL or .rekey/state.sqlite)')
    .option('--port <port>', 'HTTP port for health, status and metrics', process.env.REKEY_PORT ?? '8080')
    .option('--host <host>', 'HTTP address to listen on', '127.0.0.1')
    .option('--lease <duration>', 'how long this runner holds claimed submissions', '60s')
    .option('--run-at-start', 'run every pipeline once at start as well as on its schedule')
    .option('--console-users <file>', 'users file of the console (default: REKEY_CONSOLE_USERS; see docs/console.md); without one the console shows no data')
    .option('--trust-proxy <addresses>', "reverse proxies (comma list of addresses or CIDR ranges) whose X-Forwarded-For names the client, e.g. for the console's sign-in rate limit (default: REKEY_TRUST_PROXY, else none)")
    .action(async (folder: string, opts: ServeOptions) => {
      let trustProxy: string[] | undefined;
      try {
        trustProxy = parseTrustProxy(opts.trustProxy ?? process.env.REKEY_TRUST_PROXY);
      } catch (e) {
        throw new UsageError(`--trust-proxy (or REKEY_TRUST_PROXY): ${(e as Error).message}`);
      }
      const log = createLogger();
      const files = await pipelineFiles(folder);
      const problems = [];
      const loaded = [];
      for (const f of files) {
        const l = await loadPipelineFile(f);
        if (l.pipeline) loaded.push({ file: f, def: l.pipeline.def, secrets: l.pipeline.secrets, source: l.pipeline.source, target: l.pipeline.target, mapping: l.pipeline.mapping, alerts: l.pipeline.alerts });
        else problems.push(...l.problems);
      }
      if (problems.length || loaded.length === 0) {
        for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
        if (!loaded.length) process.stderr.write(`no pipeline files in ${resolve(folder)}\n`);
        result.code = 1;
        return;
      }
      // The signals are handled from here on: one that comes while serve starts lets it finish starting
      // (passes started then stop at once), then stop as it would later.
      const abort = new AbortController();
      const stopped = new Promise<void>((done) => abort.signal.addEventListener('abort', () => done(), { once: true }));
      const onSignal = (signal: string) => {
        log.info({ signal }, 'stopping: no new work; finishing the batches in hand');
        abort.abort();
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      const unhook = (e: unknown) => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        throw e;
      };
      const usersFile = opts.consoleUsers ?? process.env.REKEY_CONSOLE_USERS;
      const users = usersFile ? await loadUsers(usersFile).catch(unhook) : undefined;
      if (!users) log.warn('the console has no users file (--console-users or REKEY_CONSOLE_USERS): its pages show nothing until one is given');
      const runtime = await openRuntime(opts.state, log).catch(unhook);
      const shared = runtime.store.dialect === 'postgres';
      const checkpoints = await auditCheckpoints(process.env, runtime.audit, log, { shared }).catch(async (e: unknown) => {
        await runtime.close();
        unhook(e);
      });
      const id = runnerId();
      const coordinator = shared ? { coordinator: scheduleTicks(runtime.store, id) } : {};
      const scheduler = new Scheduler(log, { isPaused: (name) => isPaused(runtime.store, name), ...coordinator });
      const steering = new ServeSteering(runtime.store, runtime.audit, scheduler);
      const key = piiKey(log);
      const crash = crashHook(process.env[CRASH_ENV]);
      const wakes = new Map<string, () => Promise<void>>();
      const pools = new PipelinePools(key);
      const metrics = new ServeMetrics(scheduler.pipelines, runtime.ledger, (name) => readiness.isReady(name));
      const watched: Watched[] = [];
      const atStart: (() => Promise<void>)[] = [];
      for (const { file, def, source, target } of loaded) {
        const pass = async (trigger: PassTrigger) => {
          await readiness.idle(def.pipeline);
          const started = performance.now();
          const fresh = await loadPipelineFile(file);
          if (!fresh.pipeline) throw new Error(fresh.problems.map(formatProblem).join('\n'));
          const lp = fresh.pipeline;
          const plog = createLogger({ secrets: lp.secrets });
          const pool = lp.routes ? undefined : await pools.get(def.pipeline, { mappingFile: lp.mappingFile, mappingVersion: lp.mapping.version, threads: lp.def.workers ?? defaultThreads() });
          const passOptions: PassOptions = {
            owner: id,
            actor: id,
            trigger,
            log: plog,
            signal: abort.signal,
            leaseMs: durationOption('--lease', opts.lease),
            retryWaitMs: 0,
            piiHash: piiHasher(key),
            crash,
            skipUnchanged: true,
            observe: metrics.observer(def.pipeline, targetLabel(lp)),
            ...(pool && mappingOptions(pool, lp.mapping, key)),
          };
          const summary = lp.routes ? routedSummary(await runRoutedPass(routedPipeline({ ...lp, routes: lp.routes }), runtime.ledger, passOptions)) : await runPass(flowPipeline(lp), pool ? await runtime.threadedLedger() : runtime.ledger, passOptions);
          plog.info({ pipeline: def.pipeline, ...summary, durationMs: Math.round(performance.now() - started) }, 'pass finished');
          return summary;
        };
        const entry = scheduler.add(def.pipeline, def.schedule?.cron, def.schedule?.timezone ?? 'Europe/London', pass);
        steering.add(entry, pass);
        metrics.declare(def.pipeline, targetLabel({ def, target }));
        const probe = targetProbe(file, def, runtime, log, abort.signal);
        watched.push({ name: def.pipeline, isRunning: () => entry.running, ...(probe ? { probe } : {}) });
        if (opts.runAtStart) atStart.push(() => scheduler.runNow(entry, pass, { kind: 'start' }));
        wakes.set(def.pipeline, () => scheduler.runNow(entry, pass, { kind: 'webhook' }));
        source.watch?.({ log: log.child({ pipeline: def.pipeline }), signal: abort.signal, attempt: 1 }, () => void scheduler.runNow(entry, pass, { kind: 'watch' }));
      }
      const alerter = new Alerter({ log, consoleUrl: process.env.REKEY_CONSOLE_URL, ledger: runtime.ledger });
      for (const l of loaded) alerter.add(l.def.pipeline, l.alerts);
      scheduler.onPassEnd((end) => alerter.passEnded(end));
      const readiness = new Readiness(watched, log);
      scheduler.onPassEnd((end) => {
        metrics.passEnded(end);
        readiness.passEnded(end);
      });
      const kept = withLanes(loaded);
      const intake = new Intake(
        loaded.map((l) => ({ name: l.def.pipeline, source: l.source, mapping: l.mapping })),
        { ledger: runtime.ledger, actor: id, log, wake: (name) => wakes.get(name)?.() ?? Promise.resolve(), isRunning: (name) => scheduler.pipelines.some((p) => p.name === name && p.running) },
      );
      const windDown = async () => {
        await intake.stop();
        await scheduler.stop();
        await alerter.settled();
      };
      // The port is taken before any work starts: a serve that cannot listen (the port in use, say) reads
      // nothing, stops what it set up and exits, rather than working on unseen and deaf to signals.
      const server = await startServer({ host: opts.host, port: Number(opts.port), scheduler, ledger: runtime.ledger, controls: () => pipelineControls(runtime.store), log, routes: [intake.routes, (app) => registerConsole(app, { runtime, pipelines: kept, scheduler, steering, readiness, log, piiKey: key, users, pages: CONSOLE_PAGES })], metrics, readiness, trustProxy }).catch(async (e: unknown) => {
        abort.abort();
        await windDown();
        await pools.close();
        await runtime.close();
        return unhook(e);
      });
      log.info({ url: server.url, pipelines: loaded.map((l) => l.def.pipeline) }, 'serving');
      for (const run of atStart) void run();
      void readiness.start();
      const purge = scheduler.chore('retention-purge', PURGE_CRON, () => purgeAll(runtime, kept, id, log));
      void purge();
      if (checkpoints) void scheduler.chore('audit-checkpoint', checkpoints.cron, checkpoints.writeNow)();
      await stopped;
      await windDown();
      await checkpoints?.writeNow();
      await pools.close();
      await server.close();
      await readiness.settle();
      await runtime.close();
      log.info('stopped cleanly');
      result.code = 0;
    });
}
