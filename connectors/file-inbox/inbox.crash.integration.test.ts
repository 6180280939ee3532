/**
 * The inbox under kill -9: `rekey run` as a real child process, killed with
 * SIGKILL after it has claimed files and recorded some of their records,
 * then run again. The restart must take the dead runner's claims, record
 * every submission exactly once, deliver each once, and leave every file in
 * done and no claim behind. Needs `npm run build`.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { root, runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { makeSubmissions } from '../../bench/data.js';

const PER_FILE = 150;
const FILES = ['a.ndjson', 'b.ndjson'];
const FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'];
const all = makeSubmissions(PER_FILE * FILES.length, 11);
const keyOf = (s: object) => `${(s as { form_name: string }).form_name}/${(s as { submission_reference: string }).submission_reference}`;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-inbox-crash-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'inbox'));
  FILES.forEach((f, i) => {
    const body = all.slice(i * PER_FILE, (i + 1) * PER_FILE).map((s) => `${JSON.stringify(s)}\n`);
    writeFileSync(join(dir, 'inbox', f), body.join(''));
  });
  copyFileSync(join(root, 'bench/mapping-12.yaml'), join(dir, 'mapping.yaml'));
  writeFileSync(join(dir, 'legacy.sql'), `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`);
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: inbox-crash',
      'mapping: ./mapping.yaml',
      'source: { kind: inbox, config: { path: ./inbox, settle: 0s } }',
      'target: { kind: sqlite, config: { path: ./legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./legacy.sql } }',
      'batch: { size: 20 }',
      'retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }',
      '',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string, env: Record<string, string> = {}): Promise<PassExit> {
  return runPipelineProcess(dir, { env, args: ['--workers', '0'] });
}

function query<T>(file: string, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (e) => e && reject(e));
    db.all(sql, (e, rows) => {
      db.close();
      if (e) reject(e);
      else resolve(rows as T[]);
    });
  });
}

const ledgerKeys = async (dir: string) => (await query<{ key: string }>(join(dir, 'state.sqlite'), "SELECT key FROM ledger WHERE pipeline = 'inbox-crash'")).map((r) => r.key);
const claimFolders = (dir: string) => readdirSync(join(dir, 'inbox', '.processing'));
const claimed = (dir: string) => claimFolders(dir).flatMap((c) => readdirSync(join(dir, 'inbox', '.processing', c)));

describe('inbox crash: kill -9 after claiming and partly recording, then restart', () => {
  it.each([
    ['inside the first file', 'after-receive:3', 60, ['a.ndjson'], ['b.ndjson']],
    ['inside the second file, the first read whole but not yet moved', 'after-receive:10', 200, ['a.ndjson', 'b.ndjson'], []],
  ])(
    'killed %s: the restart takes the dead claim and records every submission exactly once',
    async (_what, point, recordedBefore, claimedBefore, waiting) => {
      const dir = setup();
      const crashed = await run(dir, { REKEY_CRASH_AT: point as string });
      expect(crashed.signal).toBe('SIGKILL');
      expect(await ledgerKeys(dir)).toHaveLength(recordedBefore as number);
      expect(claimed(dir).sort()).toEqual(claimedBefore);
      expect(readdirSync(join(dir, 'inbox')).filter((n) => n.endsWith('.ndjson'))).toEqual(waiting);
      expect(existsSync(join(dir, 'inbox', 'done')) ? readdirSync(join(dir, 'inbox', 'done')) : []).toEqual([]);

      const restarted = await run(dir);
      expect(restarted.code).toBe(0);
      const summary = JSON.parse(restarted.stdout) as Record<string, number>;
      expect(summary).toMatchObject({ read: all.length, receivedNew: all.length - (recordedBefore as number), duplicates: recordedBefore, unreadable: 0 });

      const keys = await ledgerKeys(dir);
      expect(keys).toHaveLength(all.length);
      expect(keys.sort()).toEqual(all.map(keyOf).sort());
      const legacy = await query<{ SUBMISSION_KEY: string; n: number }>(join(dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
      expect(legacy.filter((r) => r.n !== 1)).toEqual([]);
      expect(legacy).toHaveLength(all.length);
      expect(readdirSync(join(dir, 'inbox', 'done')).sort()).toEqual(FILES);
      expect(claimed(dir)).toEqual([]);
      expect(claimFolders(dir)).toHaveLength(1);
    },
    60_000,
  );
});
