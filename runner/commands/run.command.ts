/**
 * `rekey run PIPELINE`: one pass of a pipeline: read its source into the
 * ledger, deliver what is due, print the reconciliation summary and the
 * submissions it rejected or dead-lettered (see `run.summary.ts`). Exit 1
 * when anything was rejected, dead-lettered, unreadable or in conflict.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { formatProblem, type CompiledMapping } from '../../mappings/index.js';
import { progressBar } from '../progress-bar.js';
import { runPass } from '../../pipelines/flow/pass.js';
import type { PassOptions, PassResult } from '../../pipelines/flow/flow.types.js';
import { loadPipelineFile, type LoadedPipeline } from '../pipeline-files.js';
import { createLogger } from '../logging.js';
import type { Logger } from 'pino';
import { flowPipeline, routedPipeline } from '../../pipelines/flow/flow-pipeline.js';
import { runRoutedPass, type RoutedPassResult } from '../../pipelines/flow/routes.js';
import type { StateStore } from '../../pipelines/store/state-store.js';
import { CRASH_ENV, crashHook } from '../../pipelines/flow/crash-points.js';
import { durationOption, openRuntime, piiHasher, piiKey, runnerId } from '../runtime.js';
import { defaultThreads, MappingPool } from '../pool/mapping-pool.js';
import { chunkParser, mapChunk } from '../../pipelines/flow/chunk-map.js';
import type { CommandResult } from '../cli.js';
import { countRunProblems, runProblems } from '../../pipelines/ledger/run-problems.js';
import { hasProblems, renderProblems, writeJsonSummary } from './run.summary.js';
import { pipelineControl, type PipelineControl } from '../../pipelines/ledger/controls.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import { operatorActor } from './status.command.js';

interface RunOptions {
  state?: string;
  json?: boolean;
  wait?: string;
  lease?: string;
  workers?: number;
  evenIfPaused?: boolean;
  operator?: string;
}

/**
 * Where a pass maps: on worker threads when there is a pool (made with the
 * same PII key), else on this thread (bytes either way); chunks are hashed
 * for the audit log with `piiKey` where they are mapped.
 */
export function mappingOptions(pool: MappingPool | undefined, mapping: CompiledMapping, piiKey: Buffer): Pick<PassOptions, 'mapMany' | 'mapChunk' | 'chunksInFlight'> {
  if (!pool) return { mapChunk: async (chunk, seal) => mapChunk(mapping, await chunkParser(chunk.parser), { ...chunk, piiKey, seal }), chunksInFlight: 1 };
  return { mapMany: (bodies) => pool.mapMany(bodies), mapChunk: (chunk, seal) => pool.mapChunk(chunk, seal), chunksInFlight: pool.threads * 2 };
}

/** Whether a pass's result calls for a non-zero exit. */
export function passFailed(r: PassResult): boolean {
  return r.rejected + r.dead + (r.rejectedByLegacy ?? 0) + r.unreadable + r.conflicts > 0;
}

/** The summary as a person reads it. */
export function renderSummary(name: string, r: PassResult): string {
  const rows: [string, number][] = [
    ['read', r.read],
    ['received new', r.receivedNew],
    ['duplicates', r.duplicates],
    ['conflicts', r.conflicts],
    ['unreadable', r.unreadable],
    ['rejected', r.rejected],
    ['delivered', r.delivered],
    ['failed (retried)', r.failed],
    ['dead-lettered', r.dead],
    ['waiting to retry', r.waitingRetry],
  ];
  if (r.confirmed) rows.push(['confirmed (answer)', r.confirmed]);
  if (r.rejectedByLegacy) rows.push(['rejected (answer)', r.rejectedByLegacy]);
  let out = `\n${name}: run ${r.runId}\n`;
  for (const [k, v] of rows) out += `  ${k.padEnd(18)} ${String(v).padStart(8)}\n`;
  if (r.windowClosedUntil) out += `  the write window is closed; nothing delivered; it opens ${r.windowClosedUntil}\n`;
  return out;
}

/** The refusal of `rekey run` for a paused pipeline: who paused it, when, why, and the ways on. */
export function pausedError(c: PipelineControl): PipelineError {
  return new PipelineError(
    PipelineCodes.PIPELINE_PAUSED,
    `pipeline ${c.pipeline} is paused since ${c.since.toISOString()} by ${c.by} (${c.reason ?? 'no reason given'}); no pass was run. rekey resume ${c.pipeline} lets it run again; --even-if-paused runs this one pass without resuming it`,
  );
}

/** Registers `run` on the program. */
export function runCommand(program: Command, result: CommandResult): void {
  program
    .command('run')
    .description('run one pass of a pipeline and print its reconciliation summary')
    .argument('<pipeline>', 'pipeline file (YAML)')
    .option('--state <url>', 'state store URL (default: REKEY_STATE_URL or .rekey/state.sqlite)')
    .option('--json', 'print the summary as JSON, with every rejected or dead-lettered submission in "problems"')
    .option('--wait <duration>', 'keep retrying failures that come due within this time (e.g. 30s, 5m)', '0s')
    .option('--lease <duration>', 'how long this runner holds claimed submissions', '60s')
    .option('--workers <n>', 'mapping worker threads (default: the pipeline\'s workers, else one per core; 0: map on the main thread)', (v) => Number.parseInt(v, 10))
    .option('--even-if-paused', 'run the pass even though the pipeline is paused (it stays paused)')
    .option('--operator <name>', 'who is running it, recorded on the run (default: $USER)')
    .addHelpText(
      'after',
      [
        '',
        'Below the counts, the text summary lists the first 20 submissions the pass',
        'rejected or dead-lettered (reference, field, reason; never a value) and how',
        'to list the rest: rekey dlq list PIPELINE --rejected.',
        'A paused pipeline (rekey pause) is refused with PIPELINE_PAUSED and exit 1,',
        'nothing run, unless --even-if-paused is given.',
        'Exit 0: nothing needs a person; 1: something was rejected, dead-lettered,',
        'unreadable or in conflict, the pass stopped on an error, or the pipeline',
        'is paused; 2: usage error.',
      ].join('\n'),
    )
    .action(async (file: string, opts: RunOptions) => {
      const loaded = await loadPipelineFile(file);
      if (!loaded.pipeline) {
        for (const p of loaded.problems) process.stderr.write(`${formatProblem(p)}\n`);
        result.code = 1;
        return;
      }
      const lp = loaded.pipeline;
      const log = createLogger({ secrets: lp.secrets });
      // From here to the end the signals drain rather than kill: during start-up (opening and migrating the
      // state store) the pass then reads nothing; during closing down the work is already done.
      const abort = new AbortController();
      let phase: 'starting' | 'pass' | 'closing' = 'starting';
      const stop = (signal: string) => {
        const said = { starting: 'stopping: the pass will not start; nothing is read', pass: 'stopping: finishing the batch in hand; nothing read is lost', closing: 'stopping: the pass is over, closing down' }[phase];
        log.warn({ signal }, said);
        abort.abort();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        result.code = await runPipeline(lp, opts, log, abort.signal, () => (phase = 'pass'), () => (phase = 'closing'));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

/** `rekey run` once the pipeline is loaded and the signals are handled: open the state store, run the pass, print its summary, close. */
async function runPipeline(lp: LoadedPipeline, opts: RunOptions, log: Logger, signal: AbortSignal, passStarts: () => void, closing: () => void): Promise<number> {
  const runtime = await openRuntime(opts.state, log);
  const control = opts.evenIfPaused ? null : await pipelineControl(runtime.store, lp.def.pipeline).catch(async (e: unknown) => {
    await runtime.close();
    throw e;
  });
  if (control?.paused) {
    await runtime.close();
    throw pausedError(control);
  }
  const threads = opts.workers ?? lp.def.workers ?? defaultThreads();
  const key = piiKey(log);
  const crash = crashHook(process.env[CRASH_ENV]);
  const pool = threads > 0 && !lp.routes ? new MappingPool(resolve(lp.mappingFile), threads, key, lp.mapping.version) : undefined;
  const bar = progressBar(!opts.json && process.stderr.isTTY === true);
  try {
    const id = runnerId();
    const passOptions: PassOptions = {
      owner: id,
      actor: id,
      trigger: { kind: 'cli', by: operatorActor(opts.operator) },
      log,
      signal,
      leaseMs: durationOption('--lease', opts.lease ?? '60s'),
      retryWaitMs: durationOption('--wait', opts.wait ?? '0s'),
      piiHash: piiHasher(key),
      crash,
      onProgress: (p) => bar.update(p),
      ...mappingOptions(pool, lp.mapping, key),
    };
    if (signal.aborted) {
      process.stderr.write('rekey: stopped by a signal before the pass started; nothing was read\n');
      return 0;
    }
    passStarts();
    if (lp.routes) {
      const routed = await runRoutedPass(routedPipeline({ ...lp, routes: lp.routes }), runtime.ledger, passOptions);
      bar.stop();
      return await reportRouted(runtime.ledger.store, lp.def.pipeline, routed, opts.json === true);
    }
    const flow = flowPipeline(lp);
    const summary = await runPass(flow, pool ? await runtime.threadedLedger() : runtime.ledger, passOptions);
    bar.stop();
    const problems = async function* (pageSize: number) {
      if (hasProblems(summary)) yield* runProblems(runtime.ledger.store, summary.runId, { pageSize });
    };
    if (opts.json) await writeJsonSummary(process.stdout, flow.name, summary, problems(200));
    else process.stdout.write(renderSummary(flow.name, summary) + (await renderProblems(flow.name, problems(2), () => countRunProblems(runtime.ledger.store, summary.runId))));
    return passFailed(summary) ? 1 : 0;
  } finally {
    closing();
    bar.stop();
    await pool?.close();
    await runtime.close();
  }
}

/** Whether a routed pass calls for a non-zero exit: its reading, or any route, needs a person, or a route stopped on an error. */
export function routedPassFailed(r: RoutedPassResult): boolean {
  return passFailed(r.intake) || r.routes.some((x) => x.error !== undefined || (x.result !== undefined && passFailed(x.result)));
}

/** The summary of a routed pass as a person reads it: the cases read, then each route's deliveries. */
export function renderRoutedSummary(name: string, r: RoutedPassResult): string {
  const i = r.intake;
  let out = `\n${name}: run ${i.runId} (cases)\n`;
  const rows: [string, number][] = [
    ['read', i.read],
    ['new cases', i.receivedNew],
    ['duplicates', i.duplicates],
    ['conflicts', i.conflicts],
    ['unreadable', i.unreadable],
    ['no route applies', i.rejected],
  ];
  for (const [k, v] of rows) out += `  ${k.padEnd(18)} ${String(v).padStart(8)}\n`;
  out += `\n  ${'ROUTE'.padEnd(18)} ${'TOLD'.padStart(8)} ${'DELIVERED'.padStart(10)} ${'REJECTED'.padStart(9)} ${'RETRYING'.padStart(9)} ${'DEAD'.padStart(6)}\n`;
  for (const x of r.routes) {
    const s = x.result;
    const told = String(r.told[x.name] ?? 0).padStart(8);
    if (!s) out += `  ${x.name.padEnd(18)} ${told} stopped: ${x.error?.code ?? 'error'}: ${x.error?.message ?? ''}\n`;
    else out += `  ${x.name.padEnd(18)} ${told} ${String(s.delivered).padStart(10)} ${String(s.rejected + (s.rejectedByLegacy ?? 0)).padStart(9)} ${String(s.waitingRetry).padStart(9)} ${String(s.dead).padStart(6)}${s.windowClosedUntil ? `  (window closed until ${s.windowClosedUntil})` : ''}\n`;
  }
  return out;
}

/** Prints a routed pass (text, or JSON with each part's problems) and resolves the exit code. */
async function reportRouted(store: StateStore, name: string, r: RoutedPassResult, json: boolean): Promise<number> {
  const parts = [{ name, runId: r.intake.runId, summary: r.intake }, ...r.routes.flatMap((x) => (x.result ? [{ name: x.lane, runId: x.result.runId, summary: x.result }] : []))];
  if (json) {
    const out: Record<string, unknown> = { pipeline: name, cases: r.intake, told: r.told, routes: [] as unknown[] };
    const problemsOf = async (runId: string, summary: PassResult) => {
      const list: unknown[] = [];
      if (hasProblems(summary)) for await (const page of runProblems(store, runId, { pageSize: 200 })) list.push(...page);
      return list;
    };
    out.problems = await problemsOf(r.intake.runId, r.intake);
    for (const x of r.routes) (out.routes as unknown[]).push({ route: x.name, lane: x.lane, ...(x.result && { ...x.result, problems: await problemsOf(x.result.runId, x.result) }), ...(x.error && { error: x.error }) });
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    let text = renderRoutedSummary(name, r);
    for (const part of parts) {
      if (!hasProblems(part.summary)) continue;
      const pages = runProblems(store, part.runId, { pageSize: 200 });
      text += (await renderProblems(part.name, pages, () => countRunProblems(store, part.runId))).replace(/^\nrejected or dead-lettered/, `\n${part.name}: rejected or dead-lettered`);
    }
    process.stdout.write(text);
  }
  return routedPassFailed(r) ? 1 : 0;
}
