/**
 * The `notify` target against the Notify stand-in over real HTTP: the
 * stand-in checks every token and request the way Notify does, so what is
 * asserted here is what a Notify server would have accepted or refused.
 * Every log line of every test is kept and searched for the canary
 * recipients and personalisation values at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectorState } from '../../pipelines/store/connector-state.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { makeApiKey, startNotifyStandin, type NotifyStandin } from '../../fixtures/notify-standin/notify-standin.js';
import type { Ctx, MappedRecord, Outcome } from '../connector.types.js';
import { ConnectorFailure } from '../connector.errors.js';
import type { NotifyConfig } from './notify.config.js';
import { NotifyTarget } from './notify.target.js';

const EMAIL_TEMPLATE = 'f33517ff-2a88-4f6e-b855-c550268ce08a';
const SMS_TEMPLATE = 'a1b2c3d4-0000-4e00-8000-00000000c0de';
const SENDER = '2b6e1a4c-9d0f-4f7e-8c1a-5d3e7f9a0b1c';
const REPLY_TO = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const CANARIES: string[] = [];
const canary = (what: string) => {
  const v = `${what}${Math.random().toString(36).slice(2, 10)}`;
  CANARIES.push(v);
  return v;
};

const rec = (n: number, over: Record<string, unknown> = {}, uncertain = false): MappedRecord => ({
  key: `Tell us once/R${n}`,
  record: { REF: `R${n}`, NAME: canary('Name'), EMAIL: `${canary('mail')}@example.org`, PHONE: '07700 900123', ...over },
  children: {},
  mappingVersion: 'v1',
  uncertain,
});

let standin: NotifyStandin;
const logged: string[] = [];
const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => void (logged.push(chunk.toString()), done()) }));
let dir: string;
let store: StateStore;
let ctx: Ctx;

const config = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
  templateId: EMAIL_TEMPLATE,
  type: 'email',
  to: 'EMAIL',
  personalisation: { name: 'NAME', case_reference: 'REF' },
  baseUrl: standin.url,
  apiKey: standin.apiKey,
  timeoutMs: 2000,
  ...over,
});
const target = (over: Partial<NotifyConfig> = {}, now?: () => Date) => new NotifyTarget(config(over), { baseDir: dir, pipeline: 'tell-us-once' }, now);
const calls = () => standin.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
const delivered = (o: Outcome) => (o.status === 'delivered' ? o : undefined);

beforeAll(async () => {
  standin = await startNotifyStandin({ senders: { sms: [SENDER], emailReplyTo: [REPLY_TO] } });
});
afterAll(async () => {
  await standin.close();
  expect(CANARIES.length).toBeGreaterThan(10);
  const text = logged.join('');
  expect(text.length, 'the tests logged something').toBeGreaterThan(0);
  expect(CANARIES.filter((c) => text.includes(c)), 'recipients or personalisation values in the log').toEqual([]);
});
beforeEach(async () => {
  standin.notifications.length = 0;
  standin.requests.length = 0;
  Object.assign(standin.faults, { failNext: 0, failStatus: 500, loseNextAnswers: 0, slowNext: 0, slowMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'rekey-notify-'));
  store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  ctx = { log, signal: new AbortController().signal, attempt: 1, state: connectorState(store, 'tell-us-once') };
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('notify target', () => {
  it('sends an email from the template with the personalisation and the submission key as reference; the notification ID is the legacy reference', async () => {
    const r = rec(1);
    const [out] = await target().deliver([r], ctx);
    expect(standin.notifications).toHaveLength(1);
    const n = standin.notifications[0]!;
    expect(out).toEqual({ key: r.key, status: 'delivered', legacyRef: n.id });
    expect(n).toMatchObject({ type: 'email', email_address: r.record.EMAIL, reference: 'Tell us once/R1', template: { id: EMAIL_TEMPLATE } });
    expect(n.personalisation).toEqual({ name: r.record.NAME, case_reference: 'R1' });
    expect(n.body).toBe(`Dear ${String(r.record.NAME)}, we have told the offices about case R1.`);
    expect(calls()).toEqual(['POST /v2/notifications/email 201']);
  });

  it('sends text messages with a chosen sender, several at once, one outcome per record in order', async () => {
    const batch = [1, 2, 3, 4, 5].map((n) => rec(n));
    const out = await target({ templateId: SMS_TEMPLATE, type: 'sms', to: 'PHONE', smsSenderId: SENDER, concurrency: 3 }).deliver(batch, ctx);
    expect(out.map((o) => o.key)).toEqual(batch.map((r) => r.key));
    const byRef = new Map(standin.notifications.map((n) => [n.reference, n]));
    for (const o of out) expect(o).toEqual({ key: o.key, status: 'delivered', legacyRef: byRef.get(o.key)!.id });
    expect(standin.notifications.map((n) => [n.type, n.phone_number, n.sms_sender_id])).toEqual(batch.map(() => ['sms', '07700 900123', SENDER]));
  });

  it('sends with a chosen reply-to address, and rejects every record when Notify does not know the sender', async () => {
    const [sent] = await target({ emailReplyToId: REPLY_TO }).deliver([rec(1)], ctx);
    expect(sent).toMatchObject({ status: 'delivered' });
    expect(standin.notifications.map((n) => n.email_reply_to_id)).toEqual([REPLY_TO]);
    const unknown = '00000000-1111-4222-8333-444444444444';
    const [refused] = await target({ emailReplyToId: unknown }).deliver([rec(2)], ctx);
    const service = standin.apiKey.slice(-73, -37);
    expect(refused).toEqual({
      key: 'Tell us once/R2',
      status: 'rejected',
      error: { code: 'NOTIFY_REJECTED', disposition: 'reject', message: `Notify refused the email: 400 BadRequestError: email_reply_to_id ${unknown} does not exist in database for service id ${service}` },
    });
  });

  it('fails a 500 for a retry, then looks the record up before sending it on the next attempt: one message', async () => {
    const t = target();
    const r = rec(1);
    standin.faults.failNext = 1;
    expect(await t.deliver([r], ctx)).toEqual([
      { key: r.key, status: 'failed', error: { code: 'NOTIFY_UNAVAILABLE', disposition: 'retry', message: 'Notify answered sending the email: 500 Exception: Internal server error' } },
    ]);
    expect(standin.notifications).toHaveLength(0);
    const [again] = await t.deliver([r], { ...ctx, attempt: 2 });
    expect(again).toEqual({ key: r.key, status: 'delivered', legacyRef: standin.notifications[0]!.id });
    expect(calls()).toEqual(['POST /v2/notifications/email 500', 'GET /v2/notifications 200', 'POST /v2/notifications/email 201']);
  });

  it('fails a 429 (rate limit) for a retry', async () => {
    standin.faults.failNext = 1;
    standin.faults.failStatus = 429;
    const [out] = await target().deliver([rec(1)], ctx);
    expect(out).toMatchObject({ status: 'failed', error: { code: 'NOTIFY_UNAVAILABLE', disposition: 'retry', message: 'Notify answered sending the email: 429 RateLimitError: Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds' } });
  });

  it('rejects a record Notify refuses with a 400, naming the field and Notify\'s error, never the value; no retry, no look-up', async () => {
    const t = target();
    const bad = rec(1, { EMAIL: `${canary('not-an-address')}` });
    const good = rec(2);
    const out = await t.deliver([bad, good], ctx);
    expect(out[0]).toEqual({
      key: bad.key,
      status: 'rejected',
      error: { code: 'NOTIFY_REJECTED', disposition: 'reject', field: 'EMAIL', message: 'EMAIL: Notify refused the email: 400 ValidationError: email_address Not a valid email address' },
    });
    expect(out[1]).toMatchObject({ status: 'delivered' });
    expect(standin.notifications.map((n) => n.reference)).toEqual([good.key]);
    await t.deliver([bad], { ...ctx, attempt: 2 });
    expect(calls().filter((c) => c.startsWith('GET')), 'a refused record is not looked up').toEqual([]);
  });

  it('rejects a record whose placeholder Notify misses (BadRequestError), and one with no recipient without asking Notify', async () => {
    const t = target({ personalisation: { name: 'NAME' } });
    const out = await t.deliver([rec(1), rec(2, { EMAIL: null })], ctx);
    expect(out).toEqual([
      { key: 'Tell us once/R1', status: 'rejected', error: { code: 'NOTIFY_REJECTED', disposition: 'reject', message: 'Notify refused the email: 400 BadRequestError: Missing personalisation: case_reference' } },
      { key: 'Tell us once/R2', status: 'rejected', error: { code: 'NOTIFY_NO_RECIPIENT', disposition: 'reject', field: 'EMAIL', message: 'EMAIL: empty, so there is no email address to send to' } },
    ]);
    expect(calls()).toEqual(['POST /v2/notifications/email 400']);
  });

  it('stops (fatal NOTIFY_AUTH) when Notify refuses the key: another service, a wrong secret, a clock 31 s out', async () => {
    const cases: [NotifyTarget, string][] = [
      [target({ apiKey: makeApiKey() }), 'Notify refused the API key sending the email: 403 AuthError: Invalid token: service not found'],
      [target({ apiKey: makeApiKey('wrong', standin.apiKey.slice(-73, -37)) }), 'Notify refused the API key sending the email: 403 AuthError: Invalid token: signature, api token not found'],
      [target({}, () => new Date(Date.now() - 31_000)), 'Notify refused the API key sending the email: 403 AuthError: Error: Your system clock must be accurate to within 30 seconds'],
    ];
    for (const [t, message] of cases) {
      const e = await t.deliver([rec(1)], ctx).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(ConnectorFailure);
      expect(e).toMatchObject({ code: 'NOTIFY_AUTH', disposition: 'fatal', message });
      expect(String((e as Error).message)).not.toContain(standin.apiKey.slice(-36));
    }
    expect(standin.notifications).toHaveLength(0);
  });

  it('after a timeout (the message stored, its answer late), a new target finds it by reference and does not send it again', async () => {
    standin.faults.slowNext = 1;
    standin.faults.slowMs = 1500;
    const r = rec(1);
    const [first] = await target({ timeoutMs: 300 }).deliver([r], ctx);
    expect(first).toEqual({
      key: r.key,
      status: 'failed',
      error: { code: 'NOTIFY_UNAVAILABLE', disposition: 'retry', message: 'no answer from Notify sending the email (timeout: no answer within 300 ms); the next attempt looks it up by reference first' },
    });
    expect(standin.notifications).toHaveLength(1);
    const [second] = await target().deliver([r], { ...ctx, attempt: 2 });
    expect(second).toEqual({ key: r.key, status: 'delivered', legacyRef: standin.notifications[0]!.id, alreadyPresent: true });
    expect(standin.notifications).toHaveLength(1);
    expect(await ctx.state!.list('attempted:'), 'nothing left remembered').toEqual([]);
    await vi.waitFor(() => expect(calls()).toEqual(['GET /v2/notifications 200', 'POST /v2/notifications/email 201']), { timeout: 5000 });
  });

  it('after a lost answer (stored, then 500), the retry finds the message: one message', async () => {
    standin.faults.loseNextAnswers = 1;
    const t = target();
    const r = rec(1);
    expect((await t.deliver([r], ctx))[0]).toMatchObject({ status: 'failed', error: { code: 'NOTIFY_UNAVAILABLE' } });
    const [again] = await t.deliver([r], { ...ctx, attempt: 2 });
    expect(delivered(again!)).toMatchObject({ alreadyPresent: true, legacyRef: standin.notifications[0]!.id });
    expect(standin.notifications).toHaveLength(1);
  });

  it('looks up a record the ledger marks uncertain: another template\'s message with its reference does not count', async () => {
    const r = rec(1);
    await target({ templateId: SMS_TEMPLATE, type: 'sms', to: 'PHONE' }).deliver([r], ctx);
    const [out] = await target().deliver([{ ...r, uncertain: true }], ctx);
    expect(delivered(out!)?.alreadyPresent).toBeUndefined();
    expect(standin.notifications.map((n) => n.type)).toEqual(['sms', 'email']);
    expect(calls()).toEqual(['POST /v2/notifications/sms 201', 'GET /v2/notifications 200', 'POST /v2/notifications/email 201']);
  });

  it('fails for a retry when Notify cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const [out] = await target({ baseUrl: `http://127.0.0.1:${port}` }).deliver([rec(1)], ctx);
    expect(out).toMatchObject({ status: 'failed', error: { code: 'NOTIFY_UNAVAILABLE', disposition: 'retry', message: expect.stringMatching(/^no answer from Notify sending the email \(connection: ECONNREFUSED\)/) as unknown as string } });
  });

  it('names the API host and the template, never the key', () => {
    const t = new NotifyTarget(config({ baseUrl: 'https://api.notifications.service.gov.uk' }), { baseDir: dir, pipeline: 'p' });
    expect(t.identity()).toEqual({ kind: 'notify', system: 'api.notifications.service.gov.uk', object: EMAIL_TEMPLATE });
  });

  it('refuses a config that cannot work, naming each setting and never the key', () => {
    const mapping = { name: 'm', fields: [{ name: 'PHONE' }, { name: 'REF' }] as never };
    const make = () => new NotifyTarget(config({ type: 'sms', to: 'MOBILE', emailReplyToId: SENDER, apiKey: `x${'y'.repeat(80)}` }), { baseDir: dir, pipeline: 'p', mapping });
    expect(make).toThrow(ConnectorFailure);
    expect(() => make()).toThrow(
      'emailReplyToId: only for type email; to: the mapping has no field MOBILE; personalisation.name: the mapping has no field NAME; apiKey: not a Notify API key (its last 73 characters are the service ID and the secret key, two UUIDs joined by a hyphen)',
    );
  });
});
