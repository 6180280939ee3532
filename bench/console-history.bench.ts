/**
 * The pass history and audit log behind the console's Pipelines, pass and
 * Audit pages, for the million seeded submissions of `seedMillion`
 * (console.bench.ts), so those pages are timed against a year of history
 * rather than an empty log.
 *
 * `seedHistory(store, n)` groups the `n` seeded submissions by pipeline, in
 * receipt order, into passes of `PASS_SIZE` (about 100,000 passes for a
 * million, a pass every 15 minutes or so per pipeline), and writes for each
 * a `runs` row (summary, trigger, mapping version) and its audit entries
 * as a pass makes them: `run-started`, `received` (every key),
 * `delivered`, `rejected` and `dead` (with the seeded reasons, never a
 * value), `run-finished`. It adds one stored mapping text per pipeline and
 * one signed-checkpoint row 5 % of the entries below the head. The chain's
 * hashes are made up (`verify` would fail; no page timed here verifies):
 * what the pages read is the shape and the number of rows.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { insertMany } from '../pipelines/store/sql.js';
import type { StateStore } from '../pipelines/store/state-store.js';
import { SEEDED_PIPELINES, seededRow } from './console.bench.js';

/** Submissions of one pipeline a seeded pass receives. */
export const PASS_SIZE = 10;
const BATCH = 5_000;

const RUN_COLUMNS = ['id', 'pipeline', 'actor', 'mapping_version', 'started_at', 'finished_at', 'summary', 'definition_version', 'error', 'trigger_kind', 'trigger_by'];
const AUDIT_COLUMNS = ['seq', 'at', 'pipeline', 'event', 'actor', 'mapping_version', 'target', 'legacy_ref', 'detail', 'prev_hash', 'hash'];

/** The seeded mapping version of `pipeline`. */
export function seededVersion(pipeline: string): string {
  return `sha256:${createHash('sha256').update(`bench mapping of ${pipeline}`).digest('hex')}`;
}

/** The run id of the `j`th seeded pass of `pipeline`. */
export function seededRunId(pipeline: string, j: number): string {
  const h = createHash('sha256').update(`${pipeline}/${j}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The passes `seedHistory` writes for `n` submissions: each one's pipeline, index in that pipeline and the seeded rows it received. */
export function* seededPasses(n: number): Generator<{ pipeline: string; j: number; rows: number[] }> {
  const open = new Map<string, number[]>();
  const made = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = seededRow(i).pipeline;
    const rows = open.get(p) ?? [];
    rows.push(i);
    open.set(p, rows);
    if (rows.length === PASS_SIZE) {
      const j = made.get(p) ?? 0;
      made.set(p, j + 1);
      open.set(p, []);
      yield { pipeline: p, j, rows };
    }
  }
}

/**
 * Makes the store hold the seeded history of `n` submissions: kept when
 * the last run left it (as many runs as `seededPasses` makes), else
 * written again. Resolves to the seconds it took (0 when kept).
 */
export async function seedHistory(store: StateStore, n: number, log: (line: string) => void): Promise<number> {
  let passes = 0;
  for (const _ of seededPasses(n)) passes++;
  const [have] = await store.select<{ n: number | string }>('SELECT COUNT(*) AS n FROM runs');
  if (Number(have?.n ?? 0) === passes) return 0;
  log(`seeding ${passes.toLocaleString('en-GB')} passes and their audit entries into ${store.location}`);
  const t0 = performance.now();
  await store.transaction(async (t) => {
    for (const table of ['audit_checkpoints', 'audit_keys', 'audit_log', 'runs']) await store.exec(`DELETE FROM ${table}`, [], t);
    await store.exec('DELETE FROM mapping_texts', [], t);
    for (const p of SEEDED_PIPELINES) {
      await store.exec('INSERT INTO mapping_texts (version, text, created_at) VALUES ($1, $2, $3)', [seededVersion(p.name), `{"bench":"${p.name}"}`, '2026-01-01T00:00:00.000Z'], t);
    }
  });
  let seq = 0;
  let runs: unknown[][] = [];
  let entries: unknown[][] = [];
  const flush = async () => {
    await store.transaction(async (t) => {
      if (runs.length) await insertMany(store, 'runs', RUN_COLUMNS, runs, t);
      if (entries.length) await insertMany(store, 'audit_log', AUDIT_COLUMNS, entries, t);
    });
    runs = [];
    entries = [];
  };
  const actor = 'runner:bench:1';
  for (const pass of seededPasses(n)) {
    const rows = pass.rows.map(seededRow);
    const version = seededVersion(pass.pipeline);
    const id = seededRunId(pass.pipeline, pass.j);
    const started = Date.parse(rows.at(-1)!.createdAt);
    const at = (s: number) => new Date(started + s * 1000).toISOString();
    const of = (state: string) => rows.filter((r) => r.state === state);
    const summary = { read: rows.length, receivedNew: rows.length, duplicates: 0, conflicts: 0, unreadable: 0, rejected: of('rejected').length, delivered: of('delivered').length, failed: of('failed').length, dead: of('dead').length };
    runs.push([id, pass.pipeline, actor, version, at(0), at(4), JSON.stringify(summary), 'sha256:def', null, 'schedule', null]);
    const entry = (s: number, event: string, detail: object, legacyRef: string | null = null) => {
      seq++;
      const hash = createHash('sha256').update(String(seq)).digest('hex');
      entries.push([seq, at(s), pass.pipeline, event, actor, version, event === 'delivered' ? 'sql:legacy' : null, legacyRef, JSON.stringify(detail), `sha256:${seq}`, `sha256:${hash}`]);
    };
    entry(0, 'run-started', { runId: id, keys: [], definitionVersion: 'sha256:def', trigger: { kind: 'schedule' } });
    entry(1, 'received', { runId: id, keys: rows.map((r) => r.key), records: rows.map((r) => ({ key: r.key })) });
    const delivered = of('delivered');
    if (delivered.length) entry(2, 'delivered', { runId: id, keys: delivered.map((r) => r.key), records: delivered.map((r) => ({ key: r.key, legacyRef: r.legacyRef, sent: { hash: `sha256:${r.key.length}`, fields: {} } })) });
    for (const event of ['rejected', 'dead'] as const) {
      const bad = of(event);
      if (bad.length) entry(3, event, { runId: id, keys: bad.map((r) => r.key), records: bad.map((r) => ({ key: r.key, error: JSON.parse(r.lastError!) as object })) });
    }
    entry(4, 'run-finished', { runId: id, keys: [], summary });
    if (entries.length >= BATCH) await flush();
    if ((pass.j % 10_000) === 0 && pass.pipeline === SEEDED_PIPELINES[0].name) log(`  ${seq.toLocaleString('en-GB')} entries, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  await flush();
  const cover = Math.floor(seq * 0.95);
  await store.exec('INSERT INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [cover, `sha256:${cover}`, new Date(START_OF_LAST_DAY).toISOString(), 'bench-key', 'bench-signature']);
  if (store.dialect === 'postgres') for (const table of ['runs', 'audit_log', 'audit_checkpoints', 'mapping_texts']) await store.exec(`VACUUM ANALYZE ${table}`);
  else await store.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  return (performance.now() - t0) / 1000;
}

const START_OF_LAST_DAY = Date.UTC(2026, 11, 1);
