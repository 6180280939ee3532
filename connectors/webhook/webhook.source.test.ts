import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipelineFile } from '../../runner/pipeline-files.js';
import { checkSignature, checkTimestamp, sign } from './signature.js';
import { WebhookSource } from './webhook.source.js';
import { IntakeError } from './intake.errors.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'rekey-webhook-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the signing scheme', () => {
  it('is hex HMAC-SHA256 of "<timestamp>.<body>" (the value openssl dgst -sha256 -hmac gives)', () => {
    expect(sign(SECRET, 1700000000, '{"a":1}')).toBe('3994b071f103d60d671aa5d957a1177802d47961baca312a65af0730216aae24');
  });

  it('accepts the digest bare, with sha256= or in upper case, and refuses any other', () => {
    const body = Buffer.from('{"a":1}');
    const hex = '3994b071f103d60d671aa5d957a1177802d47961baca312a65af0730216aae24';
    for (const h of [hex, `sha256=${hex}`, hex.toUpperCase(), ` sha256=${hex} `]) expect(checkSignature(SECRET, '1700000000', body, h)).toEqual({ ok: true });
    const bad = { ok: false, reason: 'bad-signature' };
    expect(checkSignature(SECRET, '1700000001', body, hex)).toEqual(bad);
    expect(checkSignature(SECRET, '1700000000', Buffer.from('{"a":2}'), hex)).toEqual(bad);
    expect(checkSignature('another-secret-of-sufficient-length', '1700000000', body, hex)).toEqual(bad);
    expect(checkSignature(SECRET, '1700000000', body, hex.slice(0, 62))).toEqual(bad);
    expect(checkSignature(SECRET, '1700000000', body, `${hex}00`)).toEqual(bad);
    expect(checkSignature(SECRET, '1700000000', body, `sha1=${hex}`)).toEqual(bad);
  });

  it('takes a timestamp up to the window either side and refuses one beyond it', () => {
    const now = 1_700_000_000_000;
    expect(checkTimestamp('1699999700', 300, now)).toEqual({ ok: true });
    expect(checkTimestamp('1700000300', 300, now)).toEqual({ ok: true });
    expect(checkTimestamp('1699999699', 300, now)).toEqual({ ok: false, reason: 'stale', skewSeconds: 301 });
    expect(checkTimestamp('1700000301', 300, now)).toEqual({ ok: false, reason: 'future', skewSeconds: -301 });
    for (const t of ['', '-1', '1.5', '1700000000000000', 'now']) expect(checkTimestamp(t, 300, now)).toEqual({ ok: false, reason: 'bad-timestamp' });
  });
});

function pipeline(name: string, sourceConfig: string): string {
  writeFileSync(join(dir, 'm.yaml'), 'mapping: m\nkey: "{{form_name}}/{{submission_reference}}"\nfields:\n  REF: { from: submission_reference, required: true }\n');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [`pipeline: ${name}`, 'mapping: m.yaml', 'source:', '  kind: webhook', `  config: ${sourceConfig}`, 'target:', '  kind: sqlite', '  config: { path: ./t.sqlite, table: T, keyColumn: K }', ''].join('\n'),
  );
  return file;
}

describe('the webhook source in a pipeline file', () => {
  it('builds from a secret reference with its defaults, and reads nothing on a pass', async () => {
    const r = await loadPipelineFile(pipeline('ok', '{ secret: { env: HOOK_SECRET } }'), { env: { HOOK_SECRET: SECRET } });
    expect(r.problems).toEqual([]);
    const source = r.pipeline!.source as WebhookSource;
    expect(source).toBeInstanceOf(WebhookSource);
    expect(source.settings).toEqual({ signatureHeader: 'x-rekey-signature', timestampHeader: 'x-rekey-timestamp', replayWindowSeconds: 300, maxBodyBytes: 1048576, maxDepth: 64, maxBatch: 500, maxPending: 5000 });
    const items = [];
    for await (const item of source.read()) items.push(item);
    expect(items).toEqual([]);
    expect(JSON.stringify(r.pipeline!.def)).not.toContain(SECRET);
  });

  it('reports a secret in clear, an unset variable, a short secret, a bad option and an unreadable or invalid schema, each located', async () => {
    const inClear = await loadPipelineFile(pipeline('clear', `{ secret: ${SECRET} }`));
    expect(inClear.problems.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual(['5:21 "secret" is a secret written in the file: put secrets in the environment: { env: NAME } (or in a file: { file: path })']);
    expect(JSON.stringify(inClear.problems)).not.toContain(SECRET);
    const unset = await loadPipelineFile(pipeline('unset', '{ secret: { env: HOOK_SECRET } }'), { env: {} });
    expect(unset.problems.map((p) => p.message)).toEqual(['environment variable HOOK_SECRET is not set']);
    const short = await loadPipelineFile(pipeline('short', '{ secret: { env: HOOK_SECRET } }'), { env: { HOOK_SECRET: 'short' } });
    expect(short.problems.map((p) => p.message)).toEqual(['the webhook source cannot be set up: the signing secret must be at least 16 characters']);
    const option = await loadPipelineFile(pipeline('option', '{ secret: { env: HOOK_SECRET }, maxBodyBytes: 0, replayWindow: 5m }'), { env: { HOOK_SECRET: SECRET } });
    expect(option.problems.map((p) => p.message).join('\n')).toMatch(/maxBodyBytes[\s\S]*replayWindow/);
    const missing = await loadPipelineFile(pipeline('missing', '{ secret: { env: HOOK_SECRET }, schema: ./nope.json }'), { env: { HOOK_SECRET: SECRET } });
    expect(missing.problems.map((p) => p.message)).toEqual([`the webhook source cannot be set up: cannot read the body schema "${join(dir, 'nope.json')}": ENOENT`]);
    writeFileSync(join(dir, 'broken.json'), '{"type": "objekt"}');
    const broken = await loadPipelineFile(pipeline('broken', '{ secret: { env: HOOK_SECRET }, schema: ./broken.json }'), { env: { HOOK_SECRET: SECRET } });
    expect(broken.problems[0]?.message).toMatch(/^the webhook source cannot be set up: the body schema ".*broken\.json" is not a valid JSON Schema: /);
  });

  it('checks bodies against a 2020-12 schema with formats, naming each field and reason', async () => {
    writeFileSync(
      join(dir, 'form.schema.json'),
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        required: ['submission_reference', 'submitted_at'],
        properties: { submission_reference: { type: 'string' }, submitted_at: { type: 'string', format: 'date-time' }, answers: { type: 'array', prefixItems: [{ type: 'object' }] } },
        additionalProperties: false,
      }),
    );
    const r = await loadPipelineFile(pipeline('form', '{ secret: { env: HOOK_SECRET }, schema: ./form.schema.json, signatureHeader: X-Sig }'), { env: { HOOK_SECRET: SECRET } });
    const source = r.pipeline!.source as WebhookSource;
    const body = Buffer.from(JSON.stringify({ submitted_at: 'yesterday', answers: ['x'], extra: 'Seán' }));
    const headers = { 'x-sig': sign(SECRET, '1700000000', body), 'x-rekey-timestamp': '1700000000' };
    let err: unknown;
    try {
      source.admit(headers, body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IntakeError);
    expect((err as IntakeError).toBody('r1')).toEqual({
      error: {
        code: 'WEBHOOK_SCHEMA',
        message: "the body does not match the pipeline's schema: /submission_reference is required",
        requestId: 'r1',
        problems: [
          { path: '/submission_reference', reason: 'is required' },
          { path: '/extra', reason: 'is not allowed' },
          { path: '/submitted_at', reason: 'must match format "date-time"' },
          { path: '/answers/0', reason: 'must be object' },
        ],
      },
    });
    expect((err as IntakeError).status).toBe(422);
    const good = Buffer.from(JSON.stringify({ submission_reference: 'AB2CD3EF', submitted_at: '2024-03-14T10:22:31.418Z' }));
    expect(source.admit({ 'x-sig': `sha256=${sign(SECRET, '1700000000', good)}`, 'x-rekey-timestamp': '1700000000' }, good)).toEqual({ submission_reference: 'AB2CD3EF', submitted_at: '2024-03-14T10:22:31.418Z' });
    expect(source.checkHeaders({ 'x-rekey-signature': 'x', 'x-rekey-timestamp': '1700000000', 'content-type': 'application/json' }, 1_700_000_000_000)?.code).toBe('WEBHOOK_UNSIGNED');
    expect(source.checkHeaders({ 'x-sig': 'x', 'x-rekey-timestamp': '1700000000', 'content-type': 'application/vnd.forms+json; charset=UTF-8' }, 1_700_000_000_000)).toBeUndefined();
  });

  it('refuses a body that is not JSON naming the fault and its place, without quoting any of it (the refusal is logged)', async () => {
    const r = await loadPipelineFile(pipeline('form', '{ secret: { env: HOOK_SECRET } }'), { env: { HOOK_SECRET: SECRET } });
    const source = r.pipeline!.source as WebhookSource;
    const cases: [string, string][] = [
      ['{"name": "Siân Zqx7Canary" oops}', "no ',' or '}' after a property value at line 1, column 28 (byte 28)"],
      ['Zqx7Canary Siân', 'an unexpected character at line 1, column 1 (byte 0)'],
      ['{"name": "Siân Zqx7Canary", "x": tru}', 'an unexpected character at line 1, column 37 (byte 37)'],
      ['{"name": Siân}', 'an unexpected character at line 1, column 10 (byte 9)'],
    ];
    for (const [text, where] of cases) {
      const body = Buffer.from(text);
      let err: unknown;
      try {
        source.admit({ 'x-rekey-signature': sign(SECRET, '1700000000', body), 'x-rekey-timestamp': '1700000000' }, body);
      } catch (e) {
        err = e;
      }
      expect((err as IntakeError).code).toBe('WEBHOOK_NOT_JSON');
      expect((err as IntakeError).message).toBe(`the body is not JSON: ${where}`);
      expect(JSON.stringify((err as IntakeError).toBody('r1'))).not.toMatch(/Zqx7Canary|Siân|S'/);
    }
  });

  it('refuses a body nested deeper than maxDepth (422, naming the limit), and a maxDepth above 1000', async () => {
    const r = await loadPipelineFile(pipeline('depth', '{ secret: { env: HOOK_SECRET }, maxDepth: 3 }'), { env: { HOOK_SECRET: SECRET } });
    const source = r.pipeline!.source as WebhookSource;
    const admit = (text: string) => {
      const body = Buffer.from(text);
      return source.admit({ 'x-rekey-signature': sign(SECRET, '1700000000', body), 'x-rekey-timestamp': '1700000000' }, body);
    };
    expect(admit('{"a":{"b":[1]},"s":"[[[[{{{{"}')).toEqual({ a: { b: [1] }, s: '[[[[{{{{' });
    let err: unknown;
    try {
      admit('{"a":{"b":[{}]}}');
    } catch (e) {
      err = e;
    }
    expect((err as IntakeError).status).toBe(422);
    expect((err as IntakeError).toBody('r1')).toEqual({
      error: { code: 'WEBHOOK_TOO_DEEP', message: 'the body nests arrays and objects deeper than 3 levels (maxDepth); nothing was stored', requestId: 'r1', maxDepth: 3 },
    });
    const tooHigh = await loadPipelineFile(pipeline('too-high', '{ secret: { env: HOOK_SECRET }, maxDepth: 1001 }'), { env: { HOOK_SECRET: SECRET } });
    expect(tooHigh.problems.map((p) => p.message).join('\n')).toMatch(/maxDepth/);
  });
});
