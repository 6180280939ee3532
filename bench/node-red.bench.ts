/**
 * `npm run bench -- node-red` (issue 22): rekey against what an ops team
 * would otherwise pick for the same job, a Node-RED flow (bench/node-red.flow.ts),
 * on one NDJSON file. Node-RED and its SQLite node are installed on demand
 * into .bench/node-red/ (never a dependency of rekey); the benchmark skips,
 * saying why, when that install fails. Runs alternate Node-RED, rekey,
 * rekey, Node-RED (REKEY_BENCH_NODE_RED_ROUNDS times, default 1), and every
 * run's table must hold each submission exactly once, and the two tools'
 * rows field for field the same but for those Node-RED garbled (counted),
 * or the benchmark fails.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseSync } from 'node:sqlite';
import { FIELDS } from './data.js';
import { withLedger, writeInput } from './pipeline.bench.js';
import { repoRoot, type Figure } from './mapping.bench.js';
import { ensureNodeRed, NODE_RED_SQLITE_VERSION, NODE_RED_VERSION, type NodeRedInstall } from './node-red.install.js';
import { writeFlow, type FlowOutcome } from './node-red.flow.js';

const BATCH = 2000;
/** How long one Node-RED run may take, start-up included, before the benchmark gives up on it. */
const RUN_TIMEOUT_MS = 30 * 60_000;

/** A Node-RED run's figure, with the start-up time it did not count. */
type NodeRedFigure = Figure & { startupSeconds: number };

const legacyDb = (base: string, name: string) => join(base, `${name}.legacy.sqlite`);

/** Stops `child` with SIGTERM (Node-RED closes its flows and its database), then SIGKILL after 20 s. */
async function stop(child: ReturnType<typeof spawn>, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** One headless Node-RED run of the flow over `input`, into `base`/`name`.legacy.sqlite; throws when the flow fails or does not finish. */
async function nodeRedRun(install: NodeRedInstall, base: string, name: string, input: string, total: number): Promise<NodeRedFigure> {
  const dir = join(base, name);
  mkdirSync(dir);
  const marker = join(dir, 'done.json');
  const settings = writeFlow(dir, { input, db: legacyDb(base, name), marker, fields: FIELDS, batchSize: BATCH });
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [install.redJs, '--settings', settings, '--userDir', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer) => (tail = (tail + b.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    while (!existsSync(marker)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name}: Node-RED exited (${child.exitCode ?? child.signalCode}) before the flow finished:\n${tail}`);
      if (Date.now() - spawnedAt > RUN_TIMEOUT_MS) throw new Error(`${name}: the flow did not finish in ${RUN_TIMEOUT_MS / 60_000} min:\n${tail}`);
      await sleep(50);
    }
  } finally {
    await stop(child, exited);
  }
  const out = JSON.parse(readFileSync(marker, 'utf8')) as FlowOutcome;
  if (out.error !== undefined) throw new Error(`${name}: the Node-RED flow failed: ${out.error}\n${tail}`);
  const { journal_mode: journal, synchronous } = out.pragmas ?? {};
  if (journal !== 'wal' || synchronous !== 2) throw new Error(`${name}: Node-RED's connection ran journal_mode=${String(journal)}, synchronous=${String(synchronous)}, not wal and FULL (2)`);
  if (out.rows !== total) throw new Error(`${name}: the flow committed ${out.rows} rows of ${total}`);
  const seconds = out.seconds!;
  return {
    name: `${name} (Node-RED ${NODE_RED_VERSION} flow, batches of ${BATCH}, start-up not counted)`,
    records: total,
    seconds,
    perSecond: total / seconds,
    cpuMicrosPerRecord: out.cpuMicros! / total,
    startupSeconds: (out.startedAt! - spawnedAt) / 1000,
  };
}

/** Throws unless LEGACY in `db` holds `total` rows with `total` distinct submission keys. */
function checkOnce(db: string, total: number, what: string): void {
  if (!existsSync(db)) throw new Error(`${what}: no table at ${db}`);
  const d = new DatabaseSync(db);
  try {
    const r = d.prepare('SELECT count(*) AS n, count(DISTINCT SUBMISSION_KEY) AS k FROM LEGACY').get() as { n: number; k: number };
    if (r.n !== total || r.k !== total) throw new Error(`${what}: ${r.n} rows and ${r.k} distinct keys for ${total} submissions`);
  } finally {
    d.close();
  }
}

/** How a Node-RED run's rows compare with a rekey run's (key and the 12 fields; CASE_ID aside). */
interface RowComparison {
  /** Node-RED rows with no identical row in rekey's table. */
  differing: number;
  /** Of those, rows holding U+FFFD: a character Node-RED's file-in node broke where it split the file into chunks. */
  garbled: number;
}

/**
 * Compares LEGACY in `nodeRedDb` with LEGACY in `rekeyDb`; throws unless
 * every row that differs is one Node-RED garbled (see RowComparison) and
 * rekey's table holds no U+FFFD at all. Reports counts, never values.
 */
function compareRows(nodeRedDb: string, rekeyDb: string): RowComparison {
  const d = new DatabaseSync(nodeRedDb);
  try {
    d.prepare('ATTACH DATABASE ? AS rekey').run(rekeyDb);
    const cols = ['SUBMISSION_KEY', ...FIELDS];
    const list = cols.join(', ');
    const text = cols.map((c) => `coalesce(${c}, '')`).join(' || ');
    const only = (x: string, y: string) => `SELECT ${list} FROM ${x}.LEGACY EXCEPT SELECT ${list} FROM ${y}.LEGACY`;
    const count = (sql: string) => (d.prepare(`SELECT count(*) AS n FROM (${sql})`).get() as { n: number }).n;
    const differing = count(only('main', 'rekey'));
    const missing = count(only('rekey', 'main'));
    const garbled = count(`SELECT * FROM (${only('main', 'rekey')}) WHERE instr(${text}, char(65533)) > 0`);
    const rekeyGarbled = count(`SELECT 1 FROM rekey.LEGACY WHERE instr(${text}, char(65533)) > 0`);
    if (differing !== missing || differing !== garbled || rekeyGarbled) {
      throw new Error(`${nodeRedDb} and ${rekeyDb} differ: ${differing} and ${missing} rows only in each, ${garbled} of the first holding U+FFFD, ${rekeyGarbled} in rekey's`);
    }
    return { differing, garbled };
  } finally {
    d.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Runs the Node-RED peer benchmark over `total` submissions; a result with `skipped` (and nothing measured) when Node-RED cannot be installed. */
export async function nodeRedBench(total = 100_000): Promise<Record<string, unknown>> {
  const dir = process.env.REKEY_BENCH_NODE_RED_DIR ?? join(repoRoot(), '.bench', 'node-red');
  const install = await ensureNodeRed(dir, (line) => process.stderr.write(`${line}\n`));
  if (typeof install === 'string') {
    process.stderr.write(`node-red bench: skipped: ${install}\n`);
    return { benchmark: 'node-red', skipped: install, markdown: `Skipped: ${install}` };
  }
  const rounds = Math.max(1, Number(process.env.REKEY_BENCH_NODE_RED_ROUNDS ?? 1));
  const base = mkdtempSync(join(process.env.REKEY_BENCH_DIR ?? tmpdir(), 'rekey-bench-node-red-'));
  const loadBefore = loadavg();
  try {
    const input = await writeInput(base, total);
    const nodeRed: NodeRedFigure[] = [];
    const rekey: Figure[] = [];
    const nodeRedRuns: string[] = [];
    let n = 0;
    for (let i = 0; i < rounds; i++) {
      for (const who of ['nodered', 'rekey', 'rekey', 'nodered'] as const) {
        const name = `${who}${++n}`;
        if (who === 'nodered') {
          nodeRed.push(await nodeRedRun(install, base, name, input, total));
          nodeRedRuns.push(name);
        }
        else rekey.push(await withLedger(base, name, input, total, 2));
        checkOnce(legacyDb(base, name), total, name);
      }
    }
    const rows = Object.fromEntries(nodeRedRuns.map((name) => [name, compareRows(legacyDb(base, name), legacyDb(base, 'rekey2'))]));
    const loadAfter = loadavg();
    const rate = (fs: Figure[]) => median(fs.map((f) => f.perSecond));
    const cpu = (fs: Figure[]) => median(fs.map((f) => f.cpuMicrosPerRecord!));
    return {
      benchmark: 'node-red',
      versions: { 'node-red': NODE_RED_VERSION, 'node-red-node-sqlite': NODE_RED_SQLITE_VERSION, node: process.version },
      figures: [...nodeRed, ...rekey],
      ratios: {
        // rekey's 2-worker run with the ledger and audit log over the Node-RED flow, medians (issue 22's goal: at least 1).
        rekeyVsNodeRed: rate(rekey) / rate(nodeRed),
        // The CPU a submission takes in rekey over what it takes in Node-RED (process CPU, every thread).
        rekeyCpuVsNodeRed: cpu(rekey) / cpu(nodeRed),
      },
      nodeRedStartupSeconds: nodeRed.map((f) => f.startupSeconds),
      checks: `every table holds ${total} rows and ${total} distinct keys; each Node-RED table's rows equal rekey2's field for field, but for those listed in nodeRedRowsAgainstRekey`,
      // Node-RED's file-in node decodes each 64 KiB chunk of the file on its own, so a character split between two chunks becomes U+FFFD.
      nodeRedRowsAgainstRekey: rows,
      loadAverage: { before: loadBefore, after: loadAfter },
      goals: { rekeyVsNodeRed: '>= 1.0' },
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
