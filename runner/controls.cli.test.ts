import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineCodes } from '../pipelines/pipeline.errors.js';
import { rekeyCli as rekey, root } from './cli.test-helpers.js';

const env = { REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', USER: 'alice' };
const P = 'change-of-address';
const FILE = 'examples/pipelines/change-of-address.yaml';

function example(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-controls-'));
  for (const d of ['examples/pipelines', 'examples/mappings', 'fixtures/submissions/govuk-forms', 'fixtures/legacy']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of [FILE, 'examples/mappings/change-of-address.yaml', 'fixtures/submissions/govuk-forms/change-of-address.ndjson', 'fixtures/legacy/drv_addr_chg.sqlite.sql']) {
    copyFileSync(join(root, f), join(dir, f));
  }
  return dir;
}

describe('rekey pause, resume, passes and run on a paused pipeline (the built CLI)', () => {
  it('pauses with a reason, refuses twice, shows it in status, refuses run unless told, resumes, lists passes with triggers', async () => {
    const dir = example();
    const cli = (...args: string[]) => rekey(args, dir, env);
    const noReason = await cli('pause', P);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    const paused = await cli('pause', P, '--reason', 'legacy system upgrade');
    expect(paused).toMatchObject({ code: 0, stdout: `paused ${P} as operator:alice: legacy system upgrade\nno pass runs until: rekey resume ${P}\n` });
    const twice = await cli('pause', P, '--reason', 'again', '--operator', 'bob');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(new RegExp(`^rekey: PIPELINE_ALREADY_PAUSED pipeline ${P} is already paused since \\S+ by operator:alice\\n`));
    const empty = await cli('pause', 'other', '--reason', ' ');
    expect(empty).toMatchObject({ code: 1, stderr: `rekey: LEDGER_BAD_REQUEST pausing needs a reason\n  ${PipelineCodes.LEDGER_BAD_REQUEST.hint}\n` });

    const status = JSON.parse((await cli('status', '--json')).stdout) as { pipelines: { pipeline: string; paused: unknown }[] };
    expect(status.pipelines.find((s) => s.pipeline === P)?.paused).toMatchObject({ by: 'operator:alice', reason: 'legacy system upgrade' });
    expect((await cli('status')).stdout).toMatch(new RegExp(`^${P} is paused since \\S+ by operator:alice: legacy system upgrade \\(rekey resume ${P}\\)$`, 'm'));

    const refused = await cli('run', '--json', FILE);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      new RegExp(`^rekey: PIPELINE_PAUSED pipeline ${P} is paused since \\S+ by operator:alice \\(legacy system upgrade\\); no pass was run\\. rekey resume ${P} lets it run again; --even-if-paused runs this one pass without resuming it\\n`),
    );
    expect((await cli('passes', P)).stdout).toBe(`no passes of ${P} yet\n`);

    const anyway = await cli('run', '--json', '--even-if-paused', '--operator', 'bob', FILE);
    expect(JSON.parse(anyway.stdout)).toMatchObject({ pipeline: P, delivered: 6, rejected: 5 });
    expect((await cli('resume', P)).stdout).toBe(`resumed ${P} as operator:alice\n`);
    const again = await cli('resume', P);
    expect(again).toMatchObject({ code: 1, stderr: `rekey: PIPELINE_NOT_PAUSED pipeline ${P} is not paused\n  ${PipelineCodes.PIPELINE_NOT_PAUSED.hint}\n` });
    await cli('run', '--json', FILE);

    const passes = JSON.parse((await cli('passes', P, '--json')).stdout) as { passes: { trigger: unknown; status: string; summary: { delivered: number } }[]; more: boolean };
    expect(passes.more).toBe(false);
    expect(passes.passes.map((p) => [p.trigger, p.status, p.summary.delivered])).toEqual([
      [{ kind: 'cli', by: 'operator:alice' }, 'finished', 0],
      [{ kind: 'cli', by: 'operator:bob' }, 'finished', 6],
    ]);
    const table = (await cli('passes', P, '--limit', '1')).stdout.split('\n');
    expect(table[0]).toMatch(/^PASS\s+STARTED\s+TOOK\s+TRIGGER\s+STATUS\s+READ\s+NEW\s+DUPLICATES\s+REJECTED\s+DELIVERED\s+FAILED\s+DEAD$/);
    expect(table[1]).toMatch(/^[0-9a-f-]{36}\s+\S+\s+\S+\s+cli by operator:alice\s+finished\s+11\s+0\s+11\s+0\s+0\s+0\s+0$/);
    expect(table[2]).toBe('(the latest 1; --limit shows more)');
    expect((await cli('passes', P, '--limit', '0')).code).toBe(2);

    const exported = await cli('audit', 'export', '--format', 'json', '--event', 'pipeline-paused,pipeline-resumed');
    const entries = JSON.parse(exported.stdout) as { event: string; actor: string; detail: { reason?: string } }[];
    expect(entries.map((e) => [e.event, e.actor, e.detail.reason])).toEqual([
      ['pipeline-paused', 'operator:alice', 'legacy system upgrade'],
      ['pipeline-resumed', 'operator:alice', undefined],
    ]);
    expect((await cli('audit', 'verify')).code).toBe(0);
  }, 180_000);
});

describe('rekey serve honours a pause (as a process)', () => {
  it('skips the wake-ups of a paused pipeline, delivering nothing, and delivers once it is resumed', async () => {
    const dir = example();
    const cli = (...args: string[]) => rekey(args, dir, env);
    const file = join(dir, FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^schedule: .*$/m, 'schedule: { cron: "*/1 * * * * *", timezone: Europe/London }'));
    expect((await cli('pause', P, '--reason', 'not tonight')).code).toBe(0);
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'examples/pipelines'), '--port', '0', '--run-at-start'], {
      cwd: dir,
      env: { ...process.env, ...env, REKEY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = async (what: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 120 && !(await what()); i++) await new Promise((r) => setTimeout(r, 250));
    };
    const skipped = () => (out.match(/the pipeline is paused; this wake-up is skipped/g) ?? []).length;
    await until(() => skipped() >= 3);
    expect(skipped()).toBeGreaterThanOrEqual(3);
    expect(out).toContain('"trigger":"start"');
    expect((await cli('passes', P)).stdout).toBe(`no passes of ${P} yet\n`);
    expect((await cli('resume', P)).code).toBe(0);
    const delivered = async () => {
      const s = JSON.parse((await cli('status', P, '--json')).stdout) as { pipelines: { counts: { delivered: number } }[] };
      return s.pipelines[0]?.counts.delivered === 6;
    };
    await until(delivered);
    expect(await delivered()).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const passes = JSON.parse((await cli('passes', P, '--json', '--limit', '500')).stdout) as { passes: { trigger: { kind: string } }[] };
    expect(new Set(passes.passes.map((p) => p.trigger.kind))).toEqual(new Set(['schedule']));
  }, 180_000);
});
