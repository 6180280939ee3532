/**
 * Several runners on one PostgreSQL (issue 22): the same due work delivered
 * by 1, 2 and 3 `rekey run` processes at once (REKEY_BENCH_RUNNERS, default
 * `1,2,3`), each on a fresh schema of the PostgreSQL at
 * REKEY_BENCH_PG_URL (default the test server) holding the state store and
 * the legacy table. The submissions (bench/data.ts, the 12-field mapping)
 * go into the ledger first, untimed, by a run in a blackout; the source
 * file is then emptied, so the timed runners only claim, map and deliver.
 * The target takes `limits.concurrency` sessions (REKEY_BENCH_CONCURRENCY,
 * default 3) in every run: a limit of the whole cluster, so one runner
 * delivers in 3 loops and three share 3 slots.
 * Timed: from starting the processes to the last one's exit (their start
 * included). CPU per submission: the runners' own (user + system of the
 * children this process reaped, from /proc/self/stat) and the database
 * server's (`cpu.ts`). Each run checks the legacy table holds every
 * submission once. Rounds: REKEY_BENCH_CLUSTER_ROUNDS (default 1), the
 * runner counts alternated within each.
 *
 * A runner's start (loading, its worker threads, connecting, the store's
 * checks) is priced too: each count also runs with nothing due, and that
 * run's CPU and seconds are taken off to give the cost of the work itself
 * (`workCpuMicrosPerRecord`, and the rate over the time left,
 * `workPerSecond`), which is what a cluster of long-running runners pays.
 *
 * A run with nothing due starts no mapping and delivers nothing, so the
 * costs a runner pays once it has work (its workers read and compile the
 * mapping, and every thread's code warms up) stay in the work above. The
 * marginal figures take them off too: each count also runs over three
 * times the submissions (REKEY_BENCH_CLUSTER_LARGE, a number of
 * submissions; 0 leaves it out), and the difference between the two sizes
 * gives what one more submission costs (`marginal`: CPU per submission of
 * the runners and of PostgreSQL, and the rate) and `marginalRatios`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequelize } from 'sequelize';
import { stringify } from 'yaml';
import { FIELDS, makeSubmissions } from './data.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { serverCpuClock } from './cpu.js';
import { rekeyRun } from './rekey-process.js';

const PG_URL = process.env.REKEY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** CPU seconds of the children this process has reaped (cutime + cstime of /proc/self/stat). */
function reapedChildrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** A timed run's figure, with the runners' own CPU in seconds. */
type ClusterFigure = Figure & { runnerCpuSeconds: number; serverCpuSeconds?: number };

/** One timed run of `runners` processes over `records` due submissions (0: nothing due, to price their start); throws unless the legacy table holds each once. */
async function clusterRun(runners: number, records: number, batch: number, concurrency: number): Promise<ClusterFigure> {
  const schema = `rekey_bench_${randomBytes(4).toString('hex')}`;
  const db = new Sequelize(PG_URL, { logging: false });
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-cluster-'));
  try {
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.legacy (CASE_ID SERIAL PRIMARY KEY, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')})`);
    const state = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    const def = {
      pipeline: 'bench-cluster',
      source: { kind: 'file', config: { path: './submissions.ndjson' } },
      mapping: join(repoRoot(), 'bench/mapping-12.yaml'),
      target: { kind: 'sql', config: { url: { env: 'REKEY_LEGACY_URL' }, table: `${schema}.legacy`, keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID' } },
      batch: { size: batch },
      limits: { concurrency },
    };
    const env = { REKEY_LEGACY_URL: PG_URL };
    const today = new Date().toISOString().slice(0, 10);
    writeFileSync(join(dir, 'pipeline.yaml'), stringify({ ...def, window: { timezone: 'UTC', blackout: [today] } }));
    writeFileSync(join(dir, 'submissions.ndjson'), makeSubmissions(records).map((b) => `${JSON.stringify(b)}\n`).join(''));
    const load = await rekeyRun(dir, state, env);
    if (load.code !== 0) throw new Error(`the load run failed: ${load.stderr.slice(-2000)}`);
    writeFileSync(join(dir, 'pipeline.yaml'), stringify(def));
    writeFileSync(join(dir, 'submissions.ndjson'), '');
    const server = serverCpuClock();
    const cpu0 = reapedChildrenCpu();
    const t0 = process.hrtime.bigint();
    const exits = await Promise.all(Array.from({ length: runners }, () => rekeyRun(dir, state, env)));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = reapedChildrenCpu() - cpu0;
    const serverMicros = server(1);
    for (const e of exits) if (e.code !== 0) throw new Error(`a runner failed: ${e.stderr.slice(-2000)}`);
    const [row] = (await db.query(`SELECT count(*)::int AS n, count(DISTINCT submission_key)::int AS k FROM ${schema}.legacy`))[0] as { n: number; k: number }[];
    if (row?.n !== records || row.k !== records) throw new Error(`the legacy table holds ${row?.n} rows (${row?.k} keys), not ${records}`);
    const delivered = exits.map((e) => (JSON.parse(e.stdout) as { delivered: number }).delivered);
    return {
      name: `runners=${runners} (${records ? `delivered ${delivered.join('/')}` : 'nothing due: start only'})`,
      records,
      seconds,
      perSecond: records / seconds,
      ...(records > 0 && { cpuMicrosPerRecord: (cpu * 1e6) / records }),
      runnerCpuSeconds: cpu,
      ...(serverMicros !== undefined && { serverCpuMicrosPerRecord: records ? serverMicros / records : undefined, serverCpuSeconds: serverMicros / 1e6 }),
    };
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

/**
 * Runs 1, 2 and 3 runners (or REKEY_BENCH_RUNNERS) over `records` due
 * submissions each, and each count with nothing due; ratios against one
 * runner, start included (`ratios`) and of the work alone (`workRatios`),
 * with each count's work CPU per submission (`work`).
 */
export async function clusterBench(records = 20_000): Promise<Record<string, unknown>> {
  const counts = (process.env.REKEY_BENCH_RUNNERS ?? '1,2,3').split(',').map(Number);
  const rounds = Number(process.env.REKEY_BENCH_CLUSTER_ROUNDS ?? 1);
  const batch = Number(process.env.REKEY_BENCH_BATCH ?? 500);
  const concurrency = Number(process.env.REKEY_BENCH_CONCURRENCY ?? 3);
  const large = Number(process.env.REKEY_BENCH_CLUSTER_LARGE ?? records * 3);
  const figures: ClusterFigure[] = [];
  const starts: ClusterFigure[] = [];
  const larges: ClusterFigure[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const n of counts) {
      figures.push(await clusterRun(n, records, batch, concurrency));
      starts.push(await clusterRun(n, 0, batch, concurrency));
      if (large > records) larges.push(await clusterRun(n, large, batch, concurrency));
    }
  }
  const of = (list: ClusterFigure[], n: number) => list.filter((f) => f.name.startsWith(`runners=${n} `));
  const work = Object.fromEntries(
    counts.map((n) => {
      const seconds = mean(of(figures, n).map((f) => f.seconds)) - mean(of(starts, n).map((f) => f.seconds));
      const cpu = mean(of(figures, n).map((f) => f.runnerCpuSeconds)) - mean(of(starts, n).map((f) => f.runnerCpuSeconds));
      return [n, { startSeconds: mean(of(starts, n).map((f) => f.seconds)), startCpuSeconds: mean(of(starts, n).map((f) => f.runnerCpuSeconds)), workPerSecond: records / seconds, workCpuMicrosPerRecord: (cpu * 1e6) / records }];
    }),
  ) as Record<number, { workPerSecond: number; workCpuMicrosPerRecord: number }>;
  const rate = (n: number) => mean(of(figures, n).map((f) => f.perSecond));
  const others = counts.filter((n) => n !== 1);
  const ratios = Object.fromEntries(others.map((n) => [`${n}RunnersOverOne`, rate(n) / rate(1)]));
  const workRatios = Object.fromEntries(others.map((n) => [`${n}RunnersOverOne`, work[n]!.workPerSecond / work[1]!.workPerSecond]));
  const marginal =
    larges.length === 0
      ? undefined
      : Object.fromEntries(
          counts.map((n) => {
            const d = (pick: (f: ClusterFigure) => number) => mean(of(larges, n).map(pick)) - mean(of(figures, n).map(pick));
            const extra = large - records;
            const server = d((f) => f.serverCpuSeconds ?? Number.NaN);
            return [n, { perSecond: extra / d((f) => f.seconds), cpuMicrosPerRecord: (d((f) => f.runnerCpuSeconds) * 1e6) / extra, ...(Number.isFinite(server) && { serverCpuMicrosPerRecord: (server * 1e6) / extra }) }];
          }),
        ) as Record<number, { perSecond: number; cpuMicrosPerRecord: number; serverCpuMicrosPerRecord?: number }>;
  const marginalRatios = marginal && Object.fromEntries(others.map((n) => [`${n}RunnersOverOne`, { rate: marginal[n]!.perSecond / marginal[1]!.perSecond, cpu: marginal[n]!.cpuMicrosPerRecord / marginal[1]!.cpuMicrosPerRecord }]));
  return { records, large, batch, concurrency, rounds, figures: [...figures, ...starts, ...larges], ratios, work, workRatios, ...(marginal && { marginal, marginalRatios }) };
}
