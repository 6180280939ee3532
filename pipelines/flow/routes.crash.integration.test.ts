/**
 * Exactly once per route across kill -9 (issue 19): `rekey run` on a
 * pipeline with three routes (two SQLite legacy tables, one of them only
 * for Welsh-language submissions, and a file drop for the others) as a
 * real child process, killed with SIGKILL at named crash points while it
 * reads the source into the lanes (after a batch was recorded in every
 * lane it goes to) and while one route or another delivers, then run again
 * until it finishes, and once more (which finds nothing to do). Afterwards
 * each route's legacy system holds every submission the route applies to
 * exactly once and none other, each lane holds them delivered with one
 * `received` and one `delivered` audit entry each, the pipeline's own
 * ledger holds nothing (every submission had a route), and the audit hash
 * chain verifies. The state store is SQLite, and PostgreSQL (its own
 * schema) at a few of the points when it answers (REKEY_TEST_PG_URL, or the
 * local test database). Needs `npm run build`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Sequelize } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { killPoints, LONG_TESTS } from '../../lib/test-tier.test-helpers.js';
import { stringify } from 'yaml';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, benchLegacyTableSql, keyOf, ledgerRows, ndjson, querySqlite, WorkDir } from '../../connectors/conformance/conformance.run.js';
import type { PassExit } from '../../runner/cli.test-helpers.js';
import { PG_URL, pgSkipReason } from '../store/store.test-helpers.js';

const PIPELINE = 'routed-crash';
const N = 200;
const bodies = benchSubmissions(N, 0);
const isWelsh = (b: object) => (b as { language: string }).language === 'cy';
const FORM = keyOf(bodies[0]!).split('/')[0]!;

/** The routes: every submission to `licensing`, the Welsh ones also to `welsh`, the others also to the file drop. */
const ROUTES = {
  licensing: bodies.map(keyOf).sort(),
  welsh: bodies.filter(isWelsh).map(keyOf).sort(),
  drop: bodies.filter((b) => !isWelsh(b)).map(keyOf).sort(),
} as const;
type RouteName = keyof typeof ROUTES;
type Counts = Record<RouteName, number>;

/**
 * Hits per point in one uninterrupted run (intake batches of 20, the first
 * holding a Welsh submission): after-receive, once per batch, recorded in
 * every lane it goes to (licensing, welsh when it holds one, drop) in one
 * transaction, already moved to `delivering` and leased to the run for the
 * routes that deliver it as it is admitted. The routes deliver beside the
 * reading, side by side: after-delivering and after-target-commit are hit
 * by licensing (10 batches of 20), welsh (4 of 5) and the drop (10 of 20,
 * and its end-of-run flush) interleaved with the reading and each other;
 * the drop's files fill at 50, 100 and 150 records. `lanes`: the rows each
 * lane held when killed, where the reading's progress at that moment is
 * fixed (else each lane holds at most its route's submissions).
 */
const CRASH_AT: { at: string; reached: Partial<Counts>; lanes?: Counts }[] = [
  // Killed reading, before any route delivered what it admitted: the first batch recorded in every lane it goes to at
  // once (one Welsh submission, recorded delivering), then the second (one more; licensing may have delivered the first
  // batch meanwhile, the others hold theirs until a batch of their own size is full).
  { at: 'after-receive:1', reached: { licensing: 0, welsh: 0, drop: 0 }, lanes: { licensing: 20, welsh: 1, drop: 19 } },
  { at: 'after-receive:2', reached: { welsh: 0, drop: 0 }, lanes: { licensing: 40, welsh: 2, drop: 38 } },
  // Killed delivering (beside the reading, the routes side by side, so how far the reading and the others got varies):
  // a batch marked delivering, a batch committed at its target with the ledger not told, the drop's second file written
  // but not renamed.
  { at: 'after-delivering:4', reached: {} },
  { at: 'after-target-commit:12', reached: {} },
  { at: 'file-drop-before-rename:2', reached: { drop: 50 } },
];

/** The kill points also run with the state in PostgreSQL (a few: the store's part is the same as for one target; one in the bounded run). */
const PG_CRASH_AT = LONG_TESTS ? ['after-receive:2', 'after-target-commit:12'] : ['after-target-commit:12'];

const works: WorkDir[] = [];
const schemas: string[] = [];
afterAll(async () => {
  for (const w of works) rmSync(w.dir, { recursive: true, force: true });
  if (!schemas.length) return;
  const pg = new Sequelize(PG_URL, { logging: false });
  try {
    for (const schema of schemas) await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pg.close();
  }
});

/** A work folder holding the routed pipeline and all the submissions, and its state store: the folder's SQLite file, or a schema of its own in PostgreSQL. */
function routedWork(store: 'sqlite' | 'postgres'): { work: WorkDir; state: string } {
  let url: string | undefined;
  if (store === 'postgres') {
    const schema = `rekey_routes_crash_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  }
  // The helper names the folder's SQLite file with --state; a later --state takes its place.
  const work = new WorkDir('rekey-routes-crash-', ['--workers', '0', ...(url ? ['--state', url] : [])]);
  works.push(work);
  writeFileSync(join(work.dir, 'legacy-a.sql'), benchLegacyTableSql('LEGACY_A'));
  writeFileSync(join(work.dir, 'legacy-b.sql'), benchLegacyTableSql('LEGACY_B'));
  const def = {
    pipeline: PIPELINE,
    source: { kind: 'file', config: { path: './submissions.ndjson' } },
    batch: { size: 20 },
    retry: { maxAttempts: 5, initialDelay: '10ms', maxDelay: '50ms' },
    routes: [
      {
        route: 'licensing',
        mapping: BENCH_MAPPING,
        target: { kind: 'sqlite', config: { path: './legacy-a.sqlite', table: 'LEGACY_A', keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', setupSql: './legacy-a.sql' } },
      },
      {
        route: 'welsh',
        mapping: BENCH_MAPPING,
        when: { path: 'language', equals: 'cy' },
        batch: { size: 5 },
        target: { kind: 'sqlite', config: { path: './legacy-b.sqlite', table: 'LEGACY_B', keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', setupSql: './legacy-b.sql' } },
      },
      {
        route: 'drop',
        mapping: BENCH_MAPPING,
        when: { path: 'language', notEquals: 'cy' },
        target: { kind: 'file-drop', config: { folder: './drop', name: 'ADDR_{seq:4}.csv', manifest: true, trigger: '.ok', rotate: { records: 50 }, format: { kind: 'csv', encoding: 'latin1' } } },
      },
    ],
  };
  writeFileSync(join(work.dir, 'pipeline.yaml'), stringify(def));
  writeFileSync(join(work.dir, 'submissions.ndjson'), ndjson(bodies));
  return { work, state: url ?? work.state };
}

/** The final data files of the drop folder (temporary files start with a dot). */
const finalFiles = (drop: string) => (existsSync(drop) ? readdirSync(drop).filter((n) => n.endsWith('.csv') && !n.startsWith('.')) : []);

/**
 * Every key each route's legacy system holds, one entry per copy; checks
 * that every final file of the drop matches its manifest. `killed`: the
 * process died at this moment, and a file renamed into place whose manifest
 * is not written yet is allowed (the next run completes its publication:
 * the routes deliver side by side, so the drop may be anywhere).
 */
async function held(work: WorkDir, killed = false): Promise<Record<RouteName, string[]>> {
  const table = async (file: string, name: string) => {
    const path = join(work.dir, file);
    if (!existsSync(path) || !(await querySqlite(path, 'SELECT name FROM sqlite_master WHERE name = ?', [name])).length) return [];
    return (await querySqlite<{ k: string }>(path, `SELECT SUBMISSION_KEY AS k FROM ${name}`)).map((r) => r.k);
  };
  const drop = join(work.dir, 'drop');
  const dropped: string[] = [];
  for (const name of finalFiles(drop)) {
    const bytes = readFileSync(join(drop, name));
    const rows = parse(bytes, { columns: true, encoding: 'latin1' }) as { REF: string }[];
    const manifestFile = join(drop, `${name}.manifest.json`);
    if (!(killed && !existsSync(manifestFile))) {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { sha256: string; records: number };
      expect(createHash('sha256').update(bytes).digest('hex'), `${name} whole`).toBe(manifest.sha256);
      expect(rows, `${name}: as many records as its manifest says`).toHaveLength(manifest.records);
    }
    dropped.push(...rows.map((r) => `${FORM}/${r.REF}`));
  }
  return { licensing: await table('legacy-a.sqlite', 'LEGACY_A'), welsh: await table('legacy-b.sqlite', 'LEGACY_B'), drop: dropped };
}

const twice = (keys: string[]) => keys.filter((k, i) => keys.indexOf(k) !== i);
const show = (exit: PassExit) => `exit ${exit.code} ${exit.signal ?? ''}\n${exit.stdout.slice(-1500)}\n${exit.stderr.slice(-3000)}`;

interface RoutedSummary {
  cases: { read: number; receivedNew: number; duplicates: number; rejected: number };
  routes: { route: string; delivered?: number; waitingRetry?: number; error?: unknown }[];
}

/** The JSON summary of a routed `rekey run --json`: the reading's counts and each route's. */
function routedOf(exit: PassExit): RoutedSummary {
  try {
    return JSON.parse(exit.stdout) as RoutedSummary;
  } catch {
    throw new Error(`no JSON summary: ${show(exit)}`);
  }
}

/** Runs again until a run exits 0 with no route waiting for a retry (at most `max` runs); returns the last run. */
async function finish(work: WorkDir, max = 4): Promise<PassExit> {
  let last: PassExit | undefined;
  for (let i = 0; i < max; i++) {
    last = await work.run();
    const s = routedOf(last);
    if (last.code === 0 && s.routes.every((r) => !r.error && r.waitingRetry === 0)) break;
  }
  return last!;
}

const STORES = [
  { store: 'sqlite' as const, cases: killPoints(CRASH_AT) },
  { store: 'postgres' as const, cases: CRASH_AT.filter((c) => PG_CRASH_AT.includes(c.at)), skip: pgSkipReason },
];

describe.each(STORES)('routes, state in $store: kill -9 at a named point, then restarts: each route told each of its submissions exactly once', ({ store, cases, skip }) => {
  it.skipIf(Boolean(skip)).each(cases)(
    'killed at $at',
    async ({ at, reached, lanes }) => {
      const { work, state } = routedWork(store);
      const crashed = await work.run({ REKEY_CRASH_AT: at });
      expect(crashed.signal, show(crashed)).toBe('SIGKILL');
      expect(existsSync(work.state), 'a SQLite state file in the work folder').toBe(store === 'sqlite');
      const before = await held(work, true);
      const names = Object.keys(ROUTES) as RouteName[];
      // Where the process died: what each legacy system and each lane held.
      const heldNow = Object.fromEntries(names.map((r) => [r, before[r].length]));
      expect(heldNow, 'records each legacy system held when the process died').toMatchObject(reached);
      expect(names.some((r) => before[r].length < ROUTES[r].length), 'some route not finished when the process died').toBe(true);
      const laneRows = Object.fromEntries(await Promise.all(names.map(async (r) => [r, (await ledgerRows(state, `${PIPELINE}~${r}`)).length] as const)));
      if (lanes) expect(laneRows, 'rows each lane held when the process died').toEqual(lanes);
      else for (const r of names) expect(laneRows[r], `${r}: rows its lane held when the process died`).toBeLessThanOrEqual(ROUTES[r].length);
      for (const r of names) {
        expect(twice(before[r]), `${r}: keyed twice before the restart`).toEqual([]);
        expect(before[r].filter((k) => !ROUTES[r].includes(k)), `${r}: told of a submission it does not apply to`).toEqual([]);
      }

      const done = await finish(work);
      expect(done.code, show(done)).toBe(0);
      const again = await work.run();
      const quiet = routedOf(again);
      expect(again.code, show(again)).toBe(0);
      expect(quiet.cases, 'one more run: every case known').toMatchObject({ read: N, receivedNew: 0, duplicates: N, rejected: 0 });
      expect(quiet.routes.map((r) => ({ route: r.route, delivered: r.delivered })), 'one more run: nothing left to deliver').toEqual(Object.keys(ROUTES).map((route) => ({ route, delivered: 0 })));

      const after = await held(work);
      for (const r of names) {
        expect(twice(after[r]), `${r}: keyed more than once`).toEqual([]);
        expect([...after[r]].sort(), `${r}: every submission it applies to, and no other`).toEqual(ROUTES[r]);
        const lane = `${PIPELINE}~${r}`;
        const rows = await ledgerRows(state, lane);
        expect(rows.filter((x) => x.state !== 'delivered').map((x) => `${x.key}: ${x.state}`), `${lane}: all delivered`).toEqual([]);
        expect(rows.map((x) => x.key).sort(), `${lane}: one row per submission`).toEqual(ROUTES[r]);
        const audit = await auditOf(state, lane);
        for (const event of ['received', 'delivered']) expect(audit.entries.filter((e) => e.event === event).map((e) => e.key).sort(), `${lane}: one ${event} entry per key`).toEqual(ROUTES[r]);
        expect(audit.verified, 'the audit hash chain verifies').toBe(true);
      }
      expect(await ledgerRows(state, PIPELINE), 'nothing in the pipeline’s own ledger: every submission had a route').toEqual([]);
      const drop = join(work.dir, 'drop');
      expect(readdirSync(drop).filter((n) => n.startsWith('.')), 'nothing temporary left in the drop').toEqual([]);
    },
    120_000,
  );
});
