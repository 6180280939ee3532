/**
 * The webhook intake's error catalogue: a stable code per refusal, its HTTP
 * status and disposition (STYLE §3). `reject`: the request is wrong and
 * sending it again unchanged will fail again. `retry`: nothing was
 * recorded and the same request may succeed later (503). Every refusal is
 * answered `{ error: { code, message, requestId, ...details } }`, and none
 * is ever stored as a submission.
 */

/** code -> [HTTP status, disposition]. */
const CATALOGUE = {
  /** The signature or timestamp header is missing. */
  WEBHOOK_UNSIGNED: [401, 'reject'],
  /** The timestamp header is not unix seconds. */
  WEBHOOK_BAD_TIMESTAMP: [401, 'reject'],
  /** The timestamp is older than the replay window. */
  WEBHOOK_STALE: [401, 'reject'],
  /** The timestamp is further ahead than the replay window. */
  WEBHOOK_FUTURE: [401, 'reject'],
  /** The signature does not match the body and timestamp. */
  WEBHOOK_BAD_SIGNATURE: [401, 'reject'],
  /** No intake for this path. */
  WEBHOOK_NOT_FOUND: [404, 'reject'],
  /** The body is larger than `maxBodyBytes`. */
  WEBHOOK_TOO_LARGE: [413, 'reject'],
  /** The content type is not JSON in UTF-8. */
  WEBHOOK_CONTENT_TYPE: [415, 'reject'],
  /** The body is empty, not UTF-8, or not JSON. */
  WEBHOOK_NOT_JSON: [400, 'reject'],
  /** The body is JSON but not an object. */
  WEBHOOK_NOT_OBJECT: [422, 'reject'],
  /** The body fails the pipeline's JSON Schema; `problems` lists each field path and reason. */
  WEBHOOK_SCHEMA: [422, 'reject'],
  /** A submission with this key and different content is already recorded; the new content is kept aside as a conflict. */
  WEBHOOK_CONFLICT: [409, 'reject'],
  /** Too many submissions are waiting for the ledger. */
  WEBHOOK_BUSY: [503, 'retry'],
  /** The ledger could not record the submission. */
  WEBHOOK_UNAVAILABLE: [503, 'retry'],
  /** The server is shutting down. */
  WEBHOOK_STOPPING: [503, 'retry'],
} as const satisfies Record<string, readonly [number, 'reject' | 'retry']>;

/** One of the intake's error codes. */
export type IntakeCode = keyof typeof CATALOGUE;

/** A refusal on its way to the client: code, status, disposition, message and details for the body. */
export class IntakeError extends Error {
  readonly code: IntakeCode;
  readonly status: number;
  readonly disposition: 'reject' | 'retry';
  readonly details: Record<string, unknown>;
  /** Seconds for a `Retry-After` header (503 only). */
  readonly retryAfter?: number;

  constructor(code: IntakeCode, message: string, details: Record<string, unknown> = {}, retryAfter?: number) {
    super(message);
    this.name = 'IntakeError';
    this.code = code;
    this.status = CATALOGUE[code][0];
    this.disposition = CATALOGUE[code][1];
    this.details = details;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }

  /** The JSON body of the answer. */
  toBody(requestId: string): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, requestId, ...this.details } };
  }
}

/** The status and disposition of `code`. */
export function intakeStatus(code: IntakeCode): { status: number; disposition: 'reject' | 'retry' } {
  const [status, disposition] = CATALOGUE[code];
  return { status, disposition };
}
