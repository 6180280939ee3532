import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekeyCli as rekey, root } from '../cli.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { P, seed } from './state.test-helpers.js';

const DAY = 86_400_000;
const pipelineFile = (retention: string) =>
  [
    `pipeline: ${P}`,
    'mapping: licences.yaml',
    'source: { kind: file, config: { path: in.ndjson } }',
    'target: { kind: sqlite, config: { path: legacy.sqlite, table: LIC, keyColumn: KEY } }',
    retention,
  ].join('\n');

describe('purge and erase (the built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-retention-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir);
  const file = join(dir, 'licences.yaml');

  beforeAll(async () => {
    process.env.REKEY_DATA_KEY = TEST_DATA_KEY;
    writeFileSync(file, pipelineFile('retention: { bodies: 10d }'));
    await seed(url);
    const store = await openStateStore(url);
    const old = new Date(Date.now() - 11 * DAY).toISOString();
    await store.exec(`UPDATE ledger SET updated_at = $1 WHERE key IN ('B', 'D')`, [old]);
    await store.close();
  });

  it('purge --dry-run counts what is past retention and removes nothing; purge removes it, audited as the operator', async () => {
    const dry = await cli('purge', dir, '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const counts = JSON.parse(dry.stdout) as { dryRun: boolean; pipelines: { pipeline: string; purged: { kind: string; count: number }[] }[] };
    expect(counts.dryRun).toBe(true);
    expect(counts.pipelines.map((p) => [p.pipeline, Object.fromEntries(p.purged.map((c) => [c.kind, c.count]))])).toEqual([
      [P, { bodies: 1, conflicts: 0, evidence: 0, 'inbox-done': 0, 'inbox-quarantine': 0, ledger: 0 }],
    ]);
    expect((await cli('audit', 'export', '--format', 'json')).stdout).not.toContain('"purged"');

    const purge = await cli('purge', file, '--operator', 'alice');
    expect(purge.code).toBe(0);
    expect(purge.stdout).toMatch(new RegExp(`^${P}\\s+bodies\\s+1\\s+\\S+Z$`, 'm'));
    expect(purge.stdout).toMatch(new RegExp(`^${P}\\s+ledger\\s+0\\s+\\S+Z$`, 'm'));
    const retry = await cli('dlq', 'retry', P, 'B');
    expect(retry).toMatchObject({ code: 1, stderr: `rekey: BODY_PURGED cannot retry "B" of pipeline ${P}: its body was purged by the retention policy\n  ${PipelineCodes.BODY_PURGED.hint}\n` });
    const all = await cli('dlq', 'retry', P, '--all', '--json');
    expect(JSON.parse(all.stdout)).toEqual({ pipeline: P, retried: ['C'], skipped: ['B'] });
    expect((await cli('dlq', 'retry', P, '--all')).stdout).toBe(`retried 0 submission(s) of ${P} as operator:${process.env.USER ?? 'unknown'}; 1 left dead, their bodies erased or purged\n`);
    const entries = JSON.parse((await cli('audit', 'export', '--format', 'json')).stdout) as { event: string; actor: string; detail: Record<string, unknown> }[];
    expect(entries.filter((e) => e.event === 'purged').map((e) => [e.actor, e.detail.kind, e.detail.count, e.detail.keys])).toEqual([['operator:alice', 'bodies', 1, []]]);
    expect((await cli('audit', 'verify')).code).toBe(0);
  });

  it('purge refuses files with problems and purges nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, pipelineFile('retention: { bodies: 800d }'));
    const r = await cli('purge', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.yaml:5:22 retention.ledger (730d, the default) is shorter than retention.bodies (800d)');
    expect(r.stderr.endsWith('rekey: nothing purged\n')).toBe(true);
  });

  it('erase destroys the body and conflicts, keeps the trail, and refuses a second erasure and a replay', async () => {
    const erase = await cli('erase', P, 'A', '--reason', 'SAR-2026-7', '--operator', 'carol');
    expect(erase).toMatchObject({ code: 0, stdout: `erased A of ${P} as operator:carol: its body and data key, 1 conflict(s) and 0 file(s) destroyed\n` });
    const [again, replay, show, noReason] = await Promise.all([
      cli('erase', P, 'A', '--reason', 'twice'),
      cli('replay', P, 'A'),
      cli('dlq', 'show', P, 'A', '--json'),
      cli('erase', P, 'C', '--reason', ' '),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^rekey: SUBMISSION_ERASED "A" of pipeline ${P} was already erased at \\S+Z: there is nothing left to erase\\n`));
    expect(replay.code).toBe(1);
    expect(replay.stderr).toMatch(new RegExp(`^rekey: SUBMISSION_ERASED cannot replay "A" of pipeline ${P}: it was erased at \\S+Z \\(right to erasure\\)\\n`));
    expect(noReason.code).toBe(2);
    const shown = JSON.parse(show.stdout) as { row: { state: string; legacyRef: string }; history: { event: string; actor: string; detail: Record<string, unknown> }[] };
    expect(shown.row).toMatchObject({ state: 'delivered', legacyRef: 'REF-A' });
    expect(shown.history.at(-1)).toMatchObject({ event: 'erased', actor: 'operator:carol', detail: { keys: ['A'], reason: 'SAR-2026-7' } });
    const verify = await cli('audit', 'verify', '--json');
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const store = await openStateStore(url);
    const left = await store.select<{ n: number }>(`SELECT COUNT(*) AS n FROM ledger_bodies b JOIN ledger l ON l.id = b.id WHERE l.key = 'A'`);
    const conflicts = await store.select<{ n: number }>(`SELECT COUNT(*) AS n FROM ledger_conflicts WHERE key = 'A'`);
    await store.close();
    expect([left[0]?.n, conflicts[0]?.n]).toEqual([0, 0]);
  });

  it('dlq show still tells the story of a submission whose ledger row was purged', async () => {
    const store = await openStateStore(url);
    await store.exec(`UPDATE ledger SET updated_at = $1 WHERE key = 'A'`, [new Date(Date.now() - 731 * DAY).toISOString()]);
    await store.close();
    expect((await cli('purge', file, '--json')).stdout).toMatch(/"kind": "ledger",\s+"count": 1,/);
    const [show, json] = await Promise.all([cli('dlq', 'show', P, 'A'), cli('dlq', 'show', P, 'A', '--json')]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^A of ${P}: its ledger row was purged by the retention policy; its audit trail remains\n\nhistory \\(audit log, oldest first\\)\n`));
    expect(show.stdout).toMatch(/^ {2}\S+Z {2}#\d+ {2}attempt 1: delivered, legacy ref REF-A$/m);
    const parsed = JSON.parse(json.stdout) as { row: null; history: { event: string }[] };
    expect(parsed.row).toBeNull();
    expect(parsed.history.map((e) => e.event)).toEqual(['received', 'conflict', 'delivering', 'delivered', 'erased']);
    expect((await cli('audit', 'verify')).code).toBe(0);
  });
});

describe('rekey serve purges (as a process)', () => {
  it('purges each pipeline once at start, as the runner', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-serve-purge-'));
    for (const f of ['examples/pipelines/change-of-address.yaml', 'examples/mappings/change-of-address.yaml']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      copyFileSync(join(root, f), join(dir, f));
    }
    const url = `sqlite:${join(dir, 'state.sqlite')}`;
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    const p = 'change-of-address';
    await ledger.receive(p, null, [{ key: 'old', contentHash: 'sha256:old', body: { a: 1 }, source: 'x' }], 'runner:test:1');
    await ledger.apply(p, null, [{ key: 'old', to: 'delivering' }, { key: 'old', to: 'delivered', legacyRef: 'R1' }], 'runner:test:1');
    await store.exec(`UPDATE ledger SET updated_at = $1 WHERE key = 'old'`, [new Date(Date.now() - 31 * DAY).toISOString()]);
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'examples/pipelines'), '--port', '0', '--state', url], {
      cwd: dir,
      env: { ...process.env, REKEY_DATA_KEY: TEST_DATA_KEY, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let purged: { actor: string; detail: string }[] = [];
    for (let i = 0; i < 360 && !purged.length; i++) {
      await new Promise((r) => setTimeout(r, 250));
      purged = await store.select<{ actor: string; detail: string }>(`SELECT actor, detail FROM audit_log WHERE event = 'purged'`);
    }
    child.kill('SIGTERM');
    expect(await exited, out).toBe(0);
    expect(purged.map((e) => [e.actor, JSON.parse(e.detail).kind, JSON.parse(e.detail).count])).toEqual([[expect.stringMatching(/^runner:/), 'bodies', 1]]);
    expect(out).toContain('"msg":"retention purge"');
    expect(await ledger.get(p, 'old')).toMatchObject({ state: 'delivered', body: null });
    await store.close();
  }, 150_000);
});
