/** The audit log's data: events, entries as written and as read back, verification results. */
import type { ConnectorError } from '../../connectors/connector.types.js';

/** Every event the audit log records. */
export const AUDIT_EVENTS = [
  'received',
  'duplicate',
  'conflict',
  'mapped',
  'rejected',
  'delivering',
  'delivered',
  'confirmed',
  'failed',
  'retried',
  'dead',
  'discarded',
  'replayed',
  'run-started',
  'run-finished',
  'pipeline-changed',
  'mapping-changed',
  /** `rekey keys rotate` re-wrapped data keys under the current key-encryption key (counts by kind, never keys). */
  'keys-rotated',
  /** The retention policy removed bodies, files or ledger rows (what kind, how many, up to when; never values). */
  'purged',
  /** An operator erased a submission (right to erasure): data key, body and files destroyed; operator and reason kept. */
  'erased',
  /** An operator had a submission's evidence decrypted (`rekey evidence`): who, which files, when. */
  'evidence-opened',
  /** An operator corrected mapped values the legacy system refused (`rekey dlq correct`): fields, operator, reason and keyed hashes of the old and new values; never a value. */
  'corrected',
  /** An operator paused a pipeline: no pass runs until it is resumed (operator and a short reason kept). */
  'pipeline-paused',
  /** An operator resumed a paused pipeline. */
  'pipeline-resumed',
  /** A person asked for a pass now (the console's "run now") and one started: written just before the pass's `run-started`, whose trigger names them too. */
  'run-requested',
  /** A person exported the audit log (console or `rekey audit export`): format, filter, range and counts; never an entry's content. */
  'audit-exported',
  /** An operator approved (or edited, then approved) the steps the browser target proposed after a legacy screen changed: report, step versions before and after, what changed (step and kind), the hash of the steps; a new step version is keyed from then on. */
  'steps-approved',
  /** An operator made an inclusion proof of one submission's entries (`rekey audit prove`): the seqs it covers, how many entries name the submission, the checkpoint it is held to; never a record. */
  'audit-proved',
  /** A person verified the chain from the console's Audit page: the outcome (entries recomputed, checkpoints matched, the first bad seq and its kind), never an entry's content. */
  'audit-verified',
] as const;

/** One audited event. */
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/** What one entry says about one submission key. PII appears only as `piiHash` values. */
export interface AuditRecord {
  key: string;
  legacyRef?: string;
  error?: ConnectorError;
  /** Target field name -> `hmac:<32 hex>` of the value (see `piiHash`); a group's field (`GROUP.FIELD`) -> one per child row. */
  pii?: Record<string, string | string[]>;
  /** On `delivered`: what was sent, as hashes only: `sha256:` of the record as sent, and every field's `piiHash` (see `sent-detail.ts`). */
  sent?: { hash: string; fields: Record<string, string | string[]> };
  /** On `delivered`: the target's identity (kind, system, object; never a credential) and where this record went (`sentTo`), when it knows. */
  target?: { kind: string; system: string; object?: string; sentTo?: string };
  [extra: string]: unknown;
}

/** An entry's detail: the keys it names (indexed in `audit_keys`) and per-key records. */
export interface AuditDetail {
  keys: string[];
  records?: AuditRecord[];
  [extra: string]: unknown;
}

/** An entry as a caller hands it to `AuditLog.append`. */
export interface NewAuditEntry {
  pipeline: string;
  event: AuditEvent;
  actor: string;
  mappingVersion?: string | null;
  target?: string | null;
  legacyRef?: string | null;
  detail: AuditDetail;
  /** Defaults to the time of the append. */
  at?: Date;
}

/** An entry as stored: position in the chain and its hashes. */
export interface AuditEntry {
  seq: number;
  at: Date;
  pipeline: string;
  event: AuditEvent;
  actor: string;
  mappingVersion: string | null;
  target: string | null;
  legacyRef: string | null;
  detail: AuditDetail;
  /** Hash of the entry before (64 zeros for the first). */
  prevHash: string;
  hash: string;
}

/** A signed statement that the chain's entry `seq` had hash `headHash` at `signedAt`. */
export interface SignedCheckpoint {
  seq: number;
  headHash: string;
  /** ISO 8601 UTC. */
  signedAt: string;
  /** First 16 hex of sha256 over the public key (SPKI DER). */
  keyId: string;
  /** Ed25519 signature over `canonicalJson({ seq, headHash, signedAt })`, base64. */
  signature: string;
}

/** What kind of tampering `verify` found. */
export type VerifyProblem = 'edited' | 'deleted' | 'reordered' | 'checkpoint-mismatch';

/** The outcome of `AuditLog.verify`. */
export interface VerifyResult {
  ok: boolean;
  /** Entries read before stopping. */
  entries: number;
  /** Checkpoints whose signature and head were checked. */
  checkpoints: number;
  firstBad?: { seq: number; problem: VerifyProblem; detail: string };
}
