/**
 * Source `webhook`: submissions are POSTed to `rekey serve` at
 * `/intake/<pipeline>` and admitted into the ledger by the intake route as
 * they arrive (the `push` capability), so a pass has nothing to read
 * (`read` yields nothing) and only delivers what is due. This class holds the pipeline's intake rules:
 * the signing key, header names, replay window, body limit and optional
 * JSON Schema, and checks a request against them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { ConnectorDef, ConnectorEnv, PushIntake, Source, SourceItem } from '../connector.types.js';
import { IntakeErrors } from '../connector.errors.js';
import { jsonTextDeeperThan } from '../../lib/json-depth.js';
import { jsonFault, positionOf, utf8Fault, type TextPosition } from '../../lib/json-syntax.js';
import { IntakeError } from './intake.errors.js';
import { intakeRoute } from './intake.route.js';
import { checkSignature, checkTimestamp } from './signature.js';
import { jsonSchema } from '../config.schema.js';
import { WEBHOOK_DEFAULTS, webhookSourceConfigSchema, type WebhookSourceConfig } from './webhook.config.js';

/** The intake rules of one pipeline, without the key. */
export interface IntakeSettings {
  signatureHeader: string;
  timestampHeader: string;
  replayWindowSeconds: number;
  maxBodyBytes: number;
  /** Deepest nesting of arrays and objects a body may have. */
  maxDepth: number;
  maxBatch: number;
  maxPending: number;
}

/** One field of a body that failed the schema. */
export interface SchemaProblem {
  /** JSON Pointer to the field (`/answers/0/answer_text`), `` for the body itself. */
  path: string;
  reason: string;
}

const MAX_PROBLEMS = 50;
const JSON_TYPE = /^application\/(?:[a-z0-9.+-]*\+)?json$/;

function loadSchema(file: string): ValidateFunction {
  let schema: AnySchema;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8')) as AnySchema;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`cannot read the body schema "${file}": ${why}`, { cause: e });
  }
  const dialect = typeof schema === 'object' ? String((schema as { $schema?: unknown }).$schema ?? '') : '';
  const opts = { allErrors: true, strict: false, allowUnionTypes: true };
  const ajv = dialect.includes('2020-12') ? new Ajv2020(opts) : dialect.includes('2019-09') ? new Ajv2019(opts) : new Ajv(opts);
  addFormats.default(ajv);
  try {
    return ajv.compile(schema);
  } catch (e) {
    throw new Error(`the body schema "${file}" is not a valid JSON Schema: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The refusal of a body that is empty, not UTF-8 or not JSON, naming a
 * fixed reason and where (line, column, byte offset) and never any of the
 * body: the refusal is logged, and a log never holds a citizen's value
 * (V8's `JSON.parse` message quotes the text around the fault).
 */
function notJson(raw: Buffer, text: string | undefined): IntakeError {
  if (raw.length === 0) return new IntakeError(IntakeErrors.WEBHOOK_NOT_JSON, 'the body is empty');
  const bom = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  const at = (what: string, p: TextPosition) =>
    new IntakeError(IntakeErrors.WEBHOOK_NOT_JSON, `${what} at line ${p.line}, column ${p.column} (byte ${p.byteOffset})`, { line: p.line, column: p.column, byteOffset: p.byteOffset });
  if (text === undefined) {
    const bad = utf8Fault(raw) ?? raw.length;
    const before = new TextDecoder('utf-8').decode(raw.subarray(bom, bad));
    return at('the body is not UTF-8', { ...positionOf(before, before.length), byteOffset: bad });
  }
  const fault = jsonFault(text);
  if (!fault) return new IntakeError(IntakeErrors.WEBHOOK_NOT_JSON, 'the body is not JSON');
  const p = positionOf(text, fault.index);
  return at(`the body is not JSON: ${fault.reason}`, { ...p, byteOffset: p.byteOffset + bom });
}

function problemOf(e: ErrorObject): SchemaProblem {
  const p = e.params as { missingProperty?: string; additionalProperty?: string };
  const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  if (e.keyword === 'required' && p.missingProperty !== undefined) return { path: `${e.instancePath}/${escape(p.missingProperty)}`, reason: 'is required' };
  if (e.keyword === 'additionalProperties' && p.additionalProperty !== undefined) {
    return { path: `${e.instancePath}/${escape(p.additionalProperty)}`, reason: 'is not allowed' };
  }
  return { path: e.instancePath, reason: e.message ?? e.keyword };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The `webhook` source of one pipeline; see {@link WebhookSourceConfig}. */
export class WebhookSource implements Source {
  /** The intake rules. */
  readonly settings: IntakeSettings;
  /** Pushed over HTTP: `POST /intake/<pipeline>`, batched into the ledger by the intake's `maxBatch` and `maxPending`. */
  readonly push: PushIntake;
  private readonly key: Buffer;
  private readonly validate?: ValidateFunction;

  /**
   * Reads and compiles the body schema, if any (a throw here is a
   * configuration problem: unreadable file, invalid schema, short key).
   */
  constructor(config: WebhookSourceConfig, env: ConnectorEnv) {
    if (typeof config.secret !== 'string' || config.secret.length < 16) throw new Error('the signing secret must be at least 16 characters');
    this.key = Buffer.from(config.secret, 'utf8');
    this.settings = {
      signatureHeader: (config.signatureHeader ?? WEBHOOK_DEFAULTS.signatureHeader).toLowerCase(),
      timestampHeader: (config.timestampHeader ?? WEBHOOK_DEFAULTS.timestampHeader).toLowerCase(),
      replayWindowSeconds: config.replayWindowSeconds ?? WEBHOOK_DEFAULTS.replayWindowSeconds,
      maxBodyBytes: config.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes,
      maxDepth: config.maxDepth ?? WEBHOOK_DEFAULTS.maxDepth,
      maxBatch: config.maxBatch ?? WEBHOOK_DEFAULTS.maxBatch,
      maxPending: config.maxPending ?? WEBHOOK_DEFAULTS.maxPending,
    };
    if (config.schema !== undefined) this.validate = loadSchema(resolve(env.baseDir, config.schema));
    this.push = {
      limits: { maxBatch: this.settings.maxBatch, maxPending: this.settings.maxPending },
      routes: (pipeline, door, opts) => intakeRoute(pipeline, this, door, opts),
    };
  }

  /** Nothing to read: the intake route admits submissions as they arrive. */
  // eslint-disable-next-line require-yield
  async *read(): AsyncIterable<SourceItem> {
    return;
  }

  /** Nothing to release. */
  async close(): Promise<void> {}

  /**
   * Checks what can be checked before the body is read: both signing
   * headers present (`WEBHOOK_UNSIGNED`), the timestamp unix seconds
   * (`WEBHOOK_BAD_TIMESTAMP`) within the replay window of `nowMs`
   * (`WEBHOOK_STALE`, `WEBHOOK_FUTURE`), and a JSON content type in UTF-8
   * (`WEBHOOK_CONTENT_TYPE`). Returns the refusal, or undefined.
   */
  checkHeaders(headers: Record<string, string | string[] | undefined>, nowMs: number): IntakeError | undefined {
    const { signatureHeader, timestampHeader, replayWindowSeconds } = this.settings;
    const signature = header(headers, signatureHeader);
    const timestamp = header(headers, timestampHeader);
    const missing = [signature ? undefined : signatureHeader, timestamp ? undefined : timestampHeader].filter((h) => h !== undefined);
    if (missing.length) return new IntakeError(IntakeErrors.WEBHOOK_UNSIGNED, `the request is not signed: missing header ${missing.join(' and ')}`);
    const t = checkTimestamp(timestamp!.trim(), replayWindowSeconds, nowMs);
    if (!t.ok && t.reason === 'bad-timestamp') return new IntakeError(IntakeErrors.WEBHOOK_BAD_TIMESTAMP, `header ${timestampHeader} must be the signing time in unix seconds`);
    if (!t.ok && t.reason === 'stale') {
      return new IntakeError(IntakeErrors.WEBHOOK_STALE, `the signing time is ${t.skewSeconds} seconds old, more than the replay window of ${replayWindowSeconds} seconds`);
    }
    if (!t.ok && t.reason === 'future') {
      return new IntakeError(IntakeErrors.WEBHOOK_FUTURE, `the signing time is ${-t.skewSeconds!} seconds ahead of the server clock, more than the replay window of ${replayWindowSeconds} seconds`);
    }
    const type = header(headers, 'content-type');
    const [media = '', ...params] = (type ?? '').split(';').map((s) => s.trim().toLowerCase());
    const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
    if (!JSON_TYPE.test(media) || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
      return new IntakeError(IntakeErrors.WEBHOOK_CONTENT_TYPE, `the body must be JSON in UTF-8 (Content-Type: application/json), not ${type ? `"${type}"` : 'untyped'}`);
    }
    return undefined;
  }

  /**
   * Checks the body: the signature over timestamp and raw bytes
   * (`WEBHOOK_BAD_SIGNATURE`), then UTF-8 JSON (`WEBHOOK_NOT_JSON`, naming
   * the line, column and byte of the fault, never the body's text) nested
   * no deeper than `maxDepth` (`WEBHOOK_TOO_DEEP`, before anything recursive
   * touches it), an object (`WEBHOOK_NOT_OBJECT`) passing the schema
   * (`WEBHOOK_SCHEMA`, with `problems`). Call after {@link checkHeaders} passed. Resolves the parsed
   * body; throws {@link IntakeError}.
   */
  admit(headers: Record<string, string | string[] | undefined>, raw: Buffer): Record<string, unknown> {
    const sig = checkSignature(this.key, header(headers, this.settings.timestampHeader)!.trim(), raw, header(headers, this.settings.signatureHeader)!);
    if (!sig.ok) throw new IntakeError(IntakeErrors.WEBHOOK_BAD_SIGNATURE, 'the signature does not match the body and timestamp');
    let body: unknown;
    let text: string | undefined;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
      body = JSON.parse(text);
    } catch {
      throw notJson(raw, text);
    }
    const { maxDepth } = this.settings;
    if (jsonTextDeeperThan(text, maxDepth)) {
      throw new IntakeError(IntakeErrors.WEBHOOK_TOO_DEEP, `the body nests arrays and objects deeper than ${maxDepth} levels (maxDepth); nothing was stored`, { maxDepth });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new IntakeError(IntakeErrors.WEBHOOK_NOT_OBJECT, `a submission must be a JSON object, not ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`);
    }
    if (this.validate && !this.validate(body)) {
      const problems = (this.validate.errors ?? []).slice(0, MAX_PROBLEMS).map(problemOf);
      const first = problems[0];
      throw new IntakeError(IntakeErrors.WEBHOOK_SCHEMA, `the body does not match the pipeline's schema${first ? `: ${first.path || '(body)'} ${first.reason}` : ''}`, { problems });
    }
    return body as Record<string, unknown>;
  }
}

/** The `webhook` source's declaration. */
export const webhookSource: ConnectorDef<WebhookSourceConfig, WebhookSource> = {
  name: 'webhook',
  kind: 'source',
  doc: 'Signed JSON submissions POSTed to `rekey serve` at /intake/<pipeline>, recorded in the ledger before they are acknowledged.',
  configSchema: jsonSchema(webhookSourceConfigSchema),
  create: (config, env) => new WebhookSource(config, env),
};
