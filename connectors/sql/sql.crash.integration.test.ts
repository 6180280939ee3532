/**
 * The crash harness on the server databases: `rekey run` as a real child
 * process writing into PostgreSQL and MariaDB through the `sql` target,
 * killed (SIGKILL) right after the target committed a batch and before the
 * ledger heard of it, then run again: every submission must be in the legacy
 * table exactly once and the ledger must say each was delivered.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, runPipelineProcess, type PassExit } from '../../runner/cli.test-helpers.js';
import { makeSubmissions } from '../../bench/data.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb } from './sql.test-helpers.js';

const N = 200;
const FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'];

function setup(db: LegacyDb, batch: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-sql-crash-'));
  writeFileSync(join(dir, 'submissions.ndjson'), makeSubmissions(N, 11).map((s) => JSON.stringify(s) + '\n').join(''));
  copyFileSync(join(root, 'bench/mapping-12.yaml'), join(dir, 'mapping.yaml'));
  writeFileSync(
    join(dir, 'pipeline.yaml'),
    [
      'pipeline: sql-crash-test',
      'mapping: ./mapping.yaml',
      'source: { kind: file, config: { path: ./submissions.ndjson } }',
      `target: { kind: sql, config: { url: { env: REKEY_LEGACY_URL }, table: ${db.t('legacy')}, keyColumn: SUBMISSION_KEY, batchSize: 25 } }`,
      `batch: { size: ${batch} }`,
      'retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }',
      '',
    ].join('\n'),
  );
  return dir;
}

function run(dir: string, db: LegacyDb, env: Record<string, string> = {}): Promise<PassExit> {
  return runPipelineProcess(dir, { env: { REKEY_LEGACY_URL: db.url, ...env } });
}

describe.each([
  ['PostgreSQL', legacyPostgres, 'VARCHAR(200)', 20, 3],
  ['MariaDB', legacyMariaDb, 'VARCHAR(200)', 20, 3],
  ['PostgreSQL, COPY path (batches of 100)', legacyPostgres, 'VARCHAR(200)', 100, 1],
])('crash harness on %s: killed after the target commit, restarted, each submission keyed once', (_name, make, text, batch, crashAt) => {
  let db: LegacyDb;
  let dir: string;
  beforeAll(async () => {
    db = await make();
    const id = db.dialect === 'postgres' ? 'CASE_ID INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'CASE_ID INT AUTO_INCREMENT PRIMARY KEY';
    await db.query(`CREATE TABLE ${db.t('legacy')} (${id}, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, ${FIELDS.map((f) => `${f} ${text}`).join(', ')})`);
    dir = setup(db, batch);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`killed at after-target-commit (batch ${crashAt}), then run to the end`, async () => {
    const crashed = await run(dir, db, { REKEY_CRASH_AT: `after-target-commit:${crashAt}` });
    expect(crashed.signal).toBe('SIGKILL');
    const [{ n: written } = { n: 0 }] = await db.query(`SELECT COUNT(*) AS n FROM ${db.t('legacy')}`);
    expect(Number(written)).toBeGreaterThan(0);
    let done = await run(dir, db);
    for (let i = 0; i < 4 && JSON.parse(done.stdout).waitingRetry > 0; i++) done = await run(dir, db);
    expect(done.code).toBe(0);
    const rows = await db.query(`SELECT SUBMISSION_KEY AS k, COUNT(*) AS n FROM ${db.t('legacy')} GROUP BY SUBMISSION_KEY`);
    const expected = makeSubmissions(N, 11).map((s) => `${(s as { form_name: string }).form_name}/${(s as { submission_reference: string }).submission_reference}`);
    expect(rows.filter((r) => Number(r.n) !== 1)).toEqual([]);
    expect(rows.map((r) => String(r.k)).sort()).toEqual([...expected].sort());
    const { execFileSync } = await import('node:child_process');
    const status = execFileSync(process.execPath, [join(root, 'dist/runner/main.js'), 'status', '--json', '--state', `sqlite:${join(dir, 'state.sqlite')}`], { cwd: dir, encoding: 'utf8' });
    expect(status).toMatch(/"delivered":\s*200/);
  }, 120_000);
});
