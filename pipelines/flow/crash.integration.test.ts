/**
 * The crash harness (the named points guarantee kills mid-delivery; random
 * kills add moments nobody chose, and whether one lands mid-work is luck): `rekey run` as a real child process, killed with SIGKILL
 * at named points and at random moments, then run again; afterwards the
 * legacy table must hold every submission exactly once, the ledger must
 * say each was delivered, the audit log must hold one `received` and one
 * `delivered` record for each, and its hash chain must verify.
 */
import { appendFileSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { describe, expect, it } from 'vitest';
import { rekey, root, runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { makeSubmissions } from '../../bench/data.js';

const N = 300;
const FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'];

function lines(from: number, to: number): string {
  return makeSubmissions(N, 7)
    .slice(from, to)
    .map((s) => JSON.stringify(s) + '\n')
    .join('');
}

function setup(initial = N, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-crash-'));
  writeFileSync(join(dir, 'submissions.ndjson'), lines(0, initial));
  copyFileSync(join(root, 'bench/mapping-12.yaml'), join(dir, 'mapping.yaml'));
  writeFileSync(
    join(dir, 'legacy.sql'),
    `CREATE TABLE LEGACY (CASE_ID INTEGER PRIMARY KEY AUTOINCREMENT, SUBMISSION_KEY TEXT NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} TEXT`).join(', ')});\n`,
  );
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: crash-test',
      'mapping: ./mapping.yaml',
      'source: { kind: file, config: { path: ./submissions.ndjson } }',
      'target: { kind: sqlite, config: { path: ./legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./legacy.sql } }',
      'batch: { size: 20 }',
      'retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }',
      ...extra,
      '',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string, env: Record<string, string> = {}, killAfterMs?: number): Promise<PassExit> {
  return runPipelineProcess(dir, { env, ...(killAfterMs !== undefined && { killAfterMs }) });
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

async function expectEachOnce(dir: string): Promise<void> {
  const rows = await query<{ SUBMISSION_KEY: string; n: number }>(join(dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
  const expected = makeSubmissions(N, 7).map((s) => `${(s as { form_name: string }).form_name}/${(s as { submission_reference: string }).submission_reference}`);
  expect(rows.filter((r) => r.n !== 1)).toEqual([]);
  expect(rows.map((r) => r.SUBMISSION_KEY).sort()).toEqual([...expected].sort());
  const states = await query<{ state: string; n: number }>(join(dir, 'state.sqlite'), "SELECT state, COUNT(*) AS n FROM ledger WHERE pipeline = 'crash-test' GROUP BY state");
  expect(states).toEqual([{ state: 'delivered', n: N }]);
  const audited = await query<{ event: string; keys: number; entries: number }>(
    join(dir, 'state.sqlite'),
    `SELECT a.event, COUNT(DISTINCT l.key) AS keys, COUNT(*) AS entries FROM audit_keys k JOIN audit_log a ON a.seq = k.seq JOIN ledger l ON l.id = k.ledger_id
     WHERE l.pipeline = 'crash-test' AND a.event IN ('received', 'delivered') GROUP BY a.event ORDER BY a.event`,
  );
  expect(audited).toEqual([
    { event: 'delivered', keys: N, entries: N },
    { event: 'received', keys: N, entries: N },
  ]);
  const verify = await rekey(['audit', 'verify', '--state', `sqlite:${join(dir, 'state.sqlite')}`], dir);
  expect(verify.stdout).toMatch(/^audit log OK: /);
  expect(verify.code).toBe(0);
}

async function finish(dir: string): Promise<PassExit> {
  let last: PassExit | undefined;
  for (let i = 0; i < 5; i++) {
    last = await run(dir);
    if (!last.stdout.trim()) throw new Error(`rekey run printed no summary (exit ${last.code}): ${last.stderr.slice(-2000)}`);
    const summary = JSON.parse(last.stdout) as { waitingRetry: number; delivered: number };
    if (last.code === 0 && summary.waitingRetry === 0 && summary.delivered === 0) break;
  }
  return last!;
}

describe('crash harness: kill -9, restart, every submission keyed exactly once', () => {
  it.each(['after-receive', 'after-delivering', 'after-target-commit', 'after-ledger-delivered'])(
    'killed at %s, then restarted',
    async (point) => {
      const dir = setup();
      const crashed = await run(dir, { REKEY_CRASH_AT: `${point}:${point === 'after-receive' ? 1 : 3}` });
      expect(crashed.signal).toBe('SIGKILL');
      const done = await finish(dir);
      expect(done.code).toBe(0);
      await expectEachOnce(dir);
    },
    60_000,
  );

  it(
    'killed at random moments many times over, with new submissions arriving, then restarted',
    async () => {
      // Each run has about a second of paced delivery after start-up, so most random kills land mid-work, however fast the machine.
      const step = 20;
      const dir = setup(N - 12 * step, ['limits: { ratePerSecond: 20 }']);
      let killed = 0;
      for (let i = 0; i < 12; i++) {
        const r = await run(dir, {}, 900 + Math.floor(Math.random() * 2200));
        if (r.signal === 'SIGKILL') killed++;
        appendFileSync(join(dir, 'submissions.ndjson'), lines(N - (12 - i) * step, N - (11 - i) * step));
      }
      expect(killed).toBeGreaterThan(0);
      const done = await finish(dir);
      expect(done.code).toBe(0);
      await expectEachOnce(dir);
    },
    120_000,
  );
});
