/**
 * The file-drop target under kill -9: `rekey run` as a real child process,
 * killed with SIGKILL while a file is being written, after a finished file
 * is journalled but before its rename, and after the rename but before the
 * ledger records the delivery; then run again. Afterwards every submission
 * is in exactly one file, under its final name, at the record number the
 * ledger holds as its reference; no temporary file is left and no final
 * file was ever partial (each matches its manifest's SHA-256). Needs
 * `npm run build`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import sqlite3 from 'sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../../runner/cli.test-helpers.js';
import { makeSubmissions } from '../../bench/data.js';

const N = 230;
const all = makeSubmissions(N, 7);
const refs = all.map((s) => (s as { submission_reference: string }).submission_reference);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(rotate: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-drop-crash-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'in.ndjson'), all.map((s) => `${JSON.stringify(s)}\n`).join(''));
  copyFileSync(join(root, 'bench/mapping-12.yaml'), join(dir, 'mapping.yaml'));
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: drop-crash',
      'mapping: ./mapping.yaml',
      'source: { kind: file, config: { path: ./in.ndjson } }',
      `target: { kind: file-drop, config: { folder: ./drop, name: "ADDR_{seq:4}.csv", manifest: true, trigger: .ok, ${rotate} format: { kind: csv } } }`,
      'batch: { size: 20 }',
      'retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }',
      '',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string, env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'run', '--json', '--workers', '0', '--state', `sqlite:${join(dir, 'state.sqlite')}`, join(dir, 'pipeline.yaml')], {
      cwd: dir,
      env: { ...process.env, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.resume();
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

function ledger(dir: string): Promise<{ key: string; state: string; legacy_ref: string | null }[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(join(dir, 'state.sqlite'), sqlite3.OPEN_READONLY, (e) => e && reject(e));
    db.all("SELECT key, state, legacy_ref FROM ledger WHERE pipeline = 'drop-crash'", (e, rows) => {
      db.close();
      if (e) reject(e);
      else resolve(rows as { key: string; state: string; legacy_ref: string | null }[]);
    });
  });
}

/** Every final data file is whole (its manifest's hash) and a parseable CSV; returns REF -> `file#record` for every line. */
function finalFiles(dir: string): Map<string, string[]> {
  const where = new Map<string, string[]>();
  const names = readdirSync(join(dir, 'drop')).filter((n) => n.endsWith('.csv'));
  for (const name of names) {
    const bytes = readFileSync(join(dir, 'drop', name));
    const manifest = JSON.parse(readFileSync(join(dir, 'drop', `${name}.manifest.json`), 'utf8')) as { sha256: string; records: number };
    expect(createHash('sha256').update(bytes).digest('hex'), `${name} is whole`).toBe(manifest.sha256);
    const rows = parse(bytes, { columns: true }) as { REF: string }[];
    expect(rows).toHaveLength(manifest.records);
    rows.forEach((r, i) => where.set(r.REF, [...(where.get(r.REF) ?? []), `${name}#${i + 1}`]));
  }
  return where;
}

describe('file-drop crash: kill -9 while writing and around the rename, then restart', () => {
  it.each([
    ['while the one file of the run is being written', '', 'after-target-commit:3', 0],
    ['after a full file is journalled, before its rename', 'rotate: { records: 50 },', 'file-drop-before-rename:2', 1],
    ['after renames, before the ledger records the deliveries', 'rotate: { records: 50 },', 'after-target-commit:4', 1],
    ['after the end-of-run flush renamed the last file, before the ledger update', 'rotate: { records: 50 },', 'after-target-commit:13', 5],
  ])('%s', async (_name, rotate, crashAt, filesBefore) => {
    const dir = setup(rotate);
    const first = await run(dir, { REKEY_CRASH_AT: crashAt });
    expect(first.signal).toBe('SIGKILL');
    const before = finalFiles(dir);
    expect(new Set([...before.values()].map((at) => at[0]!.split('#')[0])).size).toBe(filesBefore);
    for (const [ref, at] of before) expect(at, ref).toHaveLength(1);
    const second = await run(dir);
    expect(second.code).toBe(0);
    expect(readdirSync(join(dir, 'drop')).filter((n) => n.startsWith('.'))).toEqual([]);
    const where = finalFiles(dir);
    expect([...where.keys()].sort()).toEqual([...refs].sort());
    for (const [ref, at] of where) expect(at, `${ref} in exactly one file`).toHaveLength(1);
    for (const [ref, at] of before) expect(where.get(ref)).toEqual(at);
    const rows = await ledger(dir);
    expect(rows).toHaveLength(N);
    for (const r of rows) {
      expect(r.state).toBe('delivered');
      expect([r.legacy_ref]).toEqual(where.get(r.key.split('/').pop()!));
    }
    for (const name of readdirSync(join(dir, 'drop')).filter((n) => n.endsWith('.csv'))) expect(readdirSync(join(dir, 'drop'))).toContain(`${name}.ok`);
  }, 120_000);
});
