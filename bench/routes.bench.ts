/**
 * Routes (issue 19): the same submissions through a pipeline with one route
 * (SQLite) and through one with three (SQLite, file drop, SQLite), each run
 * as `rekey run` runs a routed pipeline (`runRoutedPass(routedPipeline(...))`)
 * on a fresh SQLite state store, alternated one, three, one, three (and again
 * for more rounds, REKEY_BENCH_ROUTES_ROUNDS, default 1), after one untimed
 * run of each on up to 10,000 submissions; and, as a reference,
 * the plain single-target pass (`runPass`, main thread, as `rekey run` maps
 * without workers) before and after them. Every route maps with the same
 * 12-field mapping. Goal: three routes cost at most 2.2 times one route, since
 * the shared work (reading, keying, the case) is done once. Each run checks
 * that every lane holds every submission delivered once, that each legacy
 * table holds one row a submission and that the dropped file holds one record
 * a submission. Each routed figure also says where its time went: the
 * reading, with the routes delivering beside it what it admits for them,
 * then the routes' delivery passes finishing (timed at the reading's
 * `finishRun`, the first run of the pass to finish).
 */
import { FIELDS } from './data.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineFile } from '../runner/pipeline-files.js';
import { flowPipeline, routedPipeline } from '../pipelines/flow/flow-pipeline.js';
import { runRoutedPass } from '../pipelines/flow/routes.js';
import { runPass } from '../pipelines/flow/pass.js';
import { openRuntime } from '../runner/runtime.js';
import { mappingOptions } from '../runner/commands/run.command.js';
import { openStateStore, type StateStore } from '../pipelines/store/state-store.js';
import type { Ledger } from '../pipelines/ledger/ledger.js';
import { BENCH_PII_KEY, benchPassOptions } from './pass-options.js';
import { writeInput } from './pipeline.bench.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { cpuClock, threadCpuMicros } from './cpu.js';


/** A run's figure with the main thread's own CPU: µs a submission, and its share of the run's time (what is left, the main thread waited). */
type MainFigure = Figure & { mainThreadCpuMicrosPerRecord: number; mainThreadBusy: number };

/** A routed run's figure, with the time of its reading (the routes delivering beside it) and of what the routes did after it. */
type RoutedFigure = MainFigure & { phases: Record<string, number> };

/** The SQL that makes a legacy table (one row a submission, its key unique). */
function legacySql(base: string): string {
  const file = join(base, 'legacy.sql');
  writeFileSync(file, `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`);
  return file;
}

const mappingFile = () => join(repoRoot(), 'bench/mapping-12.yaml');
const sqliteTarget = (db: string) => `{ kind: sqlite, config: { path: ./${db}, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./legacy.sql } }`;

/** Writes the pipeline file of run `name`: `routes` as [route name, target] pairs, or none for the plain single-target pipeline. */
function pipelineFile(base: string, name: string, input: string, routes?: [string, string][]): string {
  const lines = [`pipeline: bench-${name}`, `source: { kind: file, config: { path: ${input} } }`, 'batch: { size: 2000 }'];
  if (routes) {
    lines.push('routes:');
    for (const [route, target] of routes) lines.push(`  - route: ${route}`, `    mapping: ${mappingFile()}`, `    target: ${target}`);
  } else lines.push(`mapping: ${mappingFile()}`, `target: ${sqliteTarget(`${name}.legacy.sqlite`)}`);
  const file = join(base, `${name}.yaml`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The routes of a run with `count` routes: SQLite; or SQLite, file drop (one CSV file for the run), SQLite. */
function routesOf(name: string, count: 1 | 3): [string, string][] {
  const first: [string, string] = ['office-a', sqliteTarget(`${name}.a.legacy.sqlite`)];
  if (count === 1) return [first];
  return [first, ['office-b', `{ kind: file-drop, config: { folder: ./${name}.drop, name: "ROUTES_{seq:6}.{ext}", format: { kind: csv } } }`], ['office-c', sqliteTarget(`${name}.c.legacy.sqlite`)]];
}

/** `ledger` with the time of every `finishRun` call noted in `marks` (the reading's, then each lane's pass's). */
function timedLedger(ledger: Ledger, marks: number[]): Ledger {
  return new Proxy(ledger, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'finishRun') {
        return (...args: unknown[]) => {
          marks.push(performance.now());
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** The main thread's figures of a run that took `seconds` and `micros` of the main thread's CPU over `total` submissions. */
function mainOf(micros: number, total: number, seconds: number): { mainThreadCpuMicrosPerRecord: number; mainThreadBusy: number } {
  return { mainThreadCpuMicrosPerRecord: micros / total, mainThreadBusy: micros / 1e6 / seconds };
}

/** Throws unless every lane of `pipeline` holds `total` rows, all delivered, each key once; and nothing else is in the ledger. */
async function checkLanes(store: StateStore, pipeline: string, lanes: string[], total: number): Promise<void> {
  const rows = await store.select<{ pipeline: string; state: string; n: number; keys: number }>('SELECT pipeline, state, COUNT(*) AS n, COUNT(DISTINCT key) AS keys FROM ledger GROUP BY pipeline, state');
  const seen = rows.map((r) => `${r.pipeline}/${r.state}: ${r.n}`).join(', ');
  const want = lanes.map((l) => `${pipeline}~${l}`);
  for (const lane of want) {
    const r = rows.find((x) => x.pipeline === lane && x.state === 'delivered');
    if (!r || Number(r.n) !== total || Number(r.keys) !== total) throw new Error(`${lane}: not every submission delivered once (${seen})`);
  }
  if (rows.some((x) => !(want.includes(x.pipeline) && x.state === 'delivered'))) throw new Error(`${pipeline}: rows outside the lanes' delivered ones (${seen})`);
}

/** Throws unless the legacy table in `db` holds `total` rows with `total` distinct keys. */
async function checkLegacy(db: string, total: number): Promise<void> {
  const store = await openStateStore(`sqlite:${db}`, { migrate: false });
  try {
    const [r] = await store.select<{ n: number; keys: number }>('SELECT COUNT(*) AS n, COUNT(DISTINCT SUBMISSION_KEY) AS keys FROM LEGACY');
    if (Number(r?.n) !== total || Number(r?.keys) !== total) throw new Error(`${db}: ${r?.n} rows, ${r?.keys} keys, want ${total}`);
  } finally {
    await store.close();
  }
}

/** Throws unless `folder` holds one CSV file of `total` records (after its header), each form reference once. */
function checkDrop(folder: string, total: number): void {
  const files = readdirSync(folder).filter((f) => f.endsWith('.csv'));
  if (files.length !== 1) throw new Error(`${folder}: ${files.length} CSV files, want 1`);
  const lines = readFileSync(join(folder, files[0]!), 'utf8').split('\r\n').slice(1, -1);
  const refs = new Set(lines.map((l) => l.slice(0, l.indexOf(','))));
  if (lines.length !== total || refs.size !== total) throw new Error(`${folder}: ${lines.length} records, ${refs.size} references, want ${total}`);
}

/** One run of a routed pipeline with `count` routes on a fresh SQLite state store, timed and checked. */
async function routedRun(base: string, name: string, input: string, total: number, count: 1 | 3): Promise<RoutedFigure> {
  const routes = routesOf(name, count);
  const loaded = await loadPipelineFile(pipelineFile(base, name, input, routes));
  const lp = loaded.pipeline;
  if (!lp?.routes) throw new Error(loaded.problems.map((p) => p.message).join('\n') || `${name}: no routes`);
  const runtime = await openRuntime(`sqlite:${join(base, `${name}.state.sqlite`)}`);
  const marks: number[] = [];
  const opts = { ...benchPassOptions(), ...mappingOptions(undefined, lp.mapping, BENCH_PII_KEY) };
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = cpuClock();
  const main0 = threadCpuMicros();
  const t0 = performance.now();
  const r = await runRoutedPass(routedPipeline({ ...lp, routes: lp.routes }), timedLedger(runtime.ledger, marks), opts);
  const end = performance.now();
  const cpuMicrosPerRecord = cpu(total);
  const mainMicros = threadCpuMicros() - main0;
  try {
    for (const x of r.routes) if (x.error || x.result?.delivered !== total) throw new Error(`${name}: route ${x.name} delivered ${x.result?.delivered ?? 0} of ${total}${x.error ? ` (${x.error.code})` : ''}`);
    if (r.intake.receivedNew !== total) throw new Error(`${name}: ${r.intake.receivedNew} new cases of ${total}`);
    await checkLanes(runtime.store, lp.def.pipeline, routes.map(([route]) => route), total);
  } finally {
    await runtime.close();
  }
  for (const [route] of routes) {
    if (route === 'office-b') checkDrop(join(base, `${name}.drop`), total);
    else await checkLegacy(join(base, `${name}.${route.slice(-1)}.legacy.sqlite`), total);
  }
  const seconds = (end - t0) / 1000;
  // marks: the reading's finishRun, then each lane's (the lanes deliver beside the reading and finish after it).
  if (marks.length !== routes.length + 1) throw new Error(`${name}: ${marks.length} runs finished, want ${routes.length + 1}`);
  const phases: Record<string, number> = { reading: (marks[0]! - t0) / 1000, afterReading: (end - marks[0]!) / 1000 };
  return { name: `${name} (${count} route${count === 1 ? '' : 's'}, main thread)`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord, ...mainOf(mainMicros, total, seconds), phases };
}

/** The plain single-target pass on the same input (SQLite target, main thread, as `rekey run` without workers), checked. */
async function plainRun(base: string, name: string, input: string, total: number): Promise<MainFigure> {
  const loaded = await loadPipelineFile(pipelineFile(base, name, input));
  const lp = loaded.pipeline;
  if (!lp) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const runtime = await openRuntime(`sqlite:${join(base, `${name}.state.sqlite`)}`);
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = cpuClock();
  const main0 = threadCpuMicros();
  const t0 = performance.now();
  const r = await runPass(flowPipeline(lp), runtime.ledger, { ...benchPassOptions(), ...mappingOptions(undefined, lp.mapping, BENCH_PII_KEY) });
  const seconds = (performance.now() - t0) / 1000;
  const cpuMicrosPerRecord = cpu(total);
  const mainMicros = threadCpuMicros() - main0;
  await runtime.close();
  if (r.delivered !== total) throw new Error(`${name}: delivered ${r.delivered} of ${total}`);
  await checkLegacy(join(base, `${name}.legacy.sqlite`), total);
  return { name: `${name} (plain pipeline, no routes, main thread)`, records: total, seconds, perSecond: total / seconds, cpuMicrosPerRecord, ...mainOf(mainMicros, total, seconds) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Submissions through each shape's untimed warm-up run. */
const WARM_RECORDS = 10_000;

/** Runs the routes benchmark over `total` submissions. */
export async function routesBench(total = 100_000): Promise<Record<string, unknown>> {
  const base = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-routes-'));
  try {
    const input = await writeInput(base, total);
    legacySql(base);
    const rounds = Math.max(1, Number(process.env.REKEY_BENCH_ROUTES_ROUNDS ?? 1));
    const plain: MainFigure[] = [await plainRun(base, 'plain1', input, total)];
    // Untimed: one run of each shape on a smaller input first, so that neither timed shape pays for the code both run
    // being compiled (the first timed one-route run was otherwise about a quarter slower than the second, lowering the ratio).
    const warm = join(base, 'warm');
    mkdirSync(warm);
    legacySql(warm);
    const warmInput = await writeInput(warm, Math.min(total, WARM_RECORDS));
    for (const count of [1, 3] as const) await routedRun(warm, `warm${count}`, warmInput, Math.min(total, WARM_RECORDS), count);
    const one: RoutedFigure[] = [];
    const three: RoutedFigure[] = [];
    let n = 0;
    for (let i = 0; i < rounds; i++) {
      for (const count of [1, 3, 1, 3] as const) {
        n++;
        if (count === 1) one.push(await routedRun(base, `one${n}`, input, total, 1));
        else three.push(await routedRun(base, `three${n}`, input, total, 3));
      }
    }
    plain.push(await plainRun(base, 'plain2', input, total));
    const time = (fs: Figure[]) => median(fs.map((f) => f.seconds));
    const cpu = (fs: Figure[]) => median(fs.map((f) => f.cpuMicrosPerRecord!));
    const mainCpu = (fs: MainFigure[]) => median(fs.map((f) => f.mainThreadCpuMicrosPerRecord));
    return {
      benchmark: 'routes',
      figures: [...plain, ...one, ...three],
      phases: Object.fromEntries([...one, ...three].map((f) => [f.name, f.phases])),
      ratios: {
        // Time of three routes over time of one (medians): the goal's measure.
        threeVsOneByTime: time(three) / time(one),
        threeVsOneByCpu: cpu(three) / cpu(one),
        // The same by the main thread's own CPU: below the ratio by time when a three-route run waits more (see BENCHMARKS.md).
        threeVsOneByMainThreadCpu: mainCpu(three) / mainCpu(one),
        // What one route costs over the plain pipeline on the same input.
        oneRouteVsPlainByTime: time(one) / time(plain),
        oneRouteVsPlainByCpu: cpu(one) / cpu(plain),
      },
      goals: { threeVsOneByTime: '<= 2.2' },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
