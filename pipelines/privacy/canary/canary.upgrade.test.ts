/**
 * The canary suite's upgrade path: a SQLite state store written by a rekey
 * from before encryption at rest (bodies in clear, `kid` null) is opened by
 * today's CLI; once the process is gone, no byte of the file, its -wal or
 * its -shm holds a citizen's value.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY, TEST_KEYS } from '../../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../audit/audit-log.js';
import { Ledger } from '../../ledger/ledger.js';
import { openStateStore } from '../../store/state-store.js';
import { root, TEST_PII_KEY_HEX } from '../../../runner/cli.test-helpers.js';
import { Canaries, report, scanBytes } from './canary.test-helpers.js';
import { person, submission } from './canary.people.test-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rekey-canary-upgrade-'));
const file = join(dir, 'state.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function exec(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (e) => (e ? reject(e) : resolve())));
}

describe('the canary suite: a state store from before encryption at rest', () => {
  it('holds no clear body in any byte once today\'s rekey has opened it and exited', async () => {
    const canaries = new Canaries();
    const people = ['upgrade-1', 'upgrade-2', 'upgrade-3'].map((tag) => person(canaries, tag));
    const store = await openStateStore(`sqlite:${file}`);
    try {
      const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
      const run = await ledger.startRun('canary-upgrade', 'runner:test', null);
      await ledger.receive('canary-upgrade', run, people.map((p) => ({ key: p.key, contentHash: `sha256:${p.ref}`, body: submission(p), source: `upgrade.ndjson:${p.tag}` })), 'runner:test');
    } finally {
      await store.close();
    }

    const db = new sqlite3.Database(file);
    try {
      for (const p of people) {
        await exec(db, 'UPDATE ledger_bodies SET body = ?, kid = NULL, dek = NULL WHERE id = (SELECT id FROM ledger WHERE pipeline = ? AND key = ?)', [JSON.stringify(submission(p)), 'canary-upgrade', p.key]);
      }
    } finally {
      await new Promise<void>((resolve) => db.close(() => resolve()));
    }
    const before = report(scanBytes(canaries, 'state.sqlite', readFileSync(file)));
    expect(before.length, 'clear bodies planted as an older rekey left them').toBeGreaterThan(20);

    const out = await new Promise<{ code: number; text: string }>((resolve) =>
      execFile(
        process.execPath,
        [join(root, 'dist/runner/main.js'), 'keys', 'rotate', '--state', `sqlite:${file}`],
        { cwd: dir, env: { ...process.env, REKEY_DATA_KEY: TEST_DATA_KEY, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, NO_COLOR: '1' } },
        (e, stdout, stderr) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, text: `${stdout}${stderr}` }),
      ),
    );
    expect(out.code, out.text).toBe(0);
    const leaks = ['state.sqlite', 'state.sqlite-wal', 'state.sqlite-shm']
      .filter((f) => existsSync(join(dir, f)))
      .flatMap((f) => scanBytes(canaries, f, readFileSync(join(dir, f))));
    expect(report(leaks), 'clear bytes left after sealing').toEqual([]);
  });
});
