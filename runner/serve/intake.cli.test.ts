import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { rekey, root } from '../cli.test-helpers.js';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { openRuntime } from '../runtime.js';
import { FORM, post, refOf, SECRET, submissionWithRef, writeWebhookPipeline } from './intake.test-helpers.js';

process.env.REKEY_AUDIT_PII_KEY = '00112233445566778899aabbccddeeff';
process.env.HOOK_SECRET = SECRET;
// serve, the later `rekey run` and this process must share one data key (rekey() gives children TEST_DATA_KEY)
process.env.REKEY_DATA_KEY = TEST_DATA_KEY;
const env = { ...process.env, NO_COLOR: '1' };

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts `rekey serve <dir>/pipelines` on an ephemeral port and resolves once it listens. */
async function startServe(dir: string): Promise<Served> {
  const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'pipelines'), '--port', '0', '--state', `sqlite:${join(dir, 'state.sqlite')}`], {
    cwd: dir,
    env: { ...env, REKEY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-intake-cli-'));
  dirs.push(dir);
  writeWebhookPipeline(join(dir, 'pipelines'), 'hook');
  return dir;
}

async function legacyKeys(file: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  try {
    return await new Promise<string[]>((resolve, reject) =>
      db.all('SELECT SUBMISSION_KEY AS k FROM DRV_ADDR_CHG ORDER BY SUBMISSION_KEY', (err, rows: { k: string }[]) => (err ? reject(err) : resolve(rows.map((r) => r.k)))),
    );
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

async function ledgerRows(dir: string): Promise<{ key: string; state: string }[]> {
  const runtime = await openRuntime(`sqlite:${join(dir, 'state.sqlite')}`);
  try {
    return (await runtime.ledger.list('hook', { limit: 1_000_000 })).map((r) => ({ key: r.key, state: r.state }));
  } finally {
    await runtime.close();
  }
}

const keyOf = (ref: string) => `${FORM}/${ref}`;

describe('webhook intake through the real `rekey serve` process', () => {
  it('accepts a signed submission, refuses a badly signed one, delivers the accepted one without a schedule, and stops cleanly', async () => {
    const dir = newDir();
    const served = await startServe(dir);
    const intake = `${served.url}/intake/hook`;
    const good = await post(intake, submissionWithRef('CA3HJ7WR'));
    expect(good.status).toBe(202);
    expect(good.json).toEqual({ key: keyOf('CA3HJ7WR'), status: 'accepted' });
    const bad = await post(intake, submissionWithRef('CA3HJ7WX'), { secret: 'not-the-shared-secret-at-all' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ error: { code: 'WEBHOOK_BAD_SIGNATURE', message: 'the signature does not match the body and timestamp' } });
    let legacy: string[] = [];
    for (let i = 0; i < 100 && legacy.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      legacy = await legacyKeys(join(dir, 'pipelines/hook.legacy.sqlite')).catch(() => []);
    }
    expect(legacy).toEqual([keyOf('CA3HJ7WR')]);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(served.stderr()).not.toContain(SECRET);
    expect(served.stderr()).not.toContain('OCONN806143SP9TK');
    expect(await ledgerRows(dir)).toEqual([{ key: keyOf('CA3HJ7WR'), state: 'delivered' }]);
  }, 60_000);

  it('loses no acknowledged submission when killed with SIGKILL mid-load; after a restart each is delivered once', async () => {
    const dir = newDir();
    const first = await startServe(dir);
    const intake = `${first.url}/intake/hook`;
    const total = 4000;
    const concurrency = 64;
    const acked = new Set<string>();
    const refused = new Set<string>();
    const unanswered = new Set<string>();
    const sent = new Set<string>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < total) {
        const key = keyOf(refOf(next));
        const body = submissionWithRef(refOf(next++));
        sent.add(key);
        try {
          const res = await post(intake, body);
          if (res.status === 202) {
            expect(res.json.key).toBe(key);
            acked.add(key);
          } else refused.add(key);
        } catch {
          unanswered.add(key);
        }
        if (!killed && acked.size >= 1500) {
          killed = true;
          first.child.kill('SIGKILL');
        }
        if (killed) return;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(killed).toBe(true);
    expect(await first.exited).toBeNull();
    expect(acked.size).toBeGreaterThanOrEqual(1500);

    const second = await startServe(dir);
    const rows = await ledgerRows(dir);
    const inLedger = new Set(rows.map((r) => r.key));
    const missing = [...acked].filter((k) => !inLedger.has(k));
    expect(missing).toEqual([]);
    const phantom = [...inLedger].filter((k) => !sent.has(k));
    expect(phantom).toEqual([]);
    const recordedUnacked = [...inLedger].filter((k) => !acked.has(k));
    expect(recordedUnacked.every((k) => unanswered.has(k) || refused.has(k))).toBe(true);

    const resent = await Promise.all([...unanswered].slice(0, 50).map((k) => post(`${second.url}/intake/hook`, submissionWithRef(k.split('/')[1]!))));
    for (const r of resent) expect(r.status).toBe(202);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const run = await rekey(['run', '--json', '--state', `sqlite:${join(dir, 'state.sqlite')}`, join(dir, 'pipelines/hook.yaml')], dir);
    expect(run.stderr).not.toMatch(/"level":50/);
    const after = await ledgerRows(dir);
    expect(after.filter((r) => r.state !== 'delivered')).toEqual([]);
    const legacy = await legacyKeys(join(dir, 'pipelines/hook.legacy.sqlite')).catch(() => []);
    expect(legacy).toEqual(after.map((r) => r.key).sort());
    expect(new Set(legacy).size).toBe(legacy.length);
    const delivered = new Set(legacy);
    expect([...acked].filter((k) => !delivered.has(k))).toEqual([]);
  }, 180_000);
});
