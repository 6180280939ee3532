import { mkdtempSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logging.js';
import { loadPipelineFile, type LoadedPipeline } from '../pipeline-files.js';
import { flowPipeline } from '../../pipelines/flow/flow-pipeline.js';
import { openRuntime, piiHasher, type Runtime } from '../runtime.js';
import { runPass } from '../../pipelines/flow/pass.js';
import type { IncomingSubmission } from '../../pipelines/ledger/ledger.types.js';
import { pipelineControls } from '../../pipelines/ledger/controls.js';
import { sign } from '../../connectors/webhook/signature.js';
import { Scheduler } from './scheduler.js';
import { startServer, type RunningServer } from './server.js';
import { Intake, type IntakeOptions } from './intake.js';
import { exampleSubmission, FORM, post, postAllElsewhere, refOf, SECRET, submissionWithRef, writeWebhookPipeline } from './intake.test-helpers.js';

interface Harness {
  dir: string;
  url: string;
  runtime: Runtime;
  intake: Intake;
  loaded: LoadedPipeline;
  logs: string[];
  scheduler: Scheduler;
  batches: number[];
}

const open: { server: RunningServer; runtime: Runtime; dir: string; scheduler: Scheduler; intake: Intake }[] = [];

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.intake.stop();
    await h.scheduler.stop();
    await h.server.close();
    await h.runtime.close();
    rmSync(h.dir, { recursive: true, force: true });
  }
});

async function serve(extra: Record<string, unknown> = {}, opts: Partial<IntakeOptions> & { deliver?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-intake-'));
  const file = writeWebhookPipeline(dir, 'hook', extra);
  const result = await loadPipelineFile(file, { env: { HOOK_SECRET: SECRET } });
  if (!result.pipeline) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const loaded = result.pipeline;
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => (logs.push(c.toString()), done()) }) });
  const runtime = await openRuntime(`sqlite:${join(dir, 'state.sqlite')}`);
  const batches: number[] = [];
  const ledger = {
    receive: (p: string, run: string | null, items: readonly IncomingSubmission[], actor: string) => {
      batches.push(items.length);
      return runtime.ledger.receive(p, run, items, actor);
    },
  };
  const scheduler = new Scheduler(log);
  const pass = () => runPass(flowPipeline(loaded), runtime.ledger, { owner: 'test-runner', actor: 'test-runner', log, signal: new AbortController().signal, leaseMs: 30_000, retryWaitMs: 0, piiHash: piiHasher(Buffer.alloc(32, 7)) });
  const entry = scheduler.add('hook', undefined, 'Europe/London', pass);
  const wake = opts.deliver ? { wake: () => scheduler.runNow(entry, pass, { kind: 'webhook' }), isRunning: () => entry.running, wakeDelayMs: 50 } : {};
  const intake = new Intake([{ name: 'hook', source: loaded.source, mapping: loaded.mapping }], { ledger, actor: 'test-runner', log, ...wake, ...opts });
  const server = await startServer({ host: '127.0.0.1', port: 0, scheduler, ledger: runtime.ledger, controls: () => pipelineControls(runtime.store), log, routes: [intake.routes] });
  open.push({ server, runtime, dir, scheduler, intake });
  return { dir, url: `${server.url}/intake/hook`, runtime, intake, loaded, logs, scheduler, batches };
}

const keyOf = (ref: string) => `${FORM}/${ref}`;

async function ledgerKeys(h: Harness): Promise<string[]> {
  return (await h.runtime.ledger.list('hook', { limit: 100_000 })).map((r) => r.key).sort();
}

function errorOf(res: { json: Record<string, unknown> }): Record<string, unknown> {
  return res.json.error as Record<string, unknown>;
}

describe('webhook intake over real HTTP into a real SQLite ledger', () => {
  it('accepts a signed submission with 202 only once it is in the ledger, keyed as a pass would key it', async () => {
    const h = await serve();
    const body = exampleSubmission();
    const res = await post(h.url, body);
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ key: keyOf('CA3HJ7WR'), status: 'accepted' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const row = await h.runtime.ledger.get('hook', keyOf('CA3HJ7WR'));
    expect(row).toMatchObject({ key: keyOf('CA3HJ7WR'), state: 'received', body });
    expect(row?.source).toBe(`POST /intake/hook id=${res.headers.get('x-request-id')}`);
    const timestamp = Math.floor(Date.now() / 1000);
    const bareHex = await post(h.url, body, { timestamp, signature: sign(SECRET, timestamp, JSON.stringify(body)) });
    expect(bareHex.json).toEqual({ key: keyOf('CA3HJ7WR'), status: 'duplicate' });
  });

  it('answers a repeat with the same 202 and no second record; the same key with other content is a 409 conflict kept aside', async () => {
    const h = await serve();
    const body = exampleSubmission();
    expect((await post(h.url, body)).json).toEqual({ key: keyOf('CA3HJ7WR'), status: 'accepted' });
    const again = await post(h.url, { ...body });
    expect(again.status).toBe(202);
    expect(again.json).toEqual({ key: keyOf('CA3HJ7WR'), status: 'duplicate' });
    expect(await ledgerKeys(h)).toEqual([keyOf('CA3HJ7WR')]);
    const changed = await post(h.url, { ...body, submitted_at: '2024-03-15T09:00:00.000Z' });
    expect(changed.status).toBe(409);
    expect(errorOf(changed)).toMatchObject({ code: 'WEBHOOK_CONFLICT', key: keyOf('CA3HJ7WR') });
    expect(errorOf(changed).message).toBe(`a submission with key "${keyOf('CA3HJ7WR')}" and different content is already recorded; this one is kept aside as a conflict`);
    expect((await h.runtime.ledger.get('hook', keyOf('CA3HJ7WR')))?.body).toEqual(body);
    expect(await h.runtime.ledger.conflictCount('hook')).toBe(1);
    expect(await ledgerKeys(h)).toEqual([keyOf('CA3HJ7WR')]);
  });

  it('refuses unsigned, badly signed, stale, future, oversized, non-JSON and schema-invalid requests with exact errors, and stores none of them', async () => {
    let clock = Date.now();
    const h = await serve({ maxBodyBytes: 4096 }, { now: () => clock });
    const body = exampleSubmission();
    const now = Math.floor(clock / 1000);
    const cases: [string, Promise<Awaited<ReturnType<typeof post>>>, number, string, string][] = [
      ['unsigned', post(h.url, body, { omit: ['signature', 'timestamp'] }), 401, 'WEBHOOK_UNSIGNED', 'the request is not signed: missing header x-rekey-signature and x-rekey-timestamp'],
      ['no timestamp', post(h.url, body, { omit: ['timestamp'] }), 401, 'WEBHOOK_UNSIGNED', 'the request is not signed: missing header x-rekey-timestamp'],
      ['other key', post(h.url, body, { secret: 'another-secret-of-sufficient-length' }), 401, 'WEBHOOK_BAD_SIGNATURE', 'the signature does not match the body and timestamp'],
      ['tampered', post(h.url, body, { tamper: (raw) => Buffer.from(raw.toString().replace('CA3HJ7WR', 'CA3HJ7WX')) }), 401, 'WEBHOOK_BAD_SIGNATURE', 'the signature does not match the body and timestamp'],
      ['not hex', post(h.url, body, { signature: 'sha256=zz' }), 401, 'WEBHOOK_BAD_SIGNATURE', 'the signature does not match the body and timestamp'],
      ['timestamp not seconds', post(h.url, body, { timestamp: '2024-03-14T10:00:00Z' }), 401, 'WEBHOOK_BAD_TIMESTAMP', 'header x-rekey-timestamp must be the signing time in unix seconds'],
      ['stale', post(h.url, body, { timestamp: now - 301 }), 401, 'WEBHOOK_STALE', 'the signing time is 301 seconds old, more than the replay window of 300 seconds'],
      ['future', post(h.url, body, { timestamp: now + 400 }), 401, 'WEBHOOK_FUTURE', 'the signing time is 400 seconds ahead of the server clock, more than the replay window of 300 seconds'],
      ['oversized', post(h.url, { ...body, padding: 'x'.repeat(5000) }), 413, 'WEBHOOK_TOO_LARGE', 'the body is larger than 4096 bytes'],
      ['not JSON', post(h.url, Buffer.from('{"form_name": "x",')), 400, 'WEBHOOK_NOT_JSON', 'the body is not JSON: the text ends too soon at line 1, column 19 (byte 18)'],
      ['empty', post(h.url, Buffer.alloc(0)), 400, 'WEBHOOK_NOT_JSON', 'the body is empty'],
      ['not UTF-8', post(h.url, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d])), 400, 'WEBHOOK_NOT_JSON', 'the body is not UTF-8 at line 1, column 3 (byte 2)'],
      ['array', post(h.url, [body]), 422, 'WEBHOOK_NOT_OBJECT', 'a submission must be a JSON object, not an array'],
      ['text/plain', post(h.url, body, { contentType: 'text/plain' }), 415, 'WEBHOOK_CONTENT_TYPE', 'the body must be JSON in UTF-8 (Content-Type: application/json), not "text/plain"'],
      ['latin1', post(h.url, body, { contentType: 'application/json; charset=iso-8859-1' }), 415, 'WEBHOOK_CONTENT_TYPE', 'the body must be JSON in UTF-8 (Content-Type: application/json), not "application/json; charset=iso-8859-1"'],
    ];
    for (const [name, pending, status, code, message] of cases) {
      const res = await pending;
      const got = errorOf(res)?.message as string;
      expect({ name, status: res.status, code: errorOf(res)?.code, message: got.startsWith(message) ? message : got }).toEqual({ name, status, code, message });
      expect(errorOf(res).requestId).toBe(res.headers.get('x-request-id'));
    }
    const invalid = await post(h.url, { ...body, submission_reference: 'lower', answers: undefined });
    expect(invalid.status).toBe(422);
    expect(errorOf(invalid)).toMatchObject({
      code: 'WEBHOOK_SCHEMA',
      message: "the body does not match the pipeline's schema: /answers is required",
      problems: [
        { path: '/answers', reason: 'is required' },
        { path: '/submission_reference', reason: 'must match pattern "^[A-Z0-9]{8}$"' },
      ],
    });
    const captured = { timestamp: now, raw: Buffer.from(JSON.stringify(body)) };
    clock += 301_000;
    const replayed = await post(h.url, captured.raw, { timestamp: captured.timestamp });
    expect(errorOf(replayed)).toMatchObject({ code: 'WEBHOOK_STALE', message: 'the signing time is 301 seconds old, more than the replay window of 300 seconds' });
    const unknown = await post(h.url.replace('/hook', '/nope'), body);
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'WEBHOOK_NOT_FOUND', message: 'no webhook intake at POST /intake/nope' });
    expect(await ledgerKeys(h)).toEqual([]);
    expect(await h.runtime.ledger.conflictCount('hook')).toBe(0);
    expect((await h.runtime.audit.head()).seq).toBe(0);
    expect(h.batches).toEqual([]);
  });

  it('refuses a body nested 10,000 levels deep with 422 WEBHOOK_TOO_DEEP, storing nothing, and takes the next submission', async () => {
    const h = await serve({ maxBodyBytes: 1024 * 1024 });
    const text = JSON.stringify(submissionWithRef('DEEP0001'));
    const deep = Buffer.from(`${text.slice(0, -1)},"extra":${'['.repeat(10_000)}"Zqx7Canary"${']'.repeat(10_000)}}`);
    const res = await post(h.url, deep);
    expect(res.status).toBe(422);
    expect(errorOf(res)).toEqual({
      code: 'WEBHOOK_TOO_DEEP',
      message: 'the body nests arrays and objects deeper than 64 levels (maxDepth); nothing was stored',
      maxDepth: 64,
      requestId: res.headers.get('x-request-id'),
    });
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await ledgerKeys(h)).toEqual([]);
    expect(h.batches).toEqual([]);
    const next = await post(h.url, submissionWithRef('NEXT0001'));
    expect(next.status).toBe(202);
    expect(await ledgerKeys(h)).toEqual([keyOf('NEXT0001')]);
    expect(h.logs.join('')).not.toContain('Zqx7Canary');
  });

  it('refuses a body streamed without a length once it passes maxBodyBytes', async () => {
    const h = await serve({ maxBodyBytes: 1024 });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const chunk = new TextEncoder().encode(`{"pad":"${'y'.repeat(800)}`);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(chunk);
        c.enqueue(chunk);
        c.close();
      },
    });
    const res = await fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-rekey-timestamp': timestamp, 'x-rekey-signature': '0'.repeat(64) },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_TOO_LARGE');
    expect(await ledgerKeys(h)).toEqual([]);
  });

  it('writes concurrent requests together (group commit) and answers each only with its own key', async () => {
    const h = await serve();
    const refs = Array.from({ length: 300 }, (_, i) => refOf(i));
    const answers = await postAllElsewhere(h.url, refs.map(submissionWithRef));
    expect(answers.map((a) => a.status)).toEqual(refs.map(() => 202));
    expect(answers.map((a) => a.json.key)).toEqual(refs.map(keyOf));
    expect(await ledgerKeys(h)).toEqual(refs.map(keyOf).sort());
    expect(h.batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(h.batches.length).toBeLessThan(300);
    expect(Math.max(...h.batches)).toBeGreaterThan(1);
  });

  it('answers 503 with Retry-After when too many wait for the ledger; exactly the 202s are recorded', async () => {
    const h = await serve({ maxBatch: 1, maxPending: 2 });
    const refs = Array.from({ length: 60 }, (_, i) => refOf(1000 + i));
    const answers = await postAllElsewhere(h.url, refs.map(submissionWithRef));
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const b of busy) {
      expect(errorOf(b).code).toBe('WEBHOOK_BUSY');
      expect(b.retryAfter).toBe('1');
    }
    expect(answers.every((a) => a.status === 202 || a.status === 503)).toBe(true);
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.json.key as string);
    expect(await ledgerKeys(h)).toEqual(accepted.sort());
    expect(Math.max(...h.batches)).toBe(1);
  });

  it('answers 503 and acknowledges nothing when the ledger is down', async () => {
    const h = await serve();
    await h.runtime.store.close();
    const res = await post(h.url, exampleSubmission());
    expect(res.status).toBe(503);
    expect(errorOf(res)).toMatchObject({ code: 'WEBHOOK_UNAVAILABLE', message: 'the submission could not be recorded; nothing was stored, send it again later' });
    expect(res.headers.get('retry-after')).toBe('5');
    const reopened = await openRuntime(`sqlite:${join(h.dir, 'state.sqlite')}`);
    expect(await reopened.ledger.list('hook', { limit: 10 })).toEqual([]);
    await reopened.close();
    open[0]!.runtime = reopened;
  });

  it('refuses with 503 once stopping, after answering the writes in flight', async () => {
    const h = await serve();
    const inFlight = Array.from({ length: 20 }, (_, i) => post(h.url, submissionWithRef(refOf(2000 + i))));
    await new Promise((r) => setTimeout(r, 5));
    await h.intake.stop();
    const late = await post(h.url, submissionWithRef(refOf(2999)));
    expect(late.status).toBe(503);
    expect(errorOf(late)).toMatchObject({ code: 'WEBHOOK_STOPPING' });
    expect(late.headers.get('retry-after')).toBe('5');
    const answers = await Promise.all(inFlight);
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.json.key as string);
    expect(answers.every((a) => a.status === 202 || (a.status === 503 && errorOf(a).code === 'WEBHOOK_STOPPING'))).toBe(true);
    expect(await ledgerKeys(h)).toEqual(accepted.sort());
  });

  it('wakes the pipeline after accepting, so the submission is delivered without waiting for a schedule', async () => {
    const h = await serve({}, { deliver: true });
    const res = await post(h.url, exampleSubmission());
    expect(res.status).toBe(202);
    let state: string | undefined;
    for (let i = 0; i < 100 && state !== 'delivered'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = (await h.runtime.ledger.get('hook', keyOf('CA3HJ7WR')))?.state;
    }
    expect(h.scheduler.pipelines[0]?.lastError).toBeUndefined();
    expect(state).toBe('delivered');
  });

  it('refuses a body that is not JSON naming only the code and the position, in the answer and in the log (canary)', async () => {
    const h = await serve();
    // Each fault sits on the canary: V8 quoted the text around it ("Unexpected token 'Ž', "…Žofia…" is not valid JSON").
    const cases: [string, Buffer, Record<string, unknown>][] = [
      ['a bare word', Buffer.from('{"form_name": "x",\n  "name": Žofia Zqx7Canary}'), { line: 2, column: 11, byteOffset: 29, reason: 'an unexpected character' }],
      ['a bad literal', Buffer.from('{"nino": "QQ123456C", "ok": trZqx7Canary}'), { line: 1, column: 31, byteOffset: 30, reason: 'an unexpected character' }],
      ['text after it', Buffer.from('{"a": 1} Žofia Zqx7Canary'), { line: 1, column: 10, byteOffset: 9, reason: 'more after the JSON value' }],
      ['a cut string', Buffer.from('{"name": "Žofia Zqx7Canary'), { line: 1, column: 27, byteOffset: 27, reason: 'the text ends too soon' }],
      ['not UTF-8', Buffer.concat([Buffer.from('{"name": "Žofia Zqx7Canary'), Buffer.from([0xff]), Buffer.from('"}')]), { line: 1, column: 27, byteOffset: 27 }],
    ];
    for (const [name, raw, want] of cases) {
      const res = await post(h.url, raw);
      const { reason, ...position } = want;
      const what = reason === undefined ? 'the body is not UTF-8' : `the body is not JSON: ${String(reason)}`;
      expect({ name, status: res.status, error: errorOf(res) }).toEqual({
        name,
        status: 400,
        error: { code: 'WEBHOOK_NOT_JSON', message: `${what} at line ${position.line}, column ${position.column} (byte ${position.byteOffset})`, requestId: res.headers.get('x-request-id'), ...position },
      });
    }
    const logged = h.logs.join('');
    expect(logged.match(/"code":"WEBHOOK_NOT_JSON"/g)).toHaveLength(cases.length);
    expect(logged).toContain('at line 2, column 11 (byte 29)');
    for (const canary of ['Zqx7Canary', 'Žofia', 'QQ123456C', 'Ž', 'trZ']) expect(logged).not.toContain(canary);
    expect(await ledgerKeys(h)).toEqual([]);
  });

  it('refuses a body nested 10,000 levels deep, and one malformed beneath that depth, without a word of it in the log', async () => {
    const h = await serve({ maxBodyBytes: 1024 * 1024 });
    const deep = '['.repeat(10_000) + '"Žofia Zqx7Canary"' + ']'.repeat(10_000);
    const tooDeep = await post(h.url, Buffer.from(`{"a":${deep}}`));
    expect(errorOf(tooDeep)).toMatchObject({ code: 'WEBHOOK_TOO_DEEP', maxDepth: 64 });
    const broken = await post(h.url, Buffer.from(`{"a":${deep.replace('"Žofia Zqx7Canary"', 'Žofia Zqx7Canary')}}`));
    expect(errorOf(broken)).toMatchObject({ code: 'WEBHOOK_NOT_JSON', message: 'the body is not JSON: an unexpected character at line 1, column 10006 (byte 10005)' });
    const logged = h.logs.join('');
    for (const canary of ['Zqx7Canary', 'Žofia', 'Ž', 'Maximum call stack']) expect(logged).not.toContain(canary);
    expect(logged).toContain('"code":"WEBHOOK_TOO_DEEP"');
  });

  it('logs request ids and refusals, never bodies, personal data or the secret', async () => {
    const h = await serve();
    const body = exampleSubmission();
    await post(h.url, body);
    await post(h.url, body, { secret: 'another-secret-of-sufficient-length' });
    await post(h.url, { ...body, submission_reference: 'lower' });
    await post(h.url, { ...body, submitted_at: '2024-03-15T09:00:00.000Z' });
    const text = h.logs.join('');
    expect(text).toContain('"code":"WEBHOOK_BAD_SIGNATURE"');
    expect(text).toContain('"code":"WEBHOOK_SCHEMA"');
    expect(text).toMatch(/"requestId":"[0-9a-f-]{36}"/);
    for (const secretOrPii of [SECRET, 'OCONN806143SP9TK', "O'Connor", 'JH 48 27 51 C', 'sean.oconnor@example.com', '07700 900461', 'Grove Street']) expect(text).not.toContain(secretOrPii);
  });
});
