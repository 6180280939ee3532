/**
 * Parts shared by the reliability suite (`npm run test:reliability`): the
 * bounded or long form, a seeded random source, the figure line each attack
 * prints, a legacy table on SQLite or in a PostgreSQL schema of its own, a
 * state store on SQLite or PostgreSQL, and the count of what the legacy
 * system holds against what was submitted (lost, duplicated).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Sequelize } from 'sequelize';
import { expect } from 'vitest';
import { benchLegacyTableSql, BENCH_FIELDS, querySqlite, type WorkDir } from '../../connectors/conformance/conformance.run.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { PG_URL } from '../../pipelines/store/store.test-helpers.js';
import { root, TEST_PII_KEY_HEX, type PassExit } from '../cli.test-helpers.js';

/** True for the long form (`REKEY_RELIABILITY=long`), run by hand. */
export const LONG = process.env.REKEY_RELIABILITY === 'long';

/** `bounded` in the bounded form, `long` in the long form; `REKEY_RELIABILITY_KILLS` overrides kill counts. */
export function pick(bounded: number, long: number, override = process.env.REKEY_RELIABILITY_KILLS): number {
  if (override && /^[1-9][0-9]*$/.test(override)) return Number(override);
  return LONG ? long : bounded;
}

/** The seed of every random choice (kill delays); `REKEY_RELIABILITY_SEED` repeats a run. */
export const SEED = Number(process.env.REKEY_RELIABILITY_SEED ?? 23);

/** A seeded pseudo-random source (mulberry32) giving numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prints one figure line of the suite (and appends it to `REKEY_RELIABILITY_OUT` when set). */
export function figure(line: string): void {
  const text = `RELIABILITY ${line}`;
  process.stdout.write(`${text}\n`);
  if (process.env.REKEY_RELIABILITY_OUT) appendFileSync(process.env.REKEY_RELIABILITY_OUT, `${text}\n`);
}

/** Where the legacy table lives: a SQLite file in the work folder, or a PostgreSQL schema of its own. */
export type Place = 'sqlite' | 'postgres';

/** A PostgreSQL schema made for one scenario; `drop` removes it with everything in it. */
export interface PgSchema {
  name: string;
  /** The state store URL on `base` (the server, or a proxy in front of it) in this schema. */
  stateUrl(base?: string): string;
  query(sql: string): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
}

/** A fresh `rekey_rel_<random>` schema on the test PostgreSQL. */
export async function pgSchema(): Promise<PgSchema> {
  const name = `rekey_rel_${randomBytes(4).toString('hex')}`;
  const db = new Sequelize(PG_URL, { logging: false });
  await db.query(`CREATE SCHEMA ${name}`);
  return {
    name,
    stateUrl: (base = PG_URL) => `${base}${base.includes('?') ? '&' : '?'}schema=${name}`,
    query: async (sql) => (await db.query(sql))[0] as Record<string, unknown>[],
    drop: async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await db.close();
    },
  };
}

/** The URL of the test PostgreSQL with its host and port replaced (a proxy in front of it). */
export function viaPort(port: number, url = PG_URL): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** A legacy table for the bench mapping: its target config, the environment the runs need, and how to read the keys it holds. */
export interface Legacy {
  target: { kind: string; config: Record<string, unknown> };
  env: Record<string, string>;
  /** Every key the table holds, one entry per row. */
  keys(): Promise<string[]>;
}

/** A legacy table (UNIQUE key column, identity reference) in the work folder's SQLite file, or in `schema` on PostgreSQL reached at `url`. */
export async function legacyTable(work: WorkDir, place: Place, schema?: PgSchema, url = PG_URL): Promise<Legacy> {
  if (place === 'sqlite') {
    writeFileSync(join(work.dir, 'legacy.sql'), benchLegacyTableSql());
    const file = join(work.dir, 'legacy.sqlite');
    return {
      target: { kind: 'sqlite', config: { path: './legacy.sqlite', table: 'LEGACY', keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', setupSql: './legacy.sql' } },
      env: {},
      keys: async () => (await querySqlite<{ k: string }>(file, 'SELECT SUBMISSION_KEY AS k FROM LEGACY').catch(() => [])).map((r) => r.k),
    };
  }
  if (!schema) throw new Error('a PostgreSQL legacy table needs a schema');
  const table = `${schema.name}.legacy`;
  await schema.query(`CREATE TABLE ${table} (CASE_ID SERIAL PRIMARY KEY, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, ${BENCH_FIELDS.map((f) => `${f} TEXT`).join(', ')})`);
  return {
    target: { kind: 'sql', config: { url: { env: 'REKEY_LEGACY_URL' }, table, keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID' } },
    env: { REKEY_LEGACY_URL: url },
    keys: async () => (await schema.query(`SELECT submission_key AS k FROM ${table}`)).map((r) => String(r.k)),
  };
}

/** What the legacy system holds against what was submitted. */
export interface Tally {
  expected: number;
  held: number;
  lost: string[];
  duplicated: string[];
}

/** Compares the keys the legacy system holds (one per row) with the keys submitted. */
export function tally(submitted: readonly string[], held: readonly string[]): Tally {
  const seen = new Map<string, number>();
  for (const k of held) seen.set(k, (seen.get(k) ?? 0) + 1);
  return {
    expected: submitted.length,
    held: held.length,
    lost: submitted.filter((k) => !seen.has(k)),
    duplicated: [...seen].filter(([, n]) => n > 1).map(([k]) => k),
  };
}

/** A test's time limit for `runs` child processes of a few seconds each. */
export const timeoutFor = (runs: number) => 120_000 + runs * 6_000;

/**
 * `rekey run --json` on `work`'s pipeline as a real child process (state:
 * the folder's SQLite file unless `args` names another), sent `signal`
 * once `when` resolves (if it is still running); resolves when it exits.
 * Like the kill helper of the crash tests, with any signal and moment.
 */
export function runSignalled(work: WorkDir, signal: NodeJS.Signals, when: Promise<unknown>, env: Record<string, string> = {}, args: string[] = []): Promise<PassExit & { sent: boolean }> {
  return new Promise((resolve) => {
    const argv = [join(root, 'dist/runner/main.js'), 'run', '--json', '--state', `sqlite:${work.state}`, ...args, join(work.dir, 'pipeline.yaml')];
    const child = spawn(process.execPath, argv, {
      cwd: work.dir,
      env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    void when.then(() => {
      if (!exited) sent = child.kill(signal);
    });
    child.on('exit', (code, sig) => {
      exited = true;
      resolve({ code, signal: sig, stdout, stderr, sent });
    });
  });
}

/** Resolves `ms` from now. */
export const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `test` holds (looked at every 50 ms), or after `most` ms. */
export async function once(test: () => Promise<boolean>, most = 30_000): Promise<void> {
  for (let waited = 0; waited < most && !(await test()); waited += 50) await after(50);
}

/** `a x2, b` from a list of strings. */
export function counted(items: string[]): string {
  const n = new Map<string, number>();
  for (const i of items) n.set(i, (n.get(i) ?? 0) + 1);
  return [...n].map(([k, v]) => (v > 1 ? `${k} x${v}` : k)).join(', ');
}

/** Every key (`<form>/<REF>`) in the published CSV files of the file drop `drop`, one entry per record; checks each file whole against its manifest. */
export function droppedKeys(drop: string, form: string): string[] {
  if (!existsSync(drop)) return [];
  const keys: string[] = [];
  for (const name of readdirSync(drop).filter((n) => n.endsWith('.csv') && !n.startsWith('.'))) {
    const bytes = readFileSync(join(drop, name));
    const manifest = JSON.parse(readFileSync(join(drop, `${name}.manifest.json`), 'utf8')) as { sha256: string; records: number };
    expect(createHash('sha256').update(bytes).digest('hex'), `${name} whole`).toBe(manifest.sha256);
    const rows = parse(bytes, { columns: true }) as { REF: string }[];
    expect(rows, `${name}: as many records as its manifest says`).toHaveLength(manifest.records);
    keys.push(...rows.map((r) => `${form}/${r.REF}`));
  }
  return keys;
}
