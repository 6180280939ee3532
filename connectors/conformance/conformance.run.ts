/**
 * Test parts shared by the process-level tests of targets and sources: a
 * work folder holding a pipeline whose source is a file of submissions,
 * `rekey run` on it as a real child process (the built CLI: `npm run build`
 * first), and what the state store says afterwards (ledger rows, audit
 * entries, the hash chain). Used by the conformance suite and by the
 * crash tests of sources.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { stringify } from 'yaml';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import type { LedgerListRow } from '../../pipelines/ledger/ledger.rows.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { dataKeys } from '../../runner/runtime.js';


/** The columns bench/mapping-12.yaml fills, in order. */
export const BENCH_FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'] as const;

/** SQLite DDL of a legacy table for bench/mapping-12.yaml: an identity, a UNIQUE key column, one TEXT column per field. */
export const benchLegacyTableSql = (table = 'LEGACY') =>
  `CREATE TABLE ${table} (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${BENCH_FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`;

/** The key the file source gives a GOV.UK-shaped body: form name, slash, submission reference. */
export function keyOf(body: object): string {
  const b = body as { form_name: string; submission_reference: string };
  return `${b.form_name}/${b.submission_reference}`;
}

/** `bodies` as NDJSON text. */
export const ndjson = (bodies: readonly object[]) => bodies.map((b) => `${JSON.stringify(b)}\n`).join('');

/** A copy of a GOV.UK-shaped `body` whose answer `questionId` has `field` set to `value`. */
export function withAnswer<T extends object>(body: T, questionId: string, field: string, value: string): T {
  const copy = structuredClone(body) as T & { answers: Record<string, unknown>[] };
  const answer = copy.answers.find((a) => a.question_id === questionId);
  if (!answer) throw new Error(`the body has no answer ${questionId}`);
  answer[field] = value;
  return copy;
}

/** Runs a read-only query on a SQLite file. */
export function querySqlite<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (e) => e && reject(e));
    db.all(sql, params, (e, rows) => {
      db.close();
      if (e) reject(e);
      else resolve(rows as T[]);
    });
  });
}

/** What a work folder's pipeline file holds besides its source (always `./submissions.ndjson`). */
export interface WorkPipeline {
  name: string;
  mapping: string;
  target: { kind: string; config: Record<string, unknown> };
  batch: number;
  /** Further top-level keys (limits, workers). */
  extra?: Record<string, unknown>;
  /** When set, the mapping and target are written as the only route of a routed pipeline, under this name (its lane: `<name>~<route>`). */
  route?: string;
}

/**
 * A temporary folder holding `pipeline.yaml` (source: the file
 * `submissions.ndjson`, which holds `bodies`), where `run` starts `rekey
 * run --json` with its state in `state.sqlite`. Every process's output is
 * kept in `outputs`.
 */
export class WorkDir {
  readonly dir: string;
  readonly outputs: PassExit[] = [];

  /** `args`: given to every `rekey run` before the pipeline (`--workers 0`). */
  constructor(prefix = 'rekey-work-', private readonly args: string[] = []) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Writes the pipeline file and the submissions file. */
  write(p: WorkPipeline, bodies: readonly object[]): void {
    const delivery = p.route ? { routes: [{ route: p.route, mapping: p.mapping, target: p.target }] } : { mapping: p.mapping, target: p.target };
    const def = {
      pipeline: p.name,
      source: { kind: 'file', config: { path: './submissions.ndjson' } },
      ...delivery,
      batch: { size: p.batch },
      retry: { maxAttempts: 5, initialDelay: '10ms', maxDelay: '50ms' },
      ...p.extra,
    };
    writeFileSync(join(this.dir, 'pipeline.yaml'), stringify(def));
    writeFileSync(join(this.dir, 'submissions.ndjson'), ndjson(bodies));
  }

  /** Appends submissions to the source file. */
  append(bodies: readonly object[]): void {
    appendFileSync(join(this.dir, 'submissions.ndjson'), ndjson(bodies));
  }

  /** One `rekey run` process; `env` on top of the test's (REKEY_CRASH_AT, secrets). */
  async run(env: Record<string, string> = {}, opts: { args?: string[]; killAfterMs?: number } = {}): Promise<PassExit> {
    const exit = await runPipelineProcess(this.dir, { env, args: this.args, ...opts });
    this.outputs.push(exit);
    return exit;
  }

  /** Runs again until a run exits 0 with nothing waiting for a retry (at most `max` runs); returns the last run. */
  async finish(env: Record<string, string> = {}, max = 4): Promise<PassExit> {
    let last: PassExit | undefined;
    for (let i = 0; i < max; i++) {
      last = await this.run(env);
      if (!last.stdout.trim()) throw new Error(`rekey run printed no summary (exit ${last.code}): ${last.stderr.slice(-2000)}`);
      if (last.code === 0 && summaryOf(last).waitingRetry === 0) break;
    }
    return last!;
  }

  /** The state store file. */
  get state(): string {
    return join(this.dir, 'state.sqlite');
  }
}

/** The counts a routed pass adds up over its routes (the rest are the reading's, in `cases`). */
const ROUTE_COUNTS = ['rejected', 'delivered', 'failed', 'dead', 'waitingRetry', 'confirmed', 'rejectedByLegacy'] as const;

/**
 * The JSON summary a `rekey run --json` printed; a routed pass's
 * (`cases`, `routes`) as one: the reading's counts with each route's
 * deliveries added up, as a single-target pass would count them.
 */
export function summaryOf(exit: PassExit): Record<string, number> & { pipeline?: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(exit.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON summary (exit ${exit.code}, signal ${exit.signal}): ${exit.stdout.slice(-500)} ${exit.stderr.slice(-2000)}`);
  }
  if (!parsed.cases || !Array.isArray(parsed.routes)) return parsed as Record<string, number>;
  const out = { ...(parsed.cases as Record<string, number>) };
  for (const route of parsed.routes as Record<string, unknown>[]) {
    if (route.error) throw new Error(`route ${String(route.route)} stopped: ${JSON.stringify(route.error)}`);
    for (const k of ROUTE_COUNTS) if (typeof route[k] === 'number') out[k] = (out[k] ?? 0) + route[k];
  }
  return out;
}

/** The URL of a state store given as a SQLite file or already as a URL (`postgres://…`). */
const storeUrl = (state: string) => (state.includes('://') ? state : `sqlite:${state}`);

/** The ledger rows of `pipeline` in the state store `file` (a SQLite file, or a store URL). */
export async function ledgerRows(file: string, pipeline: string): Promise<LedgerListRow[]> {
  const store = await openStateStore(storeUrl(file));
  try {
    return await new Ledger(store, new AuditLog(store), dataKeys(storeUrl(file))).list(pipeline, { limit: 1_000_000 });
  } finally {
    await store.close();
  }
}

/** One audit entry about one key of `pipeline`: its event and its detail. */
export interface KeyAudit {
  key: string;
  event: string;
  detail: Record<string, unknown>;
}

/** The `received` and `delivered` audit entries of `pipeline` in the state store `file` (a SQLite file, or a store URL), one row per entry and key (the detail: that key's record in the entry), and whether the hash chain verifies. */
export async function auditOf(file: string, pipeline: string): Promise<{ entries: KeyAudit[]; verified: boolean }> {
  const store = await openStateStore(storeUrl(file));
  try {
    const rows = await store.select<{ key: string; event: string; detail: string | null }>(
      `SELECT l.key, a.event, a.detail FROM audit_keys k JOIN audit_log a ON a.seq = k.seq JOIN ledger l ON l.id = k.ledger_id
       WHERE l.pipeline = $1 AND a.event IN ('received', 'delivered') ORDER BY a.seq`,
      [pipeline],
    );
    const verified = (await new AuditLog(store).verify()).ok;
    const entries = rows.map((r) => {
      const detail = (r.detail ? JSON.parse(r.detail) : {}) as { records?: Record<string, unknown>[] };
      return { key: r.key, event: r.event, detail: detail.records?.find((x) => x.key === r.key) ?? (detail as Record<string, unknown>) };
    });
    return { entries, verified };
  } finally {
    await store.close();
  }
}

/** Every file under `dir` (recursively) whose bytes contain `text`. */
export function filesContaining(dir: string, text: string): string[] {
  const needle = Buffer.from(text);
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(dir);
  return found;
}
