/**
 * `npm run bench -- sqlite-drivers`: the two SQLite drivers Node 24 offers,
 * on the write the ledger does most (new rows, durably committed in
 * batches): the `sqlite3` package that Sequelize drives today (asynchronous,
 * one call per statement through libuv's pool), once with a prepared
 * statement per row and once with the state store's JSON row set (one
 * statement per batch, rows unpacked by `json_each`), and Node's built-in
 * `node:sqlite` (synchronous, on the calling thread) with a prepared
 * statement per row. Each writes the same rows into its own file, in WAL
 * mode with `synchronous=FULL` (an fsync per commit, as the ledger).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import sqlite3 from 'sqlite3';
import { cpuClock } from './cpu.js';
import type { Figure } from './mapping.bench.js';

const BATCH = 1_000;
const SCHEMA = 'CREATE TABLE rows (key TEXT PRIMARY KEY, content_hash TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL, received_at TEXT NOT NULL)';
const PRAGMAS = ['PRAGMA journal_mode=WAL', 'PRAGMA synchronous=FULL'];

interface Row {
  key: string;
  hash: string;
  body: string;
}

function makeRows(n: number): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ reference: `REF${i}`, surname: `Surname${i}`, postcode: 'SW1A 1AA', answers: { q1: 'yes', q2: i } });
    rows.push({ key: `form-1:REF${i}`, hash: i.toString(16).padStart(64, '0'), body });
  }
  return rows;
}

function figure(name: string, records: number, started: bigint, cpu: (n: number) => number): Figure {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name, records, seconds, perSecond: records / seconds, cpuMicrosPerRecord: cpu(records) };
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (e) => (e ? reject(e) : resolve())));
}

function openAsync(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (e) => (e ? reject(e) : resolve(db)));
  });
}

function closeAsync(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((e) => (e ? reject(e) : resolve())));
}

async function sqlite3PerRow(file: string, rows: Row[]): Promise<Figure> {
  const db = await openAsync(file);
  for (const p of PRAGMAS) await exec(db, p);
  await exec(db, SCHEMA);
  const stmt = db.prepare("INSERT INTO rows VALUES (?, ?, ?, 'received', ?)");
  const run = (r: Row, at: string) => new Promise<void>((resolve, reject) => stmt.run(r.key, r.hash, r.body, at, (e: Error | null) => (e ? reject(e) : resolve())));
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rows.length; i += BATCH) {
    await exec(db, 'BEGIN IMMEDIATE');
    const at = new Date().toISOString();
    await Promise.all(rows.slice(i, i + BATCH).map((r) => run(r, at)));
    await exec(db, 'COMMIT');
  }
  const f = figure('sqlite3, a prepared statement per row', rows.length, t0, cpu);
  await new Promise<void>((resolve) => stmt.finalize(() => resolve()));
  await closeAsync(db);
  return f;
}

async function sqlite3RowSet(file: string, rows: Row[]): Promise<Figure> {
  const db = await openAsync(file);
  for (const p of PRAGMAS) await exec(db, p);
  await exec(db, SCHEMA);
  const sql =
    "INSERT INTO rows SELECT value->>'$[0]', value->>'$[1]', value->>'$[2]', 'received', $at FROM json_each($rows)";
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rows.length; i += BATCH) {
    const set = JSON.stringify(rows.slice(i, i + BATCH).map((r) => [r.key, r.hash, r.body]));
    await exec(db, 'BEGIN IMMEDIATE');
    await new Promise<void>((resolve, reject) => db.run(sql, { $rows: set, $at: new Date().toISOString() }, (e) => (e ? reject(e) : resolve())));
    await exec(db, 'COMMIT');
  }
  const f = figure('sqlite3, a JSON row set per batch (the state store today)', rows.length, t0, cpu);
  await closeAsync(db);
  return f;
}

function nodeSqlitePerRow(file: string, rows: Row[]): Figure {
  const db = new DatabaseSync(file);
  for (const p of PRAGMAS) db.exec(p);
  db.exec(SCHEMA);
  const stmt = db.prepare("INSERT INTO rows VALUES (?, ?, ?, 'received', ?)");
  const cpu = cpuClock();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rows.length; i += BATCH) {
    db.exec('BEGIN IMMEDIATE');
    const at = new Date().toISOString();
    for (const r of rows.slice(i, i + BATCH)) stmt.run(r.key, r.hash, r.body, at);
    db.exec('COMMIT');
  }
  const f = figure('node:sqlite, a prepared statement per row', rows.length, t0, cpu);
  db.close();
  return f;
}

/** Writes `records` rows with each driver in turn and reports each rate, CPU per row, and its ratio to the state store's way today. */
export async function sqliteDriversBench(records: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-sqlite-drivers-'));
  try {
    const rows = makeRows(records);
    const figures = [
      await sqlite3RowSet(join(dir, 'row-set.sqlite'), rows),
      await sqlite3PerRow(join(dir, 'per-row.sqlite'), rows),
      nodeSqlitePerRow(join(dir, 'node-sqlite.sqlite'), rows),
    ];
    const base = figures[0]!.perSecond;
    return {
      figures,
      ratios: Object.fromEntries(figures.slice(1).map((f) => [`${f.name} / row set`, Number((f.perSecond / base).toFixed(2))])),
      batch: BATCH,
      node: process.version,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
