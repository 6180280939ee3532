/**
 * The inbox example pipeline as users run it: `rekey validate`, `rekey run`
 * from a fresh copy (the inbox made on first use, then a dropped file read
 * and sealed into done), and `rekey serve` woken by a file arriving rather than
 * by its schedule. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rekey, root } from '../../runner/cli.test-helpers.js';

const PIPELINE = 'examples/pipelines/inbox-change-of-address.yaml';
const env = { REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff' };
const fixture = (name: string) => join(root, 'fixtures/submissions/govuk-forms', name);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-inbox-example-'));
  dirs.push(dir);
  for (const f of [PIPELINE, 'examples/mappings/change-of-address.yaml', 'fixtures/legacy/drv_addr_chg.sqlite.sql']) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

function dropOld(from: string, inbox: string): void {
  const to = join(inbox, from.slice(from.lastIndexOf('/') + 1));
  copyFileSync(from, to);
  const old = new Date(Date.now() - 60_000);
  utimesSync(to, old, old);
}

describe('the inbox example pipeline', () => {
  it('validates', async () => {
    const r = await rekey(['validate', PIPELINE]);
    expect(r.stderr).toBe('1 file(s) valid\n');
    expect(r.code).toBe(0);
  });

  it('runs from a fresh copy: the inbox is made, then a dropped CSV export is read and moved to done', async () => {
    const dir = freshCopy();
    const inbox = join(dir, '.rekey/inbox/change-of-address');
    const empty = await rekey(['run', '--json', PIPELINE], dir);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toMatchObject({ read: 0, unreadable: 0 });
    expect(readdirSync(inbox).sort()).toEqual(['.processing', 'done', 'quarantine']);

    dropOld(fixture('change-of-address.csv'), inbox);
    const r = await rekey(['run', '--json', PIPELINE], dir);
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 9, receivedNew: 9, unreadable: 0, dead: 0 });
    expect(readdirSync(join(inbox, 'done'))).toEqual(['change-of-address.csv.sealed']);
    expect(readdirSync(inbox).sort()).toEqual(['.processing', 'done', 'quarantine']);
  });

  it('under rekey serve, a file arriving wakes a pass without waiting for the schedule', async () => {
    const dir = freshCopy();
    const file = join(dir, PIPELINE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('settle: 2s', 'settle: 300ms').replace('pollInterval: 10s', 'pollInterval: 1h'));
    const inbox = join(dir, '.rekey/inbox/change-of-address');
    mkdirSync(inbox, { recursive: true });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'examples/pipelines'), '--port', String(port)], {
      cwd: dir,
      env: { ...process.env, ...env, REKEY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    type Status = { pipelines: { name: string; counts: Record<string, number> }[] };
    const status = async () => (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Status;
    try {
      await expect.poll(() => status().then((s) => s.pipelines[0]?.name, () => undefined), { timeout: 15_000, interval: 200 }).toBe('inbox-change-of-address');
      copyFileSync(fixture('change-of-address.ndjson'), join(inbox, 'change-of-address.ndjson'));
      const total = async () => Object.values((await status()).pipelines[0]?.counts ?? {}).reduce((a, b) => a + b, 0);
      await expect.poll(total, { timeout: 20_000, interval: 200 }).toBe(11);
      await expect.poll(() => readdirSync(join(inbox, 'done')), { timeout: 5_000, interval: 100 }).toEqual(['change-of-address.ndjson.sealed']);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":50/);
  }, 60_000);
});
