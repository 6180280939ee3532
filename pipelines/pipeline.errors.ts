/**
 * The flow layer's error catalogue (state store, ledger, audit log). Every
 * error that leaves this layer has a stable code and a disposition telling
 * the runner what to do: `retry` (transient, back off), `reject` (this
 * request is wrong, report why, never retry) or `fatal` (stop and alert).
 * Other parts of `pipelines/` add their codes here.
 */
import type { ConnectorError } from '../connectors/connector.types.js';

/** What the runner must do with an error. */
export type Disposition = 'retry' | 'reject' | 'fatal';

/** Stable codes of this layer, each with its disposition. */
export const PipelineCodes = {
  /** `--state` / `REKEY_STATE_URL` is not a URL rekey can open. */
  STORE_URL_INVALID: { code: 'STORE_URL_INVALID', disposition: 'fatal' },
  /** The state store cannot be created, opened or reached (a folder that cannot be written, a file SQLite cannot open, a refused connection). */
  STORE_UNAVAILABLE: { code: 'STORE_UNAVAILABLE', disposition: 'fatal' },
  /** The state store schema could not be brought up to date. */
  STORE_MIGRATION_FAILED: { code: 'STORE_MIGRATION_FAILED', disposition: 'fatal' },
  /** A requested state move is not in `TRANSITIONS`; nothing was written. */
  LEDGER_ILLEGAL_TRANSITION: { code: 'LEDGER_ILLEGAL_TRANSITION', disposition: 'fatal' },
  /** A transition or operator action named a key the ledger does not hold. */
  LEDGER_UNKNOWN_KEY: { code: 'LEDGER_UNKNOWN_KEY', disposition: 'reject' },
  /** A call broke this layer's input rules (missing reason, PII not hashed, ...). */
  LEDGER_BAD_REQUEST: { code: 'LEDGER_BAD_REQUEST', disposition: 'reject' },
  /** `finishRun` was given a run id that was never started. */
  LEDGER_UNKNOWN_RUN: { code: 'LEDGER_UNKNOWN_RUN', disposition: 'fatal' },
  /** A signing, verifying or PII key is missing or unreadable. */
  AUDIT_KEY_INVALID: { code: 'AUDIT_KEY_INVALID', disposition: 'fatal' },
  /** A checkpoint file or entry cannot be parsed. */
  AUDIT_CHECKPOINT_INVALID: { code: 'AUDIT_CHECKPOINT_INVALID', disposition: 'fatal' },
  /** A target answered `held` for records but offers no `flush` to settle them (a connector bug). */
  TARGET_HELD_WITHOUT_FLUSH: { code: 'TARGET_HELD_WITHOUT_FLUSH', disposition: 'fatal' },
  /** There is nothing to checkpoint: the audit log is empty. */
  AUDIT_EMPTY: { code: 'AUDIT_EMPTY', disposition: 'reject' },
} as const satisfies Record<string, { code: string; disposition: Disposition }>;

/** One entry of the catalogue. */
export type PipelineCode = (typeof PipelineCodes)[keyof typeof PipelineCodes];

/** Base of every error this layer throws: a catalogue code, a disposition and a PII-free message. */
export class PipelineError extends Error {
  readonly code: string;
  readonly disposition: Disposition;
  constructor(kind: PipelineCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineError';
    this.code = kind.code;
    this.disposition = kind.disposition;
  }

  /** Plain data for logs, the audit log and worker boundaries. */
  toData(): ConnectorError {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}

/** Thrown by the ledger when a move is not allowed by `TRANSITIONS`; the whole call wrote nothing. */
export class LedgerTransitionError extends PipelineError {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  constructor(key: string, from: string, to: string) {
    super(PipelineCodes.LEDGER_ILLEGAL_TRANSITION, `submission ${JSON.stringify(key)} cannot move from ${from} to ${to}`);
    this.name = 'LedgerTransitionError';
    this.key = key;
    this.from = from;
    this.to = to;
  }
}

