/**
 * The Pipelines pages as `rekey serve` serves them (the built CLI, as a
 * process, on the quick start): an operator signs in, runs a pass now,
 * sees it on the pipeline's history, pauses the pipeline with a reason
 * and resumes it; the audit log names the console user for each.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStateStore } from '../../../pipelines/store/state-store.js';
import { freePort, root } from '../../cli.test-helpers.js';
import { copyQuickStart, QUICK_START, QUICK_START_SUBMISSIONS } from '../../quick-start.test-helpers.js';
import { csrfIn, mergeCookies, TEST_PASSWORD, TEST_USERS, writeTestUsers } from '../console.test-helpers.js';

const P = 'change-of-address';
const env = { REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'warn' };

/** Names, postcodes and numbers the citizens typed (answers of eight characters or more). */
function canaries(): string[] {
  const out: string[] = [];
  for (const line of readFileSync(join(root, QUICK_START_SUBMISSIONS), 'utf8').split('\n').filter(Boolean)) {
    for (const a of (JSON.parse(line) as { answers: { answer_text?: unknown }[] }).answers) if (typeof a.answer_text === 'string' && a.answer_text.length >= 8) out.push(a.answer_text);
  }
  return out;
}

describe('the Pipelines pages of rekey serve (as a process)', () => {
  it('lets an operator run a pass now, see it, pause with a reason and resume, each audited with the console user', async () => {
    const dir = copyQuickStart('rekey-pipelines-serve-');
    const file = join(dir, QUICK_START);
    // A schedule that does not fire during the test: every pass is the operator's.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^schedule: .*$/m, 'schedule: { cron: "0 3 29 2 *", timezone: Europe/London }'));
    const users = await writeTestUsers(dir);
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), 'serve', join(dir, 'examples/pipelines'), '--port', String(port), '--console-users', users], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://localhost:${port}`;
    try {
      for (let i = 0; i < 80; i++) {
        await new Promise((r) => setTimeout(r, 250));
        if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
      }
      const page = async (path: string, cookie: string) => {
        const res = await fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });
        return { status: res.status, html: await res.text(), cookie: mergeCookies(cookie, res) };
      };
      const post = async (path: string, cookie: string, fields: Record<string, string>, from: string) => {
        const form = await page(from, cookie);
        const res = await fetch(`${base}${path}`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrfIn(form.html), ...fields }),
        });
        return { status: res.status, location: res.headers.get('location') };
      };
      const signIn = await page('/sign-in', '');
      const signed = await fetch(`${base}/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: signIn.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrfIn(signIn.html), username: TEST_USERS.operator.name, password: TEST_PASSWORD, next: '/pipelines' }),
      });
      expect(signed.status).toBe(303);
      const cookie = mergeCookies(signIn.cookie, signed);

      const list = await page('/pipelines', cookie);
      expect(list.status).toBe(200);
      expect(list.html).toContain(`href="/pipelines/${P}"`);
      expect(list.html).toContain('Idle');
      expect(list.html).toContain('Run a pass now');

      const run = await post(`/pipelines/${P}/run`, cookie, { back: 'list' }, '/pipelines');
      expect(run).toEqual({ status: 303, location: '/pipelines?done=run-started' });
      let detail = '';
      for (let i = 0; i < 80; i++) {
        detail = (await page(`/pipelines/${P}`, cookie)).html;
        if (/delivered: 6/.test(detail) && !detail.includes('Running')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(detail).toMatch(/delivered: 6/);
      expect(detail).toContain('a person, in the console (console:olly.operator)');
      const runId = /href="\/passes\/([0-9a-f-]{36})"/.exec(detail)?.[1];
      const pass = await page(`/passes/${runId}`, cookie);
      expect(pass.html).toMatch(/Delivered<\/th><td[^>]*>6</);
      expect(pass.html).toContain('MAPPING_RECORD_REJECTED');

      expect(await post(`/pipelines/${P}/pause`, cookie, { reason: 'legacy system closed for the night' }, `/pipelines/${P}`)).toEqual({ status: 303, location: `/pipelines/${P}?done=paused` });
      expect((await page(`/pipelines/${P}`, cookie)).html).toContain('legacy system closed for the night');
      expect(await post(`/pipelines/${P}/resume`, cookie, {}, `/pipelines/${P}`)).toEqual({ status: 303, location: `/pipelines/${P}?done=resumed` });

      for (const html of [list.html, detail, pass.html]) for (const c of canaries()) expect(html).not.toContain(c);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":50/);
    for (const c of canaries()) expect(stderr).not.toContain(c);

    const store = await openStateStore(`sqlite:${join(dir, '.rekey/state.sqlite')}`);
    try {
      const rows = await store.select<{ event: string; actor: string; detail: string }>("SELECT event, actor, detail FROM audit_log WHERE event IN ('pipeline-paused', 'pipeline-resumed', 'run-requested', 'run-started') ORDER BY seq");
      expect(rows.map((r) => [r.event, r.event === 'run-started' ? (JSON.parse(r.detail) as { trigger?: unknown }).trigger : r.actor])).toEqual([
        ['run-requested', 'console:olly.operator'],
        ['run-started', { kind: 'console', by: 'console:olly.operator' }],
        ['pipeline-paused', 'console:olly.operator'],
        ['pipeline-resumed', 'console:olly.operator'],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
