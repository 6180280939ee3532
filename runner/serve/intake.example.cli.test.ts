/**
 * The webhook example (examples/pipelines/webhook-change-of-address.yaml)
 * from a copy of the repository's files, served by the built CLI: every
 * fixture submission sent with the openssl and curl commands of
 * docs/webhook-intake.md, then delivered like the file example (6 keyed, 5
 * rejected by the mapping).
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../cli.test-helpers.js';

const SECRET = 'example-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'rekey-webhook-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shell lines of the docs' openssl and curl example. */
function documentedCommand(): string {
  const doc = readFileSync(join(root, 'docs/webhook-intake.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/webhook-intake.md has no sh example');
  return block;
}

function sh(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => execFile('bash', ['-c', script], { cwd: dir, env: { ...process.env, ...env } }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out))));
}

describe('example pipeline webhook-change-of-address (as a process)', () => {
  it('accepts every fixture submission sent as the docs show, refuses a tampered one, and delivers them', async () => {
    for (const f of ['examples/pipelines/webhook-change-of-address.yaml', 'examples/pipelines/webhook-change-of-address.schema.json', 'examples/mappings/change-of-address.yaml', 'fixtures/legacy/drv_addr_chg.sqlite.sql']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      copyFileSync(join(root, f), join(dir, f));
    }
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', 'examples/pipelines', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, REKEY_WEBHOOK_SECRET: SECRET, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const command = documentedCommand().replace('http://127.0.0.1:8080', url);
      const lines = readFileSync(join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson'), 'utf8').split('\n').filter(Boolean);
      const answers: unknown[] = [];
      for (const [i, line] of lines.entries()) {
        writeFileSync(join(dir, 'submission.json'), line);
        answers.push(JSON.parse(await sh(command, { REKEY_WEBHOOK_SECRET: SECRET })));
        if (i === 0) {
          const tampered = command.replace('--data-binary @"$BODY"', `--data-binary '${line.replace('CA3HJ7WR', 'CA3HJ7WX').replace(/'/g, "'\\''")}'`);
          expect(JSON.parse(await sh(tampered, { REKEY_WEBHOOK_SECRET: SECRET }))).toMatchObject({ error: { code: 'WEBHOOK_BAD_SIGNATURE' } });
        }
      }
      expect(answers).toEqual(lines.map((l) => ({ key: `${JSON.parse(l).form_name}/${JSON.parse(l).submission_reference}`, status: 'accepted' })));
      let counts: Record<string, number> = {};
      for (let i = 0; i < 100 && (counts.delivered ?? 0) + (counts.rejected ?? 0) < lines.length; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const status = (await (await fetch(`${url}/status`)).json()) as { pipelines: { counts: Record<string, number> }[] };
        counts = status.pipelines[0]!.counts;
      }
      expect(counts).toMatchObject({ delivered: 6, rejected: 5 });
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).not.toContain(SECRET);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
