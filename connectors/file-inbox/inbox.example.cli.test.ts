/**
 * The inbox example pipeline as users run it: `rekey validate`, `rekey run`
 * from a fresh copy (the inbox made on first use, then a dropped file read
 * and sealed into done), and `rekey serve` woken by a file arriving rather than
 * by its schedule; `rekey files` listing what done and quarantine keep
 * (ciphertext only) and `--open` giving back the bytes dropped, audited.
 * Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, rekeyCli as rekey, root } from '../../runner/cli.test-helpers.js';
import { querySqlite } from '../conformance/conformance.run.js';
import { SEALED_FILE_MAGIC } from '../../lib/envelope.js';

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

  it('keeps only ciphertext in done and quarantine; rekey files lists it and --open gives back the exact bytes, audited', async () => {
    const dir = freshCopy();
    const inbox = join(dir, '.rekey/inbox/change-of-address');
    const name = 'inbox-change-of-address';
    mkdirSync(inbox, { recursive: true });
    dropOld(fixture('change-of-address.csv'), inbox);
    const broken = join(dir, 'broken.ndjson');
    writeFileSync(broken, '{"submission_reference": "Zqx7Canary", "name": "Zqx7Canary Jones\n');
    dropOld(broken, inbox);
    const r = await rekey(['run', '--json', PIPELINE], dir);
    expect(JSON.parse(r.stdout)).toMatchObject({ read: 9, receivedNew: 9, unreadable: 1 });
    expect(readdirSync(join(inbox, 'done'))).toEqual(['change-of-address.csv.sealed']);
    expect(readdirSync(join(inbox, 'quarantine')).sort()).toEqual(['broken.ndjson.error.json', 'broken.ndjson.sealed']);
    const sealedCsv = join(inbox, 'done', 'change-of-address.csv.sealed');
    const sealedBroken = join(inbox, 'quarantine', 'broken.ndjson.sealed');
    for (const f of [sealedCsv, sealedBroken]) {
      const bytes = readFileSync(f);
      expect(bytes.subarray(0, SEALED_FILE_MAGIC.length).equals(SEALED_FILE_MAGIC)).toBe(true);
      for (const clear of ['Zqx7Canary', 'Reference,Submitted at', 'OCONN806143SP9TK', 'sean.oconnor@example.com', 'M1 1AE', 'submission_reference']) expect(bytes.includes(clear)).toBe(false);
    }
    expect(readFileSync(join(inbox, 'quarantine', 'broken.ndjson.error.json'), 'utf8')).not.toContain('Zqx7Canary');

    const listed = await rekey(['files', name, '--json'], dir);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      pipeline: name,
      files: expect.arrayContaining([
        { kind: 'inbox-done', subject: null, path: sealedCsv, created: expect.stringMatching(/^\d{4}-/) },
        { kind: 'inbox-quarantine', subject: null, path: sealedBroken, created: expect.stringMatching(/^\d{4}-/) },
      ]),
    });
    const table = await rekey(['files', name, '--kind', 'inbox-quarantine'], dir);
    expect(table.stdout).toContain(sealedBroken);
    expect(table.stdout).not.toContain(sealedCsv);

    const out = join(dir, 'fixed', 'broken.ndjson');
    mkdirSync(join(dir, 'fixed'));
    const opened = await rekey(['files', name, '--open', sealedBroken, '--out', out, '--operator', 'alice'], dir);
    expect(opened.stderr).toBe('');
    expect(opened.code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(broken))).toBe(true);
    expect(statSync(out).mode & 0o077).toBe(0);
    const csvOut = join(dir, 'fixed', 'again.csv');
    expect((await rekey(['files', name, '--open', sealedCsv, '--out', csvOut], dir)).code).toBe(0);
    expect(readFileSync(csvOut).equals(readFileSync(fixture('change-of-address.csv')))).toBe(true);

    const audited = await querySqlite<{ actor: string; detail: string }>(join(dir, '.rekey/state.sqlite'), "SELECT actor, detail FROM audit_log WHERE event = 'evidence-opened' ORDER BY seq");
    expect(audited.map((a) => ({ actor: a.actor, detail: JSON.parse(a.detail) as unknown }))).toEqual([
      { actor: 'operator:alice', detail: { keys: [], files: ['broken.ndjson.sealed'], kind: 'inbox-quarantine' } },
      { actor: expect.stringMatching(/^operator:/), detail: { keys: [], files: ['change-of-address.csv.sealed'], kind: 'inbox-done' } },
    ]);

    const again = await rekey(['files', name, '--open', sealedBroken, '--out', out], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists');
    expect((await rekey(['files', name, '--open', sealedBroken], dir)).code).toBe(2);
    const unknown = await rekey(['files', name, '--open', join(inbox, 'done', 'nothing.sealed'), '--out', join(dir, 'x')], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('SEALED_FILE_UNKNOWN');
    expect(await querySqlite(join(dir, '.rekey/state.sqlite'), "SELECT seq FROM audit_log WHERE event = 'evidence-opened'")).toHaveLength(2);
  }, 120_000);

  it('under rekey serve, a file arriving wakes a pass without waiting for the schedule', async () => {
    const dir = freshCopy();
    const file = join(dir, PIPELINE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('settle: 2s', 'settle: 300ms').replace('pollInterval: 10s', 'pollInterval: 1h'));
    const inbox = join(dir, '.rekey/inbox/change-of-address');
    mkdirSync(inbox, { recursive: true });
    const port = await freePort();
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
