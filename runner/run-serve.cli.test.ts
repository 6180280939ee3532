import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, rekey, root } from './cli.test-helpers.js';
import { ledgerRows } from '../connectors/conformance/conformance.run.js';

const env = { REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff' };

function example(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-run-'));
  mkdirSync(join(dir, 'examples/pipelines'), { recursive: true });
  mkdirSync(join(dir, 'examples/mappings'), { recursive: true });
  mkdirSync(join(dir, 'fixtures/submissions/govuk-forms'), { recursive: true });
  mkdirSync(join(dir, 'fixtures/legacy'), { recursive: true });
  for (const f of [
    'examples/pipelines/change-of-address.yaml',
    'examples/mappings/change-of-address.yaml',
    'fixtures/submissions/govuk-forms/change-of-address.ndjson',
    'fixtures/legacy/drv_addr_chg.sqlite.sql',
  ]) {
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

describe('rekey run (as a process)', () => {
  it('delivers the example end to end, reports the rejects, and delivers nothing twice on a second run', async () => {
    const dir = example();
    const first = await rekey(['run', '--json', 'examples/pipelines/change-of-address.yaml'], dir);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ pipeline: 'change-of-address', read: 11, receivedNew: 11, rejected: 5, delivered: 6, dead: 0, waitingRetry: 0 });
    const second = await rekey(['run', '--json', 'examples/pipelines/change-of-address.yaml'], dir);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ read: 11, receivedNew: 0, duplicates: 11, delivered: 0, rejected: 0 });
    const human = await rekey(['run', 'examples/pipelines/change-of-address.yaml'], dir);
    expect(human.stdout).toMatch(/change-of-address: run [0-9a-f-]{36}\n {2}read +11\n/);
  });

  it('refuses a broken pipeline file with located problems, and a bad duration as a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-run-'));
    writeFileSync(join(dir, 'p.yaml'), 'pipeline: p\nmapping: ./m.yaml\nsource: { kind: fiel, config: {} }\ntarget: { kind: sqlite, config: { path: ./x.sqlite, table: T, keyColumn: K } }\n');
    writeFileSync(join(dir, 'm.yaml'), 'mapping: m\nfields:\n  A: { const: 1 }\n');
    const r = await rekey(['run', join(dir, 'p.yaml')], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'p.yaml')}:3:17 unknown source kind "fiel", did you mean "file"?`);
    const ex = example();
    const bad = await rekey(['run', '--lease', 'soon', 'examples/pipelines/change-of-address.yaml'], ex);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lease must be a duration like 30s, 5m or 1h, got "soon"');
  });
});

describe('rekey serve (as a process)', () => {
  it('runs a scheduled pipeline, answers health, status and metrics, warns of no deprecation, and stops cleanly on SIGTERM', async () => {
    const dir = example();
    const port = await freePort();
    const pipelines = join(dir, 'examples/pipelines');
    const file = join(pipelines, 'change-of-address.yaml');
    const every = 'schedule: { cron: "*/1 * * * * *", timezone: Europe/London }';
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^schedule: .*$/m, every));
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', pipelines, '--port', String(port)], {
      cwd: dir,
      env: { ...process.env, ...env, REKEY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const get = async (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    let status: { pipelines: { name: string; cron: string; counts: Record<string, number>; nextRun: string | null }[] } | undefined;
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        status = (await (await get('/status')).json()) as typeof status;
        if (status?.pipelines[0]?.counts.delivered === 6) break;
      } catch {
        /* not listening yet */
      }
    }
    expect(status?.pipelines[0]).toMatchObject({ name: 'change-of-address', cron: '*/1 * * * * *', counts: { delivered: 6, rejected: 5 } });
    expect(status?.pipelines[0]?.nextRun).toMatch(/^\d{4}-/);
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('rekey_ledger_submissions{pipeline="change-of-address",state="delivered"} 6');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":50/);
    expect(stderr).not.toMatch(/FSTDEP|DeprecationWarning|FastifyDeprecation/);
  }, 60_000);

  it('stops cleanly on a SIGTERM that comes while it starts, before it serves', async () => {
    const dir = example();
    const pipelines = join(dir, 'examples/pipelines');
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', pipelines, '--port', '0', '--run-at-start'], {
      cwd: dir,
      env: { ...process.env, ...env, REKEY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // Serve handles signals before it warns of no users file, then opens its state store.
    const onData = (d: Buffer) => {
      const before = out;
      out += d.toString();
      if (!before.includes('no users file') && out.includes('no users file')) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    expect(await exited, out.slice(-3000)).toEqual({ code: 0, signal: null });
    expect(out).toContain('stopping: no new work; finishing the batches in hand');
    expect(out).toContain('stopped cleanly');
    expect(out).not.toMatch(/"level":50/);
  }, 60_000);

  it('exits 1 naming the address when its port is taken, having read and delivered nothing', async () => {
    const dir = example();
    const pipelines = join(dir, 'examples/pipelines');
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as { port: number }).port;
    try {
      // Before the fix the serve went on: it ran the pass, then ignored SIGTERM and never exited.
      const r = await rekey(['serve', pipelines, '--port', String(port), '--run-at-start'], dir, { ...env, REKEY_LOG_LEVEL: 'info' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`rekey: cannot listen on 127.0.0.1:${port}: another process is listening there; choose another port with --port (or REKEY_PORT)\n`);
      expect(r.stderr + r.stdout).not.toContain('pass finished');
      expect(r.stderr + r.stdout).not.toContain('housekeeping chore started');
      expect(await ledgerRows(join(dir, '.rekey/state.sqlite'), 'change-of-address')).toEqual([]);
      expect(existsSync(join(dir, '.rekey/legacy.sqlite'))).toBe(false);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  }, 60_000);
});
