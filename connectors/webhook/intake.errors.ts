/**
 * The webhook intake's refusals. Their codes, dispositions and hints are
 * catalogued in connectors/connector.errors.ts (`IntakeErrors`); this file
 * adds each code's HTTP status and the answer's body. `reject`: the
 * request is wrong and sending it again unchanged will fail again.
 * `retry`: nothing was recorded and the same request may succeed later
 * (503). Every refusal is answered `{ error: { code, message, requestId,
 * ...details } }`, and none is ever stored as a submission.
 */
import { CodedError } from '../../lib/errors.js';
import { IntakeErrors } from '../connector.errors.js';

/** One of the intake's error codes. */
export type IntakeCode = keyof typeof IntakeErrors;

const STATUS: Record<IntakeCode, number> = {
  WEBHOOK_UNSIGNED: 401,
  WEBHOOK_BAD_TIMESTAMP: 401,
  WEBHOOK_STALE: 401,
  WEBHOOK_FUTURE: 401,
  WEBHOOK_BAD_SIGNATURE: 401,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_TOO_LARGE: 413,
  WEBHOOK_CONTENT_TYPE: 415,
  WEBHOOK_NOT_JSON: 400,
  WEBHOOK_TOO_DEEP: 422,
  WEBHOOK_NOT_OBJECT: 422,
  WEBHOOK_SCHEMA: 422,
  WEBHOOK_CONFLICT: 409,
  WEBHOOK_BUSY: 503,
  WEBHOOK_UNAVAILABLE: 503,
  WEBHOOK_STOPPING: 503,
};

/** A refusal on its way to the client: code, status, disposition, message and details for the body. */
export class IntakeError extends CodedError {
  declare readonly code: IntakeCode;
  readonly status: number;
  readonly details: Record<string, unknown>;
  /** Seconds for a `Retry-After` header (503 only). */
  readonly retryAfter?: number;

  constructor(def: (typeof IntakeErrors)[IntakeCode], message: string, details: Record<string, unknown> = {}, retryAfter?: number) {
    super(def, message, { data: details });
    this.name = 'IntakeError';
    this.status = STATUS[def.code];
    this.details = details;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }

  /** The JSON body of the answer. */
  toBody(requestId: string): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, requestId, ...this.details } };
  }
}
