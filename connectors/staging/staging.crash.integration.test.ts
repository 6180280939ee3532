/**
 * The staging-table source through the real `rekey run` (built: `npm run
 * build` first) as a child process: killed with SIGKILL after part of the
 * rows are in the ledger and before the source commits, then run again.
 * The rows must be read again (their claims are taken back at once, the
 * dead runner being on this host), recorded once (the ledger knows the
 * first part) and keyed once; none may be lost. Also: a database URL with a
 * password never reaches the output.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { makeSubmissions } from '../../bench/data.js';
import { BENCH_MAPPING } from '../conformance/bench-bodies.js';
import { benchLegacyTableSql, querySqlite } from '../conformance/conformance.run.js';
import type { StagingDialect } from './staging.db.js';
import { createStatusTable, createWatermarkTable, dropTable, testDb, uniqueTable } from './staging.test-helpers.js';

const N = 60;

function run(dir: string, env: Record<string, string>): Promise<PassExit> {
  return runPipelineProcess(dir, { env });
}

function legacyKeys(dir: string): Promise<{ SUBMISSION_KEY: string; n: number }[]> {
  return querySqlite(join(dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
}

function pipelineDir(table: string, mode = '    status: { column: STATUS, new: NEW, claimed: CLAIMED, done: DONE, messageColumn: ERROR_MESSAGE }'): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-staging-crash-'));
  copyFileSync(BENCH_MAPPING, join(dir, 'mapping.yaml'));
  writeFileSync(join(dir, 'legacy.sql'), benchLegacyTableSql());
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: staging-crash',
      'mapping: ./mapping.yaml',
      'source:',
      '  kind: staging-table',
      '  config:',
      '    url: { env: STAGING_URL }',
      `    table: ${table}`,
      '    keyColumn: ID',
      '    body: { json: PAYLOAD }',
      '    batchSize: 25',
      mode,
      'target: { kind: sqlite, config: { path: ./legacy.sqlite, table: LEGACY, keyColumn: SUBMISSION_KEY, setupSql: ./legacy.sql } }',
      'batch: { size: 10 }',
      '',
    ].join('\n'),
  );
  return dir;
}

describe.each<StagingDialect>(['sqlite', 'postgres', 'mariadb'])('staging-table source on %s through `rekey run`, killed with SIGKILL', (dialect) => {
  const db = testDb(dialect);
  const tables: string[] = [];
  afterAll(async () => {
    for (const t of tables) await dropTable(db, t);
    await db.close();
  });

  it(
    'reads the claimed rows again after the kill, records each once and marks every row DONE',
    async () => {
      const table = uniqueTable('FORM_SUBMISSIONS');
      tables.push(table);
      await createStatusTable(db, table);
      const subs = makeSubmissions(N, 7);
      for (const [i, s] of subs.entries()) await db.query(`INSERT INTO ${table} (ID, REF, PAYLOAD) VALUES ($1, $2, $3)`, [i + 1, `R${i + 1}`, JSON.stringify(s)]);
      const dir = pipelineDir(table);
      const env = { STAGING_URL: db.url };

      const crashed = await run(dir, { ...env, REKEY_CRASH_AT: 'after-receive:2' });
      expect(crashed.signal).toBe('SIGKILL');
      const left = await db.query(`SELECT STATUS AS s, COUNT(*) AS n FROM ${table} GROUP BY STATUS ORDER BY STATUS`);
      expect(left.map((r) => [r.s, Number(r.n)])).toEqual([
        ['CLAIMED', 25],
        ['NEW', N - 25],
      ]);

      const again = await run(dir, env);
      expect(again.stderr).not.toMatch(/"level":(50|60)/);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ read: N, receivedNew: N - 20, duplicates: 20, unreadable: 0, delivered: N });
      const done = await db.query(`SELECT STATUS AS s, COUNT(*) AS n FROM ${table} GROUP BY STATUS`);
      expect(done.map((r) => [r.s, Number(r.n)])).toEqual([['DONE', N]]);
      const keyed = await legacyKeys(dir);
      expect(keyed).toHaveLength(N);
      expect(keyed.filter((r) => r.n !== 1)).toEqual([]);

      const third = await run(dir, env);
      expect(JSON.parse(third.stdout)).toMatchObject({ read: 0, receivedNew: 0, delivered: 0 });
    },
    90_000,
  );
});

describe.each<StagingDialect>(['sqlite', 'postgres'])('staging-table source in watermark mode on %s through `rekey run`, killed with SIGKILL', (dialect) => {
  const db = testDb(dialect);
  const tables: string[] = [];
  afterAll(async () => {
    for (const t of tables) await dropTable(db, t);
    await db.close();
  });

  it(
    'leaves the watermark where it was after the kill; the next run reads the rows again and records each once',
    async () => {
      const table = uniqueTable('FORM_FEED');
      const state = uniqueTable('REKEY_WM').toLowerCase();
      tables.push(table, state);
      await createWatermarkTable(db, table);
      const subs = makeSubmissions(N, 11);
      for (const [i, s] of subs.entries()) await db.query(`INSERT INTO ${table} (ID, SEQ, REF, PAYLOAD) VALUES ($1, $2, $3, $4)`, [i + 1, Math.ceil((i + 1) / 4), `R${i + 1}`, JSON.stringify(s)]);
      const dir = pipelineDir(table, `    watermark: { column: SEQ, stateTable: ${state} }`);
      const env = { STAGING_URL: db.url };
      const mark = async () => (await db.query(`SELECT mark, mark_key, owner FROM ${state}`)).map((r) => [r.mark, r.mark_key]);

      const crashed = await run(dir, { ...env, REKEY_CRASH_AT: 'after-receive:2' });
      expect(crashed.signal).toBe('SIGKILL');
      expect(await mark()).toEqual([[null, null]]);

      const again = await run(dir, env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ read: N, receivedNew: N - 20, duplicates: 20, delivered: N });
      expect(await mark()).toEqual([[String(N / 4), String(N)]]);
      const keyed = await legacyKeys(dir);
      expect(keyed).toHaveLength(N);
      expect(keyed.filter((r) => r.n !== 1)).toEqual([]);
      expect(JSON.parse((await run(dir, env)).stdout)).toMatchObject({ read: 0, receivedNew: 0 });
    },
    90_000,
  );
});

describe('staging-table source: a database URL with a password', () => {
  it('never shows the password in the output of a failed run', async () => {
    const dir = pipelineDir('FORM_SUBMISSIONS');
    const secret = 'Pa55-w0rd-never-shown';
    const r = await run(dir, { STAGING_URL: `postgres://postgres:${secret}@127.0.0.1:1/test`, REKEY_LOG_LEVEL: 'debug' });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout + r.stderr).toContain('postgres://postgres:***@127.0.0.1:1/test');
  }, 120_000);
});
