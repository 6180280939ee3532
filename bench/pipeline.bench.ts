/**
 * End-to-end pipeline throughput: an NDJSON file of fixture-shaped
 * submissions through the 12-field mapping into the SQLite target, with the
 * ledger and audit log, mapping on the main thread only and on 2 worker
 * threads; and the same 2-worker run without the ledger, to price it, both
 * bare and with the workers computing the PII hashes the audit log would
 * need (`hashed`, issue 22's baseline).
 * With REKEY_BENCH_ONLY=encryption, the 2-worker run with bodies sealed
 * (as rekey always stores them: on the mapping workers) against the same
 * run with bodies in clear (a bench-only codec, bench/clear-bodies.ts,
 * which gives the workers no key, so they leave bodies clear too), to
 * price encryption at rest. With REKEY_BENCH_ONLY=counts, the 2-worker run
 * with and without the ledger's count triggers, on SQLite and PostgreSQL
 * state, to price counts kept as rows change.
 */
import { BENCH_PII_KEY, benchPassOptions } from './pass-options.js';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { flowPipeline } from '../pipelines/flow/flow-pipeline.js';
import { openRuntime } from '../runner/runtime.js';
import { Ledger } from '../pipelines/ledger/ledger.js';
import { CLEAR_BODIES_FOR_BENCH } from './clear-bodies.js';
import { sealedBodies, type BodyCodec } from '../pipelines/privacy/bodies.js';
import { MappingPool } from '../runner/pool/mapping-pool.js';
import { runPass } from '../pipelines/flow/pass.js';
import { mappingOptions } from '../runner/commands/run.command.js';
import { hasChunks } from '../pipelines/flow/chunks.js';
import type { MappedRecord } from '../connectors/connector.types.js';
import type { MapResult } from '../mappings/index.js';
import { FIELDS, makeSubmissions } from './data.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { cpuClock, threadClock, threadCpuMicros, type ThreadFigures } from './cpu.js';
import { routesBench } from './routes.bench.js';

/** The legacy table's 12 mapped columns (bench/mapping-12.yaml's fields), after CASE_ID and SUBMISSION_KEY. */

/** Writes `total` fixture-shaped submissions (unique references) to `dir`/submissions.ndjson and returns its path. */
export async function writeInput(dir: string, total: number): Promise<string> {
  const file = join(dir, 'submissions.ndjson');
  const out = createWriteStream(file);
  for (let done = 0; done < total; done += 10_000) {
    const part = makeSubmissions(Math.min(10_000, total - done), 42 + done, done);
    if (!out.write(part.map((s) => JSON.stringify(s)).join('\n') + '\n')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

/** Writes `base`/`name`.yaml, a pipeline of `input` through the 12-field mapping into a SQLite legacy table (`base`/`name`.legacy.sqlite, table LEGACY, created by `name`.sql), batches of 2,000; returns its path. */
export function pipelineDir(base: string, name: string, input: string): string {
  writeFileSync(join(base, `${name}.sql`), `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`);
  writeFileSync(
    join(base, `${name}.yaml`),
    [
      `pipeline: bench-${name}`,
      `mapping: ${join(repoRoot(), 'bench/mapping-12.yaml')}`,
      `source: { kind: file, config: { path: ${input} } }`,
      `target: { kind: sqlite, config: { path: ./${name}.legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./${name}.sql } }`,
      'batch: { size: 2000 }',
      '',
    ].join('\n'),
  );
  return join(base, `${name}.yaml`);
}

const key = BENCH_PII_KEY;

/** How a run stores bodies: as rekey does (`sealed`), or `clear` (bench only), to price encryption at rest. */
type Bodies = 'sealed' | 'clear';

/** Main-thread CPU time spent sealing bodies, summed over runs (bench only: it wraps rekey's own codec). */
interface SealClock {
  micros: number;
  bodies: number;
}

/**
 * `codec` timed into `clock`: two clock reads per batch, none per body.
 * Its worker key goes on, so the workers still seal and only what the main
 * thread seals itself (none but conflicts, in the chunked path) is timed.
 */
function timedCodec(codec: BodyCodec, clock: SealClock): BodyCodec {
  return {
    workerKey: codec.workerKey,
    storable: codec.storable && ((row) => codec.storable!(row)),
    seal(pipeline, place, items) {
      const t0 = threadCpuMicros();
      const out = codec.seal(pipeline, place, items);
      clock.micros += threadCpuMicros() - t0;
      clock.bodies += items.length;
      return out;
    },
    open: (pipeline, place, key, row) => codec.open(pipeline, place, key, row),
  };
}

/** A run's figure, with the main thread's own CPU time per record (the thread that serves the ledger). */
export type LedgerFigure = Figure & {
  mainThreadCpuMicrosPerRecord: number;
  /** By thread (`threadClock`), CPU µs per record and µs waiting for a core: with 2 workers, `worker 1` and `worker 2` map, `worker 3` is the ledger's thread and `worker 4` the Merkle thread; `v8` is mostly garbage collection. */
  threads: ThreadFigures;
};

/**
 * Where a run keeps its state: SQLite in the run's folder unless `stateUrl`
 * names another store; `countTriggers: false` drops migration 0016's
 * triggers first; `ledgerThread: false` keeps the ledger's writes on the
 * main thread where a runner would put them on a thread of their own
 * (runs with workers on a SQLite file; the design before issue 22's).
 */
interface StateChoice {
  stateUrl?: string;
  countTriggers?: boolean;
  ledgerThread?: boolean;
}

/**
 * One pass over `input` with the ledger and audit log, mapping on `threads`
 * worker threads (0: the main thread), into the SQLite target's table
 * LEGACY in `base`/`name`.legacy.sqlite (key column SUBMISSION_KEY, the
 * ledger key `form_name/submission_reference`); state in
 * `base`/`name`.state.sqlite unless `state` says otherwise. Throws unless
 * all `total` submissions were delivered.
 */
export async function withLedger(base: string, name: string, input: string, total: number, threads: number, bodies: Bodies = 'sealed', clock?: SealClock, state: StateChoice = {}): Promise<LedgerFigure> {
  const loaded = await loadPipelineFile(pipelineDir(base, name, input));
  if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const runtime = await openRuntime(state.stateUrl ?? `sqlite:${join(base, `${name}.state.sqlite`)}`);
  if (state.countTriggers === false) {
    for (const op of ['insert', 'update', 'delete']) await runtime.store.exec(`DROP TRIGGER ledger_counts_${op}${runtime.store.dialect === 'postgres' ? ' ON ledger' : ''}`);
  }
  const pool = threads ? new MappingPool(loaded.pipeline.mappingFile, threads, key) : undefined;
  if (pool) await pool.mapMany([]);
  const injected = bodies === 'clear' ? CLEAR_BODIES_FOR_BENCH : clock ? timedCodec(sealedBodies(runtime.ledger.keys), clock) : undefined;
  // As `rekey run` does: with workers, the ledger's writes on a thread of their own (on a SQLite file); the bench's own codecs keep them here.
  const threaded = threads > 0 && !injected && state.ledgerThread !== false;
  const ledger = injected ? new Ledger(runtime.store, runtime.audit, runtime.ledger.keys, { bodies: injected }) : threaded ? await runtime.threadedLedger() : runtime.ledger;
  const cpu = cpuClock();
  const byThread = threadClock();
  const main0 = threadCpuMicros();
  const t0 = process.hrtime.bigint();
  const r = await runPass(flowPipeline(loaded.pipeline), ledger, { ...benchPassOptions(), ...mappingOptions(pool, loaded.pipeline.mapping, key) });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuMicrosPerRecord = cpu(total);
  const mainThreadCpuMicrosPerRecord = (threadCpuMicros() - main0) / total;
  const perThread = byThread(total);
  await pool?.close();
  await runtime.close();
  if (r.delivered !== total) throw new Error(`${name}: delivered ${r.delivered} of ${total}`);
  const onMain = threads > 0 && !threaded && !state.stateUrl;
  const what = [bodies === 'clear' ? 'ledger and audit, bodies in clear (bench only)' : 'ledger and audit', onMain ? 'on the main thread' : '', state.stateUrl ? 'state on PostgreSQL' : '', state.countTriggers === false ? 'no count triggers' : '']
    .filter(Boolean)
    .join(', ');
  const figure = { name: `${name} (${threads ? `${threads} workers` : 'main thread only'}, ${what})`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord };
  return { ...figure, mainThreadCpuMicrosPerRecord, threads: perThread };
}

/**
 * One pass over `input` without the ledger or the audit log: read, map on
 * `threads` workers, insert into the SQLite target. With `piiKey`, the
 * workers also compute what the audit log would need (each submission's
 * PII hashes and the hash of the record as sent, besides the content hash
 * every run computes), so that the ledger is priced against a baseline
 * doing the same hashing (issue 22).
 */
async function withoutLedger(base: string, name: string, input: string, total: number, threads: number, piiKey?: Buffer): Promise<Figure> {
  const loaded = await loadPipelineFile(pipelineDir(base, name, input));
  if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const { source, target, mapping } = loaded.pipeline;
  if (!hasChunks(source)) throw new Error('the file source offers no chunks');
  const pool = new MappingPool(loaded.pipeline.mappingFile, threads, piiKey);
  await pool.mapMany([]);
  const ctx = { log: pino({ level: 'warn' }), signal: new AbortController().signal, attempt: 1 };
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  await target.connect(ctx);
  let delivered = 0;
  const queue: ReturnType<MappingPool['mapChunk']>[] = [];
  const settle = async () => {
    const r = await queue.shift()!;
    const results = JSON.parse(r.results) as MapResult[];
    const batch: MappedRecord[] = results.map((x, i) => ({ key: r.keys[i]!, record: x.record, children: x.children, mappingVersion: mapping.version, uncertain: false }));
    for (let i = 0; i < batch.length; i += 2000) delivered += (await target.deliver(batch.slice(i, i + 2000), ctx)).filter((o) => o.status === 'delivered').length;
  };
  for await (const chunk of source.chunks(ctx)) {
    queue.push(pool.mapChunk(chunk));
    if (queue.length >= threads * 2) await settle();
  }
  while (queue.length) await settle();
  await target.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuMicrosPerRecord = cpu(total);
  await pool.close();
  if (delivered !== total) throw new Error(`${name}: delivered ${delivered} of ${total}`);
  return { name: `${name} (${threads} workers, no ledger${piiKey ? ', with the PII hashes' : ''})`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * Encryption at rest priced in one process: the 2-worker run with bodies
 * in clear and sealed, alternated clear, sealed, sealed, clear (and again
 * for more rounds, REKEY_BENCH_ENCRYPTION_ROUNDS, default 1) so that a
 * drift of the machine weighs on both alike; ratios of the medians.
 */
async function encryptionBench(base: string, input: string, total: number): Promise<Record<string, unknown>> {
  const rounds = Math.max(1, Number(process.env.REKEY_BENCH_ENCRYPTION_ROUNDS ?? 1));
  const clear: LedgerFigure[] = [];
  const sealed: LedgerFigure[] = [];
  const clock: SealClock = { micros: 0, bodies: 0 };
  for (let i = 0; i < rounds; i++) {
    clear.push(await withLedger(base, `clear${2 * i + 1}`, input, total, 2, 'clear'));
    sealed.push(await withLedger(base, `sealed${2 * i + 1}`, input, total, 2, 'sealed', clock, MAIN_LEDGER));
    sealed.push(await withLedger(base, `sealed${2 * i + 2}`, input, total, 2, 'sealed', clock, MAIN_LEDGER));
    clear.push(await withLedger(base, `clear${2 * i + 2}`, input, total, 2, 'clear'));
  }
  // Bodies the main thread sealed itself (the workers seal the rest): none in this run, so no CPU a body to report.
  const sealMicrosPerBody = clock.bodies ? clock.micros / clock.bodies : null;
  const rate = (fs: Figure[]) => median(fs.map((f) => f.perSecond));
  const cpu = (fs: Figure[]) => median(fs.map((f) => f.cpuMicrosPerRecord!));
  const mainCpu = (fs: LedgerFigure[]) => median(fs.map((f) => f.mainThreadCpuMicrosPerRecord));
  return {
    benchmark: 'pipeline',
    figures: [...clear, ...sealed],
    ratios: {
      // Throughput with encryption over throughput without (1 = free).
      sealedVsClear: rate(sealed) / rate(clear),
      // What encryption adds to the time a submission takes.
      encryptionCost: rate(clear) / rate(sealed) - 1,
      // What it adds to the CPU a submission takes.
      encryptionCostByCpu: cpu(sealed) / cpu(clear) - 1,
      // What it adds to the CPU of the main thread, which serves the ledger and bounds the 2-worker run.
      encryptionCostByMainThreadCpu: mainCpu(sealed) / mainCpu(clear) - 1,
    },
    // Main-thread CPU sealing a body, for bodies the main thread sealed (the workers seal those they map).
    sealMicrosPerBody,
    bodiesSealedOnMainThread: clock.bodies,
    mainThreadCpuMicrosPerRecord: { clear: clear.map((f) => f.mainThreadCpuMicrosPerRecord), sealed: sealed.map((f) => f.mainThreadCpuMicrosPerRecord) },
    goals: { encryptionCost: '<= 0.10' },
  };
}

/** A PostgreSQL state URL in a schema of its own, for one run; `dropSchema` removes it after. */
function pgState(name: string): string {
  const url = new URL(process.env.REKEY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.searchParams.set('schema', `rekey_bench_${name}`);
  return url.href;
}

async function dropSchema(name: string): Promise<void> {
  const runtime = await openRuntime(pgState(name));
  try {
    await runtime.store.exec(`DROP SCHEMA rekey_bench_${name} CASCADE`);
  } finally {
    await runtime.close();
  }
}

/**
 * What keeping the ledger's counts by state costs a pass (migration 0016's
 * triggers), on SQLite and on PostgreSQL state: the 2-worker run with the
 * triggers and with them dropped, alternated with, without, without, with
 * (REKEY_BENCH_COUNTS_ROUNDS times, default 1) on each store.
 */
async function countsBench(base: string, input: string, total: number): Promise<Record<string, unknown>> {
  const rounds = Math.max(1, Number(process.env.REKEY_BENCH_COUNTS_ROUNDS ?? 1));
  const figures: LedgerFigure[] = [];
  const ratios: Record<string, number> = {};
  for (const store of ['sqlite', 'postgres'] as const) {
    const runs: Record<'with' | 'without', LedgerFigure[]> = { with: [], without: [] };
    let n = 0;
    for (let i = 0; i < rounds; i++) {
      for (const kind of ['with', 'without', 'without', 'with'] as const) {
        const name = `counts_${store}_${kind}_${++n}`;
        const stateUrl = store === 'postgres' ? pgState(name) : undefined;
        try {
          runs[kind].push(await withLedger(base, name, input, total, 2, 'sealed', undefined, { stateUrl, countTriggers: kind === 'with' }));
        } finally {
          if (stateUrl) await dropSchema(name);
        }
      }
    }
    figures.push(...runs.with, ...runs.without);
    const rate = (fs: Figure[]) => median(fs.map((f) => f.perSecond));
    // Throughput with the count triggers over throughput without (1 = free).
    ratios[`${store}WithVsWithout`] = rate(runs.with) / rate(runs.without);
  }
  return { benchmark: 'pipeline', figures, ratios };
}

/** The ledger's writes on the main thread (the bench's clear codec runs there, so runs priced against it do too). */
const MAIN_LEDGER: StateChoice = { ledgerThread: false };

/** Runs the pipeline benchmark over `total` submissions. */
export async function pipelineBench(total = 1_000_000): Promise<Record<string, unknown>> {
  // Routes have a benchmark of their own (bench/routes.bench.ts, `npm run bench -- routes`), 100,000 submissions unless told.
  if (process.env.REKEY_BENCH_ONLY === 'routes') return routesBench(Number(process.env.REKEY_BENCH_RECORDS ?? 100_000));
  const base = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-'));
  try {
    const input = await writeInput(base, total);
    const only = process.env.REKEY_BENCH_ONLY;
    if (only === 'encryption') return await encryptionBench(base, input, total);
    if (only === 'counts') return await countsBench(base, input, total);
    if (only) {
      const run = {
        main: () => withLedger(base, 'main', input, total, 0),
        workers: () => withLedger(base, 'workers', input, total, 2),
        'workers-main-ledger': () => withLedger(base, 'unthreaded', input, total, 2, 'sealed', undefined, MAIN_LEDGER),
        bare: () => withoutLedger(base, 'bare', input, total, 2), hashed: () => withoutLedger(base, 'hashed', input, total, 2, key),
      }[only];
      if (!run) throw new Error(`REKEY_BENCH_ONLY must be main, workers, workers-main-ledger, bare, hashed, encryption, counts or routes, got ${only}`);
      return { benchmark: 'pipeline', figures: [await run()], note: 'one configuration only (REKEY_BENCH_ONLY): no ratios' };
    }
    const main = await withLedger(base, 'main', input, total, 0);
    const workers = await withLedger(base, 'workers', input, total, 2);
    const mainLedger = await withLedger(base, 'unthreaded', input, total, 2, 'sealed', undefined, MAIN_LEDGER);
    const bare = await withoutLedger(base, 'bare', input, total, 2);
    const hashed = await withoutLedger(base, 'hashed', input, total, 2, key);
    const clear = await withLedger(base, 'clear', input, total, 2, 'clear');
    return {
      benchmark: 'pipeline',
      figures: [main, workers, mainLedger, bare, hashed, clear],
      ratios: {
        twoWorkersVsMainThread: workers.perSecond / main.perSecond,
        // The ledger's writes on a thread of their own against the same run with them on the main thread (issue 22's design change).
        ledgerThreadVsMainThread: workers.perSecond / mainLedger.perSecond,
        ledgerCost: 1 - workers.perSecond / bare.perSecond,
        // What the ledger would cost were both runs bound by CPU alone: its share of the CPU a submission takes.
        ledgerCostByCpu: 1 - bare.cpuMicrosPerRecord! / workers.cpuMicrosPerRecord!,
        // Issue 22's measure: the ledger against a baseline whose workers compute the same PII hashes.
        ledgerCostVsHashed: 1 - workers.perSecond / hashed.perSecond,
        // What sealing bodies adds to a submission's time (2 workers, the ledger on the main thread as the clear codec runs, one pair; REKEY_BENCH_ONLY=encryption alternates runs).
        encryptionCost: clear.perSecond / mainLedger.perSecond - 1,
      },
      // Issue 22's measure of the main thread's share: its own CPU a submission in the 2-worker run.
      mainThreadMicrosTwoWorkers: workers.mainThreadCpuMicrosPerRecord,
      goals: { twoWorkersVsMainThread: '>= 1.6', ledgerCost: '< 0.30', ledgerCostVsHashed: '<= 0.40', encryptionCost: '<= 0.10', mainThreadMicrosTwoWorkers: '<= 15' },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
