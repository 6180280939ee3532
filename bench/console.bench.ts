/**
 * The console's submission queries (`pipelines/ledger/search.ts`) at
 * 1,000,000 submissions, on SQLite and on PostgreSQL, against the 200 ms a
 * console page may take in all (issue 18).
 *
 * `seedMillion(storeUrl)` fills a migrated state store's real `ledger` table
 * with synthetic submissions of three pipelines (no citizen data: made-up
 * references, masked-style reasons) and leaves them for the next run: the
 * SQLite file is kept under `.bench/` (git-ignored) and PostgreSQL's rows in
 * the schema `rekey_bench_console_v2`. REKEY_BENCH_RESEED=1 seeds again.
 * REKEY_BENCH_RECORDS changes the count (default 1,000,000);
 * REKEY_BENCH_ROUNDS the timed rounds per query (default 30, after 3
 * untimed); REKEY_BENCH_CONSOLE_STORES `sqlite,postgres` (default both);
 * REKEY_TEST_PG_URL the PostgreSQL server. REKEY_BENCH_CONSOLE_WRITES=N
 * also measures what migration 0015's indexes cost the ledger's writes:
 * N rows inserted, and a tenth of them moved, with and without them.
 *
 * Each query is timed as the console calls it (through `StateStore`,
 * parameters bound, rows read into objects); the report gives the median
 * and the 95th percentile in milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LedgerState } from '../pipelines/ledger/ledger.types.js';
import { countsByState, searchProblems, searchSubmissions, type SubmissionSearch } from '../pipelines/ledger/search.js';
import { Ledger } from '../pipelines/ledger/ledger.js';
import { AuditLog } from '../pipelines/audit/audit-log.js';
import { inList, insertMany, listParam } from '../pipelines/store/sql.js';
import { openStateStore, type StateStore } from '../pipelines/store/state-store.js';
import { KeyRing } from '../lib/envelope.js';
import { repoRoot } from './mapping.bench.js';
import { seedHistory } from './console-history.bench.js';
import { timeConsolePages } from './console-pages.bench.js';

const PG_URL = process.env.REKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_SCHEMA = 'rekey_bench_console';
/** Part of the cached store's name: bump it when `seededRow` changes, so an old cache is not reused. */
const SEED_VERSION = 2;
const TARGET_MS = 200;
const BATCH = 5_000;
/** The first submission's receipt; the rest follow about every 30 s (a year for a million). */
const START = Date.UTC(2026, 0, 1);

/** The seeded pipelines, their share of the submissions, and their form names and reference prefixes. */
export const SEEDED_PIPELINES = [
  { name: 'benefit-claims', share: 0.5, form: 'benefit-claim', prefix: 'BC' },
  { name: 'parking-permits', share: 0.3, form: 'parking-permit', prefix: 'PP' },
  { name: 'licence-renewals', share: 0.2, form: 'licence-renewal', prefix: 'LR' },
] as const;

/** States and their shares (cumulative thresholds over 1,000). */
const STATE_MIX: ReadonlyArray<[LedgerState, number]> = [
  ['delivered', 900], ['rejected', 940], ['dead', 960], ['failed', 975], ['received', 985], ['mapped', 990], ['delivering', 995], ['discarded', 1000],
];

const REASONS = [
  { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject', message: 'date_of_birth (applicant.dob): date: not a valid date' },
  { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject', message: 'postcode (address.postcode): pattern: does not match the UK postcode format' },
  { code: 'SQL_CONSTRAINT', disposition: 'reject', field: 'NI_NUMBER', message: 'the legacy table refused the row: check constraint on NI_NUMBER (value masked)' },
  { code: 'SQL_UNAVAILABLE', disposition: 'retry', message: 'connect ECONNREFUSED 10.0.0.7:5432' },
] as const;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A deterministic pseudo-random 32-bit number for `i` (so every run seeds the same rows). */
function mix(i: number, salt: number): number {
  let x = (i + 1) * 0x9e3779b1 + salt * 0x85ebca6b;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function code(n: number, length: number): string {
  let s = '';
  for (let k = 0; k < length; k++) {
    s += ALPHABET[n % 32];
    n = Math.floor(n / 32);
  }
  return s;
}

/** The `i`th seeded submission's pipeline, key, state, legacy reference, error and times. */
export function seededRow(i: number): { pipeline: string; key: string; state: LedgerState; legacyRef: string | null; lastError: string | null; createdAt: string; updatedAt: string; attempts: number } {
  const r = mix(i, 1);
  const pick = (r % 1000) / 1000;
  let acc = 0;
  const p = SEEDED_PIPELINES.find((x) => (acc += x.share) > pick) ?? SEEDED_PIPELINES[0];
  const s = mix(i, 2) % 1000;
  const state = STATE_MIX.find(([, upTo]) => s < upTo)![0];
  const key = `${p.form}/${p.prefix}-${code(mix(i, 3), 6)}${code(i, 4)}`;
  const delivered = state === 'delivered' || state === 'discarded';
  const legacyRef = state === 'delivered' ? `LEG${String(100_000_000 + i)}` : null;
  const reason = state === 'rejected' ? REASONS[mix(i, 4) % 3]! : state === 'dead' || state === 'failed' ? REASONS[3] : null;
  const created = START + i * 30_000 + (mix(i, 5) % 30) * 1000;
  // Whole seconds, so neighbours share change times: the cursor's tie-break is exercised.
  const updated = created + (mix(i, 6) % 3600) * 1000;
  return {
    pipeline: p.name,
    key,
    state,
    legacyRef,
    lastError: reason && !delivered ? JSON.stringify(reason) : null,
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(updated).toISOString(),
    attempts: state === 'dead' ? 5 : state === 'failed' ? 2 : state === 'received' || state === 'mapped' ? 0 : 1,
  };
}

const LEDGER_COLUMNS = ['pipeline', 'key', 'content_hash', 'state', 'attempts', 'last_error', 'legacy_ref', 'confirmed', 'mapping_version', 'source', 'created_at', 'updated_at'];

async function seededCount(store: StateStore): Promise<number> {
  const [row] = await store.select<{ n: number | string | null }>('SELECT max(id) AS n FROM ledger');
  return Number(row?.n ?? 0);
}

/**
 * Opens (and migrates) the state store at `storeUrl` and makes its ledger
 * hold exactly the `n` seeded submissions (default 1,000,000): kept as they
 * are when the last run left them, else emptied and seeded again by
 * multi-row INSERTs of 5,000 rows per transaction. Resolves to the open
 * store and the seconds seeding took (0 when kept).
 */
export async function seedMillion(storeUrl: string, n = 1_000_000, opts: { reseed?: boolean; log?: (line: string) => void } = {}): Promise<{ store: StateStore; seedSeconds: number }> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = await openStateStore(storeUrl);
  const have = await seededCount(store);
  if (!opts.reseed && have === n) {
    const [last] = await store.select<{ key: string }>('SELECT key FROM ledger WHERE id = $1', [n]);
    if (last?.key === seededRow(n - 1).key) return { store, seedSeconds: 0 };
  }
  log(`seeding ${n.toLocaleString('en-GB')} submissions into ${store.location}`);
  const t0 = performance.now();
  await store.transaction(async (t) => {
    await store.exec('DELETE FROM ledger_bodies', [], t);
    await store.exec('DELETE FROM ledger', [], t);
  });
  if (store.dialect === 'postgres') await store.exec(`SELECT setval(pg_get_serial_sequence('ledger', 'id'), 1, false)`);
  for (let first = 0; first < n; first += BATCH) {
    const rows: unknown[][] = [];
    for (let i = first; i < Math.min(n, first + BATCH); i++) {
      const r = seededRow(i);
      rows.push([r.pipeline, r.key, `sha256:${mix(i, 7).toString(16).padStart(8, '0')}`, r.state, r.attempts, r.lastError, r.legacyRef, r.state === 'delivered', 'mv-1', 'bench', r.createdAt, r.updatedAt]);
    }
    await store.transaction((t) => insertMany(store, 'ledger', LEDGER_COLUMNS, rows, t));
    if ((first / BATCH) % 40 === 0) log(`  ${first.toLocaleString('en-GB')} rows, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await store.exec(store.dialect === 'postgres' ? 'VACUUM ANALYZE ledger' : 'PRAGMA wal_checkpoint(TRUNCATE)');
  return { store, seedSeconds: (performance.now() - t0) / 1000 };
}

/** One timed query: its name and the call (made on the store given). */
interface Probe {
  name: string;
  run: (store: StateStore) => Promise<unknown>;
}

/** `store`, noting the statements it is asked to select with. */
function noting(store: StateStore, seen: Array<{ sql: string; params: unknown[] }>): StateStore {
  return { ...store, dialect: store.dialect, location: store.location, sequelize: store.sequelize, select: (sql, params = [], t) => (seen.push({ sql, params }), store.select(sql, params, t)) } as StateStore;
}

/** The query plan of every statement `probe` runs, as the database explains it (one line per step). */
async function explain(store: StateStore, probe: Probe): Promise<string[]> {
  const seen: Array<{ sql: string; params: unknown[] }> = [];
  await probe.run(noting(store, seen));
  const lines: string[] = [];
  for (const { sql, params } of seen) {
    if (store.dialect === 'sqlite') {
      const rows = await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
      lines.push(...rows.map((r) => r.detail));
    } else {
      const rows = await store.select<Record<string, string>>(`EXPLAIN ${sql}`, params);
      lines.push(...rows.map((r) => Object.values(r)[0]!.trim()).filter((l) => /Scan|Index|Sort|Append|Merge/.test(l)));
    }
  }
  return lines;
}

/** Median and 95th percentile (ms) of `rounds` timed calls after `warm` untimed ones. */
async function timeIt(run: () => Promise<unknown>, rounds: number, warm = 3): Promise<{ median: number; p95: number }> {
  for (let k = 0; k < warm; k++) await run();
  const ms: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor((ms.length - 1) / 2)]!, p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]! };
}

/** The console's queries on a seeded store of `n` submissions. */
async function probes(store: StateStore, n: number): Promise<Probe[]> {
  const page = 50;
  const search = (s: Omit<SubmissionSearch, 'limit'>) => (on: StateStore) => searchSubmissions(on, { limit: page, ...s });
  // A submission near the middle, and one delivered (for its legacy reference).
  let mid = Math.floor(n / 2);
  const target = seededRow(mid);
  while (seededRow(mid).state !== 'delivered') mid++;
  const delivered = seededRow(mid);
  const formRef = target.key.slice(target.key.lastIndexOf('/') + 1);
  const week = new Date(START + Math.floor(n / 2) * 30_000);
  let cursor: string | undefined;
  for (let k = 1; k < 50; k++) cursor = (await searchSubmissions(store, { limit: page, after: cursor })).next;
    return [
    { name: 'first page, all submissions', run: search({}) },
    { name: 'state dead', run: search({ states: ['dead'] }) },
    { name: 'dead letters and rejections', run: (on) => searchProblems(on, { limit: page }) },
    { name: 'pipeline + state (parking-permits, rejected)', run: search({ pipeline: 'parking-permits', states: ['rejected'] }) },
    { name: 'pipeline only (licence-renewals)', run: search({ pipeline: 'licence-renewals' }) },
    { name: 'date range (one week, last change)', run: search({ from: week, to: new Date(week.getTime() + 7 * 86_400_000) }) },
    { name: 'form reference, lower case', run: search({ q: formRef.toLowerCase() }) },
    { name: 'legacy reference', run: search({ q: delivered.legacyRef! }) },
    { name: 'key prefix (6 characters)', run: search({ q: target.key.slice(0, target.key.indexOf('/') + 7) }) },
    { name: '50th page via cursor', run: search({ after: cursor }) },
    { name: 'countsByState, all pipelines', run: (on) => countsByState(on) },
    { name: 'countsByState, one pipeline', run: (on) => countsByState(on, ['parking-permits']) },
    { name: 'ledger.counts() (existing), all', run: (on) => new Ledger(on, new AuditLog(on), new KeyRing(randomBytes(32))).counts() },
  ];
}

/** The indexes migration 0015 adds. */
const CONSOLE_INDEXES = ['ledger_state_recent', 'ledger_pipeline_state_recent', 'ledger_key_lower', 'ledger_reference_lower', 'ledger_legacy_ref_lower'];

/**
 * What migration 0015's indexes cost the ledger's writes: `n` seeded rows
 * inserted (batches of 5,000 a transaction, as seeding does) and then a
 * tenth of them moved to another state (`UPDATE ... WHERE id IN`, batches
 * of 5,000), into a fresh store with the indexes and into one without
 * them, alternately, `rounds` times each. Resolves to the seconds of each.
 */
async function indexWriteCost(url: (tag: string) => string, n: number, rounds: number): Promise<Array<{ indexes: boolean; insertSeconds: number; updateSeconds: number }>> {
  const out: Array<{ indexes: boolean; insertSeconds: number; updateSeconds: number }> = [];
  for (let round = 0; round < rounds; round++) {
    for (const indexes of [true, false]) {
      const store = await openStateStore(url(`${round}_${indexes ? 'with' : 'without'}`));
      try {
        if (!indexes) for (const name of CONSOLE_INDEXES) await store.exec(`DROP INDEX ${name}`);
        const t0 = performance.now();
        for (let first = 0; first < n; first += BATCH) {
          const rows: unknown[][] = [];
          for (let i = first; i < Math.min(n, first + BATCH); i++) {
            const r = seededRow(i);
            rows.push([r.pipeline, r.key, 'sha256:00', r.state, r.attempts, r.lastError, r.legacyRef, false, 'mv-1', 'bench', r.createdAt, r.updatedAt]);
          }
          await store.transaction((t) => insertMany(store, 'ledger', LEDGER_COLUMNS, rows, t));
        }
        const t1 = performance.now();
        const later = new Date(START + n * 40_000).toISOString();
        for (let first = 1; first <= n; first += BATCH * 10) {
          const ids = Array.from({ length: BATCH }, (_, k) => first + k * 10).filter((id) => id <= n);
          await store.transaction((t) => store.exec(`UPDATE ledger SET state = 'dead', updated_at = $1 WHERE ${inList(store, 'id', 2, 'bigint')}`, [later, listParam(store, ids)], t));
        }
        out.push({ indexes, insertSeconds: Number(((t1 - t0) / 1000).toFixed(2)), updateSeconds: Number(((performance.now() - t1) / 1000).toFixed(2)) });
      } finally {
        await store.close();
      }
    }
  }
  return out;
}

/** Runs the console benchmark on the stores REKEY_BENCH_CONSOLE_STORES names. */
export async function consoleBench(n: number): Promise<Record<string, unknown>> {
  const rounds = Math.max(5, Number(process.env.REKEY_BENCH_ROUNDS ?? 30));
  const reseed = process.env.REKEY_BENCH_RESEED === '1';
  const which = (process.env.REKEY_BENCH_CONSOLE_STORES ?? 'sqlite,postgres').split(',');
  const dir = join(repoRoot(), '.bench');
  mkdirSync(dir, { recursive: true });
  const urls: Record<string, string> = {
    sqlite: `sqlite:${join(dir, `console-${n}-v${SEED_VERSION}.sqlite`)}`,
    // Another count keeps its own schema, so a small trial run does not throw the million away.
    postgres: `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${PG_SCHEMA}_v${SEED_VERSION}${n === 1_000_000 ? '' : `_${n}`}`,
  };
  const results: Array<{ store: string; query: string; medianMs: number; p95Ms: number; underTarget: boolean }> = [];
  const seeding: Record<string, number> = {};
  const plans: Record<string, string[]> = {};
  for (const name of which) {
    const url = urls[name];
    if (!url) throw new Error(`REKEY_BENCH_CONSOLE_STORES: unknown store ${name} (sqlite, postgres)`);
    const { store, seedSeconds } = await seedMillion(url, n, { reseed });
    seeding[name] = Math.round(seedSeconds);
    seeding[`${name} history`] = Math.round(await seedHistory(store, n, (line) => process.stderr.write(`${line}\n`)));
    try {
      for (const p of await probes(store, n)) {
        const { median, p95 } = await timeIt(() => p.run(store), rounds);
        results.push({ store: name, query: p.name, medianMs: Number(median.toFixed(2)), p95Ms: Number(p95.toFixed(2)), underTarget: p95 < TARGET_MS });
        plans[`${name}: ${p.name}`] = await explain(store, p);
      }
      // The Submissions pages whole, over HTTP (console-pages.bench.ts).
      for (const page of await timeConsolePages(store, n, rounds)) {
        results.push({ store: name, query: `HTTP ${page.name}`, medianMs: Number(page.median.toFixed(2)), p95Ms: Number(page.p95.toFixed(2)), underTarget: page.p95 < TARGET_MS });
      }
    } finally {
      await store.close();
    }
  }
  const writes = Number(process.env.REKEY_BENCH_CONSOLE_WRITES ?? 0);
  const writeCost: Record<string, unknown> = {};
  for (const name of writes > 0 ? which : []) {
    const tmp = mkdtempSync(join(tmpdir(), 'rekey-bench-console-'));
    const schemas: string[] = [];
    const url = (tag: string) => {
      if (name === 'sqlite') return `sqlite:${join(tmp, `${tag}.sqlite`)}`;
      schemas.push(`${PG_SCHEMA}_w${tag}`);
      return `${urls.postgres!.replace(/schema=[^&]*/, `schema=${PG_SCHEMA}_w${tag}`)}`;
    };
    try {
      writeCost[name] = await indexWriteCost(url, writes, 2);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      if (schemas.length) {
        const admin = await openStateStore(PG_URL, { migrate: false });
        for (const schema of schemas) await admin.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.close();
      }
    }
  }
  const lines = ['| store | query | median ms | p95 ms | under 200 ms |', '|---|---|---:|---:|---|'];
  for (const r of results) lines.push(`| ${r.store} | ${r.query} | ${r.medianMs.toFixed(1)} | ${r.p95Ms.toFixed(1)} | ${r.underTarget ? 'yes' : '**no**'} |`);
  return { benchmark: 'console', submissions: n, rounds, targetMs: TARGET_MS, seedSeconds: seeding, results, writeCost, plans, markdown: lines.join('\n') };
}
