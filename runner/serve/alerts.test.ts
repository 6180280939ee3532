import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { arraySource, submission, testOptions, testPipeline, TestTarget } from '../../pipelines/flow/flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { sqliteTarget } from '../../connectors/sql/sqlite.target.js';
import { Alerter, type AlertMessage } from './alerts.js';
import { Scheduler } from './scheduler.js';

const CANARY_SURNAME = 'Quillfeatherstone';
const CANARY_REF = 'QQ9ZZ8XX';
const TOKENS = ['T0ALPHAsecret', 'T0BRAVOsecret', 'T0CHARLIEsecret'];

/** A local webhook receiver: records each POST by path; `/flaky/` answers 500 to its first request, `/bad/` always 400. */
async function receiver(): Promise<{ server: Server; base: string; got: { path: string; body: AlertMessage }[] }> {
  const got: { path: string; body: AlertMessage }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      const before = got.filter((g) => g.path === path).length;
      got.push({ path, body: JSON.parse(text) as AlertMessage });
      res.statusCode = path.startsWith('/bad/') ? 400 : path.startsWith('/flaky/') && before === 0 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

let dir: string;
let store: StateStore;
let ledger: Ledger;
let hooks: Awaited<ReturnType<typeof receiver>>;
const lines: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekey-alerts-'));
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
  hooks = await receiver();
  lines.length = 0;
});
afterEach(async () => {
  await new Promise((r) => hooks.server.close(r));
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('alerts to webhooks from rekey serve', () => {
  it('tells of a failed pass once, of dead letters, and of each recovery; retries a 500, never a 400; no citizen data, no URL in the logs', async () => {
    const alerter = new Alerter({ log, ledger, consoleUrl: 'https://rekey.example/console/', backoffMs: 5 });
    alerter.add('flow-test', [
      { url: `${hooks.base}/ok/${TOKENS[0]}`, on: ['pass-failed', 'dead-letters', 'recovered'] },
      { url: `${hooks.base}/flaky/${TOKENS[1]}`, on: ['pass-failed'] },
      { url: `${hooks.base}/bad/${TOKENS[2]}`, on: ['pass-failed'] },
    ]);
    const scheduler = new Scheduler(log);
    scheduler.onPassEnd((end) => alerter.passEnded(end));
    const body = submission(CANARY_REF, CANARY_SURNAME);
    const key = `F/${CANARY_REF}`;
    let broken = true;
    const pass = () => {
      const target = broken ? sqliteTarget.create({ path: join(dir, 'no-such-folder', 'legacy.sqlite'), table: 'T', keyColumn: 'K' }, { baseDir: dir, pipeline: 'flow-test' }) : new TestTarget({ [key]: { alwaysFail: true } });
      return runPass(testPipeline(arraySource([body]), target, { maxAttempts: 1 }), ledger, testOptions({ log, retryWaitMs: 0 }));
    };
    const entry = scheduler.add('flow-test', undefined, 'UTC', pass);
    const runPassNow = async () => {
      await scheduler.runNow(entry, pass, { kind: 'console', by: 'ops@example' });
      await alerter.settled();
    };
    const at = (prefix: string) => hooks.got.filter((g) => g.path.startsWith(prefix)).map((g) => g.body);

    await runPassNow();
    expect(entry.lastError).toBeDefined();
    await runPassNow();
    expect(at('/ok/')).toHaveLength(1);
    const failed = at('/ok/')[0]!;
    expect(failed).toMatchObject({ event: 'pass-failed', pipeline: 'flow-test', trigger: 'console', errorCode: expect.stringMatching(/^[A-Z_]+$/), text: expect.stringContaining('flow-test') });
    const [run] = await ledger.runs('flow-test', 2);
    expect(run!.error).not.toBeNull();
    expect(failed.runId).toBe((await ledger.runs('flow-test', 2))[1]!.id);
    expect(failed.link).toBe(`https://rekey.example/console/passes/${failed.runId!}`);
    expect(at('/flaky/').map((b) => b.event)).toEqual(['pass-failed', 'pass-failed']);
    expect(at('/bad/').map((b) => b.event)).toEqual(['pass-failed']);

    broken = false;
    await runPassNow();
    const third = at('/ok/').slice(1);
    expect(third.map((b) => b.event).sort()).toEqual(['dead-letters', 'recovered']);
    const dead = third.find((b) => b.event === 'dead-letters')!;
    expect(dead).toMatchObject({ deadLetters: 1, newDeadLetters: 1, counts: { read: 1, dead: 1 }, runId: expect.any(String) });
    expect(dead.link).toBe(`https://rekey.example/console/passes/${dead.runId!}`);
    expect(third.find((b) => b.event === 'recovered')).toMatchObject({ cleared: ['pass-failed'] });

    await runPassNow();
    expect(at('/ok/')).toHaveLength(3);
    await ledger.discard('flow-test', key, 'sent by post instead', 'ops@example');
    await runPassNow();
    expect(at('/ok/').slice(3)).toEqual([expect.objectContaining({ event: 'recovered', cleared: ['dead-letters'], deadLetters: 0 })]);
    expect(at('/flaky/')).toHaveLength(2);
    expect(at('/bad/')).toHaveLength(1);

    const sent = JSON.stringify(hooks.got.map((g) => g.body));
    for (const canary of [CANARY_SURNAME, CANARY_REF, CANARY_SURNAME.toUpperCase()]) expect(sent).not.toContain(canary);
    const logged = lines.join('');
    expect(logged).toContain('"status":500');
    expect(logged).toContain('not retried');
    for (const secret of [...TOKENS, hooks.base]) expect(logged).not.toContain(secret);
    await scheduler.stop();
  });

  it('does not repeat after a restart what the process before said: a failing pipeline and its dead letters start as seen', async () => {
    const body = submission(CANARY_REF, CANARY_SURNAME);
    const key = `F/${CANARY_REF}`;
    let broken = false;
    const pass = () => {
      const target = broken ? sqliteTarget.create({ path: join(dir, 'no-such-folder', 'legacy.sqlite'), table: 'T', keyColumn: 'K' }, { baseDir: dir, pipeline: 'flow-test' }) : new TestTarget({ [key]: { alwaysFail: true } });
      return runPass(testPipeline(arraySource([body]), target, { maxAttempts: 1 }), ledger, testOptions({ log, retryWaitMs: 0 }));
    };
    /** A serve's alerts and schedule, as a (re)started process sets them up. */
    const serve = () => {
      const alerter = new Alerter({ log, ledger, backoffMs: 5 });
      alerter.add('flow-test', [{ url: `${hooks.base}/ok/${TOKENS[0]}`, on: ['pass-failed', 'dead-letters', 'recovered'] }]);
      const scheduler = new Scheduler(log);
      scheduler.onPassEnd((end) => alerter.passEnded(end));
      const entry = scheduler.add('flow-test', undefined, 'UTC', pass);
      return { scheduler, run: async () => (await scheduler.runNow(entry, pass, { kind: 'schedule' }), await alerter.settled()) };
    };
    const events = () => hooks.got.map((g) => g.body.event);

    const first = serve();
    await first.run();
    broken = true;
    await first.run();
    expect(events()).toEqual(['dead-letters', 'pass-failed']);
    await first.scheduler.stop();

    const second = serve();
    await second.run();
    expect(events()).toEqual(['dead-letters', 'pass-failed']);
    broken = false;
    await ledger.discard('flow-test', key, 'sent by post instead', 'ops@example');
    await second.run();
    await second.scheduler.stop();
    expect(events()).toEqual(['dead-letters', 'pass-failed', 'recovered']);
    expect(hooks.got.at(-1)?.body).toMatchObject({ event: 'recovered', deadLetters: 0 });
    expect((hooks.got.at(-1)?.body.cleared ?? []).sort()).toEqual(['dead-letters', 'pass-failed']);
  });

  it('gives up after its attempts when the webhook cannot be reached, naming only a code', async () => {
    const closed = await receiver();
    await new Promise((r) => closed.server.close(r));
    const alerter = new Alerter({ log, ledger, backoffMs: 5, attempts: 2 });
    alerter.add('p', [{ url: `${closed.base}/ok/${TOKENS[0]}`, on: ['pass-failed'] }]);
    const now = new Date();
    alerter.passEnded({ pipeline: 'p', trigger: { kind: 'schedule' }, startedAt: now, finishedAt: now, error: new Error('boom') });
    await alerter.settled();
    const warned = lines.filter((l) => l.includes('alert not delivered'));
    expect(warned).toHaveLength(2);
    expect(warned[1]).toContain('"code":"ECONNREFUSED"');
    expect(lines.join('')).not.toContain(TOKENS[0]);
  });
});
