import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { openStateStore } from '../store/state-store.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { Ledger } from './ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const child = fileURLToPath(new URL('./receive-then-die.test-helpers.ts', import.meta.url));

function receiveThenDie(url: string, count: number): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, url, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.on('error', reject);
    p.on('exit', (_code, signal) => resolve({ signal, stdout }));
  });
}

describe.each(TEST_DIALECTS)('durability on %s', (dialect) => {
  let ts: TestStore | undefined;
  afterEach(() => ts?.dispose());

  it('keeps what receive acknowledged when the process is killed -9 right after', async () => {
    ts = await openTestStore(dialect);
    await ts.store.close();
    const r = await receiveThenDie(ts.url, 250);
    expect(r).toEqual({ signal: 'SIGKILL', stdout: 'received\n' });
    const store = await openStateStore(ts.url);
    onTestFinished(() => store.close());
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    expect((await ledger.counts('durable')).durable?.received).toBe(250);
    expect((await ledger.get('durable', 'K249'))?.body).toEqual({ i: 249 });
    const audit = await new AuditLog(store).verify();
    expect(audit).toMatchObject({ ok: true, entries: 1 });
  });
});
