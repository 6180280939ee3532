/** Test helpers for the webhook intake: a webhook pipeline folder and signed requests. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sign } from '../../connectors/webhook/signature.js';
import { root } from '../cli.test-helpers.js';

/** The signing secret the test pipelines read from `HOOK_SECRET`. */
export const SECRET = 'test-signing-secret-0123456789abcdef';

/** The form name of the example submissions (first part of their keys). */
export const FORM = 'Change the address on your driving licence';

/** A JSON Schema the test pipelines' bodies must pass. */
export const BODY_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['form_name', 'submission_reference', 'answers'],
  properties: {
    form_name: { type: 'string', minLength: 1 },
    submission_reference: { type: 'string', pattern: '^[A-Z0-9]{8}$' },
    submitted_at: { type: 'string', format: 'date-time' },
    answers: { type: 'array', items: { type: 'object', required: ['question_id'] } },
  },
};

/** The first example submission (fixtures/…/change-of-address.ndjson), parsed. */
export function exampleSubmission(): Record<string, unknown> {
  const line = readFileSync(join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson'), 'utf8').split('\n')[0]!;
  return JSON.parse(line) as Record<string, unknown>;
}

/** A distinct submission of the example's shape with reference `ref` (8 characters). */
export function submissionWithRef(ref: string): Record<string, unknown> {
  return { ...exampleSubmission(), submission_reference: ref };
}

/** An 8-character reference from a number: `W` and 7 digits. */
export const refOf = (n: number) => `W${String(n).padStart(7, '0')}`;

/**
 * Writes, in `dir`, a pipeline `<name>.yaml` with a webhook source (secret
 * from `HOOK_SECRET`, the body schema, `extra` config lines), the example
 * change-of-address mapping and a SQLite target in `dir`.
 */
export function writeWebhookPipeline(dir: string, name: string, extra: Record<string, unknown> = {}, top: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'body.schema.json'), JSON.stringify(BODY_SCHEMA, null, 2));
  const config = { secret: { env: 'HOOK_SECRET' }, schema: './body.schema.json', ...extra };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `pipeline: ${name}`,
      `mapping: ${join(root, 'examples/mappings/change-of-address.yaml')}`,
      'source:',
      '  kind: webhook',
      `  config: ${JSON.stringify(config)}`,
      'target:',
      '  kind: sqlite',
      `  config: { path: ./${name}.legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, setupSql: ${join(root, 'fixtures/legacy/drv_addr_chg.sqlite.sql')} }`,
      ...top,
      '',
    ].join('\n'),
  );
  return file;
}

/** Options of {@link post}. */
export interface PostOptions {
  secret?: string;
  /** Unix seconds; default now. */
  timestamp?: number | string;
  /** Leave the signature or timestamp header out. */
  omit?: ('signature' | 'timestamp')[];
  contentType?: string;
  /** Signature header value as sent (overrides signing). */
  signature?: string;
  /** Change the body after signing. */
  tamper?: (raw: Buffer) => Buffer;
}

/** POSTs `body` (an object, serialised; or raw bytes) signed per the webhook scheme, and returns status, headers and parsed JSON. */
export async function post(url: string, body: unknown, opts: PostOptions = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (!opts.omit?.includes('timestamp')) headers['x-rekey-timestamp'] = timestamp;
  if (!opts.omit?.includes('signature')) headers['x-rekey-signature'] = opts.signature ?? `sha256=${sign(opts.secret ?? SECRET, timestamp, raw)}`;
  const sent = opts.tamper ? opts.tamper(raw) : raw;
  const res = await fetch(url, { method: 'POST', headers, body: sent });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The client's half of {@link postAllElsewhere}, run in a thread of its own. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
Promise.all(workerData.requests.map(async (r) => {
  const res = await fetch(workerData.url, { method: 'POST', headers: r.headers, body: r.body });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), text: await res.text() };
})).then((answers) => parentPort.postMessage({ answers }), (e) => parentPort.postMessage({ error: String(e) }));
`;

/**
 * POSTs every body at once, each signed per the webhook scheme, from a
 * thread of its own, as clients elsewhere send them: requests then arrive
 * while the server's thread writes (a client on that thread sends nothing
 * while it does). Resolves to each answer's status, `Retry-After` and
 * parsed JSON, in order.
 */
export async function postAllElsewhere(url: string, bodies: readonly unknown[]): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }[]> {
  const requests = bodies.map((body) => {
    const raw = Buffer.from(JSON.stringify(body));
    const timestamp = String(Math.floor(Date.now() / 1000));
    return { body: raw.toString('utf8'), headers: { 'content-type': 'application/json', 'x-rekey-timestamp': timestamp, 'x-rekey-signature': `sha256=${sign(SECRET, timestamp, raw)}` } };
  });
  const worker = new Worker(CLIENT, { eval: true, workerData: { url, requests } });
  try {
    const [reply] = (await once(worker, 'message')) as [{ answers?: { status: number; retryAfter: string | null; text: string }[]; error?: string }];
    if (!reply.answers) throw new Error(`the client thread failed: ${reply.error}`);
    return reply.answers.map((a) => ({ status: a.status, retryAfter: a.retryAfter, json: a.text ? (JSON.parse(a.text) as Record<string, unknown>) : {} }));
  } finally {
    await worker.terminate();
  }
}
