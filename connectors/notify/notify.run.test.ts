/**
 * `rekey run` (the built CLI, a real child process) sending through the
 * notify target to the Notify stand-in: a 500 retried with backoff, a
 * record Notify refuses dead at once, and the canary recipients and
 * personalisation values searched for in everything the runs wrote: their
 * output at debug level, the state store (ledger, audit log, connector
 * state) and every other file in the work folder but the input.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEMPLATES, startNotifyStandin, type NotifyStandin } from '../../fixtures/notify-standin/notify-standin.js';
import { root } from '../../runner/cli.test-helpers.js';
import { benchSubmissions } from '../conformance/bench-bodies.js';
import { auditOf, filesContaining, keyOf, ledgerRows, summaryOf, withAnswer, WorkDir } from '../conformance/conformance.run.js';

const TEMPLATE = Object.keys(DEFAULT_TEMPLATES).find((id) => DEFAULT_TEMPLATES[id]!.type === 'email')!;
const canary = () => Math.random().toString(36).slice(2, 10);

describe('rekey run with the notify target', () => {
  let standin: NotifyStandin;
  let work: WorkDir;
  let bodies: object[];
  const canaries: string[] = [];

  beforeAll(async () => {
    standin = await startNotifyStandin();
    work = new WorkDir('rekey-notify-run-', ['--workers', '0']);
    bodies = benchSubmissions(6, 0).map((b, i) => {
      const name = `Canaryname${canary()}`;
      const email = `canary.${canary()}@example.org`;
      canaries.push(name, email);
      const withName = withAnswer(withAnswer(b, 'nm', 'first_name', name), 'nm', 'answer_text', name);
      return withAnswer(withName, 'email', 'answer_text', i === 3 ? `no-at-sign-${email.replace('@', '.')}` : email);
    });
    work.write(
      {
        name: 'notify-run',
        mapping: join(root, 'fixtures/notify-standin/notify.mapping.yaml'),
        target: { kind: 'notify', config: { templateId: TEMPLATE, type: 'email', to: 'EMAIL', personalisation: { name: 'NAME', case_reference: 'REF' }, baseUrl: standin.url, apiKey: { env: 'NOTIFY_API_KEY' } } },
        batch: 3,
      },
      bodies,
    );
    standin.faults.failNext = 1;
  });
  afterAll(async () => {
    await standin.close();
    rmSync(work.dir, { recursive: true, force: true });
  });

  it('retries a 500, dead-letters nothing, rejects the refused record at once, and stores the notification IDs as legacy references', async () => {
    const last = await work.finish({ NOTIFY_API_KEY: standin.apiKey, REKEY_LOG_LEVEL: 'debug' });
    expect(last.code, last.stderr.slice(-2000)).toBe(0);
    expect(work.outputs[0]!.code, 'the run with a rejected record exits 1').toBe(1);
    const total = (name: string) => work.outputs.reduce((n, o) => n + (summaryOf(o)[name] ?? 0), 0);
    expect(['delivered', 'rejected', 'failed', 'dead'].map(total)).toEqual([5, 1, 1, 0]);
    const badKey = keyOf(bodies[3]!);
    const rows = await ledgerRows(work.state, 'notify-run');
    const ids = new Map(standin.notifications.map((n) => [n.reference, n.id]));
    expect(standin.notifications).toHaveLength(5);
    for (const r of rows) {
      if (r.key === badKey) {
        expect(r).toMatchObject({ state: 'rejected', lastError: { code: 'NOTIFY_REJECTED', disposition: 'reject', message: 'EMAIL: Notify refused the email: 400 ValidationError: email_address Not a valid email address' } });
      } else expect(r, r.key).toMatchObject({ state: 'delivered', legacyRef: ids.get(r.key) });
    }
    const audit = await auditOf(work.state, 'notify-run');
    expect(audit.verified).toBe(true);
    expect(standin.requests.filter((q) => q.method === 'POST').map((q) => q.status).sort()).toEqual([201, 201, 201, 201, 201, 400, 500]);
    expect(standin.requests.filter((q) => q.method === 'GET'), 'the record that met a 500 was looked up before it was sent again').toHaveLength(1);
  });

  it('never writes a recipient or a personalisation value anywhere: output, state store, any file but the input', () => {
    const text = work.outputs.map((o) => o.stdout + o.stderr).join('\n');
    expect(text, 'the runs logged at info level').toContain('"level":30');
    expect(canaries.filter((c) => text.includes(c)), 'in the output').toEqual([]);
    const files = canaries.flatMap((c) => filesContaining(work.dir, c)).filter((f) => !f.endsWith('submissions.ndjson'));
    expect(files, 'files holding a canary').toEqual([]);
    expect(filesContaining(work.dir, canaries[1]!).map((f) => f.slice(work.dir.length)), 'the search finds the input').toEqual(['/submissions.ndjson']);
  });
});
