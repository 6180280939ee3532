import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sqlite3 from 'sqlite3';
import { ConnectorErrors } from '../connectors/connector.errors.js';
import { rekey, root, runPipelineProcess } from './cli.test-helpers.js';

/** A SQLite database at `file` holding one table, not the one the pipeline names. */
function legacyWithOtherTable(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file);
    db.run('CREATE TABLE SOMETHING_ELSE (ID TEXT)', (e) => db.close(() => (e ? reject(e) : resolve())));
  });
}

describe('a pass that fails at connect (sqlite target, table missing), as processes', () => {
  it('prints rekey: CODE message and what to do, no stack, exits 1, and status shows the run failed with that code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-run-failure-'));
    const legacy = join(dir, 'legacy.sqlite');
    await legacyWithOtherTable(legacy);
    writeFileSync(
      join(dir, 'pipeline.yaml'),
      [
        'pipeline: missing-table',
        `mapping: ${join(root, 'examples/mappings/change-of-address.yaml')}`,
        'source:',
        '  kind: file',
        `  config: { path: ${join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson')} }`,
        'target:',
        '  kind: sqlite',
        '  config: { path: legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY }',
        '',
      ].join('\n'),
    );
    const run = await runPipelineProcess(dir, { args: ['--workers', '0'] });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`rekey: SQL_SCHEMA table DRV_ADDR_CHG does not exist in ${legacy}\n  ${ConnectorErrors.SQL_SCHEMA.hint}\n`);

    const state = ['--state', `sqlite:${join(dir, 'state.sqlite')}`];
    const [table, json] = await Promise.all([rekey(['status', ...state], dir), rekey(['status', '--json', ...state], dir)]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^missing-table\s.*\S+ failed: SQL_SCHEMA table DRV_ADDR_CHG does not exist in /m);
    expect(table.stdout).not.toContain('running or interrupted');
    expect(JSON.parse(json.stdout).pipelines[0].lastRun).toMatchObject({ error: { code: 'SQL_SCHEMA', disposition: 'fatal' }, finishedAt: expect.any(String) });

    const debug = await runPipelineProcess(dir, { args: ['--workers', '0', '--debug'] });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^rekey: SQL_SCHEMA table DRV_ADDR_CHG does not exist/);
    expect(debug.stderr).toMatch(/^ConnectorFailure: table DRV_ADDR_CHG does not exist[^\n]*\n\s+at /m);
  });
});
