/**
 * The staging-table example (examples/pipelines/staging-change-of-address.yaml)
 * from a copy of the repository's files, through the built CLI: the staging
 * table made as its header says, one run, then a run that finds nothing new.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { describe, expect, it } from 'vitest';
import { rekey, root } from '../../runner/cli.test-helpers.js';

function sqlite<T>(file: string, sql: string, all = true): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (e) => e && reject(e));
    const done = (e: Error | null, rows?: unknown[]) => {
      db.close();
      if (e) reject(e);
      else resolve((rows ?? []) as T[]);
    };
    if (all) db.all(sql, done);
    else db.exec(sql, done);
  });
}

describe('example pipeline staging-change-of-address (as a process)', () => {
  it('reads the staging table, keys what maps, marks rows DONE or ERROR, and finds nothing new the second time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-staging-example-'));
    for (const f of [
      'examples/pipelines/staging-change-of-address.yaml',
      'examples/mappings/change-of-address.yaml',
      'fixtures/legacy/drv_addr_chg.sqlite.sql',
      'fixtures/staging/form_submissions.sqlite.sql',
    ]) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      copyFileSync(join(root, f), join(dir, f));
    }
    mkdirSync(join(dir, '.rekey'));
    const staging = join(dir, '.rekey/staging.sqlite');
    await sqlite(staging, readFileSync(join(dir, 'fixtures/staging/form_submissions.sqlite.sql'), 'utf8'), false);

    const first = await rekey(['run', '--json', 'examples/pipelines/staging-change-of-address.yaml'], dir);
    expect(JSON.parse(first.stdout)).toMatchObject({ pipeline: 'staging-change-of-address', read: 11, unreadable: 1, receivedNew: 11, rejected: 5, delivered: 6 });
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('staging:FORM_SUBMISSIONS');
    const rows = await sqlite<{ ID: number; STATUS: string; ERROR_MESSAGE: string | null }>(staging, 'SELECT ID, STATUS, ERROR_MESSAGE FROM FORM_SUBMISSIONS ORDER BY ID');
    expect(rows.filter((r) => r.STATUS === 'DONE').map((r) => r.ID)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rows[11]).toEqual({ ID: 12, STATUS: 'ERROR', ERROR_MESSAGE: 'FORM_SUBMISSIONS row 12: column PAYLOAD is not valid JSON (it ends too soon: cut off?)' });

    const second = await rekey(['run', '--json', 'examples/pipelines/staging-change-of-address.yaml'], dir);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 0, unreadable: 0, receivedNew: 0, delivered: 0 });
    expect(second.code).toBe(0);
  }, 60_000);
});
