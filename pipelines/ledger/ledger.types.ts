/**
 * The delivery ledger's contract: one row per (pipeline, submission key),
 * moved through a checked state machine, with every move on the audit log in
 * the same transaction.
 */
import type { ConnectorError } from '../../connectors/connector.types.js';
import type { StoredBody } from '../privacy/bodies.js';

/** A record-as-sent copy sealed under a submission's data key: the ciphertext (base64 text, or bytes as a mapping worker hands it over), and the data key as wrapped in the submission's body row (`ledger_bodies.dek`). */
export interface SealedSent {
  sealed: string | Uint8Array;
  dek: string;
}

/** Where a submission is on its way to the legacy system. */
export type LedgerState = 'received' | 'mapped' | 'rejected' | 'delivering' | 'delivered' | 'failed' | 'dead' | 'discarded';

/** The moves the state machine allows: from -> allowed targets. */
export const TRANSITIONS: Readonly<Record<LedgerState, readonly LedgerState[]>> = {
  received: ['mapped', 'rejected', 'delivering'],
  mapped: ['delivering', 'rejected'],
  delivering: ['delivered', 'failed', 'rejected', 'dead'],
  failed: ['delivering', 'rejected', 'dead', 'received'],
  delivered: ['received', 'dead'],
  rejected: ['received'],
  dead: ['received', 'discarded'],
  discarded: [],
};

/** A submission as a source hands it to the ledger. */
export interface IncomingSubmission {
  key: string;
  /** `sha256:<hex>` of the canonical body. */
  contentHash: string;
  body: unknown;
  /** The body as JSON text when the caller already has it (stored as it is, not serialised again). */
  bodyJson?: string;
  /**
   * The body already sealed for `ledger_bodies` of this pipeline and key
   * (by a mapping worker, with the ledger's codec over its current key):
   * stored as it is if new and its key is held; `body` and `bodyJson` may
   * then be absent (a conflict opens it to seal it as a conflict).
   */
  sealedBody?: StoredBody;
  /** Where it came from, for people: `file.ndjson:12`, `POST /intake/x id=...`. */
  source: string;
  /**
   * A move to make at once if the submission is new, in the transaction
   * that records it (`delivering` once mapped, `rejected` by the mapping):
   * a runner that maps while reading saves a write per submission.
   */
  then?: Omit<Transition, 'key'>;
  /** Added to the submission's record on its received, duplicate or conflict audit entry (already PII-safe: names and codes, never values); a routed pipeline records there which routes were told and which were not. */
  auditNote?: Record<string, unknown>;
}

/** What `receive` did with one submission. */
export type ReceiveOutcome = 'new' | 'duplicate' | 'conflict';

/** One ledger row. */
export interface LedgerRow {
  pipeline: string;
  key: string;
  contentHash: string;
  state: LedgerState;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: ConnectorError | null;
  legacyRef: string | null;
  confirmed: boolean;
  mappingVersion: string | null;
  source: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A submission leased to one runner for mapping and delivery. */
export interface ClaimedSubmission {
  key: string;
  contentHash: string;
  body: unknown;
  state: LedgerState;
  attempts: number;
  /** An earlier delivery may have reached the target (its lease expired while delivering). */
  uncertain: boolean;
  /** An operator's corrections (`Ledger.correct`), opened: target field (`FIELD`, `GROUP[n].FIELD`) -> the value to send; absent for a submission never corrected. */
  corrections?: Corrections;
}

/** Corrected values by target field: `FIELD`, or `GROUP[n].FIELD` for the n-th child row of a group (from 1), as the mapping names its errors. */
export type Corrections = Record<string, string | number | boolean | null>;

/** One requested move. */
export interface Transition {
  key: string;
  to: LedgerState;
  error?: ConnectorError;
  legacyRef?: string;
  confirmed?: boolean;
  nextAttemptAt?: Date;
  mappingVersion?: string;
  /** Extra audit detail (already PII-safe: keyed hashes, never values). */
  detail?: Record<string, unknown>;
  /** On `delivered`: the record exactly as sent (`sentText`), kept sealed under the submission's data key (`Ledger.sentRecord`), never on the audit log. */
  sent?: string;
  /** Instead of `sent`: that text already sealed under the submission's data key (by a mapping worker, see `sealSentWith`), with that key as wrapped in its body row; stored only if the row still holds that key. */
  sentSealed?: SealedSent;
}

/** Who did something: the runner (`runner:<host>:<pid>`) or an operator (`operator:<name>`). */
export type Actor = string;

/** What can start a pass: its cron schedule, `serve --run-at-start`, a source's watch or webhook, a person through the console or `rekey run`. */
export const PASS_TRIGGER_KINDS = ['schedule', 'start', 'watch', 'webhook', 'console', 'cli'] as const;

/** What started a pass, recorded on its run row and its `run-started` audit entry. */
export interface PassTrigger {
  kind: (typeof PASS_TRIGGER_KINDS)[number];
  /** Who asked, for a person's request (`operator:<name>`). */
  by?: string;
}

/** The reconciliation summary of one run. */
export interface RunSummary {
  read: number;
  receivedNew: number;
  duplicates: number;
  conflicts: number;
  unreadable: number;
  rejected: number;
  delivered: number;
  failed: number;
  dead: number;
  /** Records the legacy system confirmed (its answer files), when any. */
  confirmed?: number;
  /** Delivered records the legacy system rejected, now dead-lettered with its reason, when any. */
  rejectedByLegacy?: number;
}
