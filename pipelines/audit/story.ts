/**
 * One submission's story for an auditor (`rekey show`): its ledger row and
 * every audit entry that names it, read as steps in time order (received
 * from where, mapped by which version, each delivery attempt and its
 * outcome, confirmations, operator actions, evidence, erasure). Built from
 * what the store holds, which is PII-free outside the sealed bodies and
 * files, so nothing here opens a citizen's data. `loadStory` reads,
 * `buildStory` is pure.
 */
import type { ConnectorError } from '../../connectors/connector.types.js';
import { findSubmission, likeLiteral } from '../ledger/lookup.js';
import { ROW_COLUMNS, toListRow } from '../ledger/ledger.rows.js';
import type { LedgerRow } from '../ledger/ledger.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { readBool, readDate, readDateStrict } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import type { AuditLog } from './audit-log.js';
import { AUDIT_COLUMNS, rowToEntry, type AuditRow } from './audit.rows.js';
import type { AuditEntry, AuditEvent, AuditRecord } from './audit.types.js';

/** Which system a delivery went to, as the audit record names it (kind alone on entries written before targets said more). */
export interface TargetIdentity {
  kind: string;
  system?: string;
  object?: string;
  sentTo?: string;
}

/** What a delivery sent, as the audit record proves it: a hash of the record as sent and a keyed hash per field. */
export interface SentDigest {
  hash: string;
  fields: Record<string, string | string[]>;
}

/** One step of the story: one audit entry as it concerns this submission. */
export interface StoryStep {
  seq: number;
  at: Date;
  event: AuditEvent;
  actor: string;
  /** What happened, in a few words. */
  what: string;
  /** Further facts, one short sentence each (never a citizen's value). */
  notes: string[];
  runId?: string;
  mappingVersion?: string;
  /** The delivery attempt this step ends (counted as the ledger counts: from the last return to received). */
  attempt?: number;
  source?: string;
  legacyRef?: string;
  error?: ConnectorError;
  nextAttemptAt?: string;
  target?: TargetIdentity;
  sent?: SentDigest;
  reason?: string;
  files?: string[];
}

/** A sealed file kept for this submission (evidence of a delivery). */
export interface StoryFile {
  file: string;
  kind: string;
  createdAt: Date;
}

/** Everything the store says about one submission. */
export interface SubmissionStory {
  pipeline: string;
  key: string;
  /** The form platform's reference: the key's last `/` part. */
  reference: string;
  /** The ledger row; null once the retention policy purged it (the audit trail remains). */
  row: LedgerRow | null;
  /** When the submission was erased (right to erasure), else null. */
  erasedAt: Date | null;
  /** Whether the sealed body is still held (false once erased or purged). */
  bodyKept: boolean;
  /** Whether the sealed record-as-sent is still held. */
  sentKept: boolean;
  /** The mapping version it was last keyed (or rejected) with: the row's, else the last entry's that names one. */
  mappingVersion: string | null;
  /** The last delivery's target and what it sent, when it was delivered. */
  delivery: { target?: TargetIdentity; sent?: SentDigest; legacyRef?: string; at: Date } | null;
  firstReceived: Date | null;
  lastChange: Date | null;
  steps: StoryStep[];
  files: StoryFile[];
}

/** The form platform's reference in a key: its last `/` part (the whole key when it has none). */
export function formReference(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/**
 * The key `reference` names in `pipeline` (see `findSubmission`); when no
 * ledger row matches, a key whose row was purged but whose audit trail
 * remains, named in full or by its form reference. Throws as
 * `findSubmission` does, and `SUBMISSION_NOT_FOUND` naming the pipelines
 * the store holds when it knows no pipeline `pipeline`.
 */
export async function resolveReference(store: StateStore, pipeline: string, reference: string): Promise<string> {
  try {
    return (await findSubmission(store, pipeline, reference)).key;
  } catch (e) {
    if ((e as { code?: unknown }).code !== PipelineCodes.SUBMISSION_NOT_FOUND.code) throw e;
    const ref = reference.trim();
    const retired = await store.select<{ key: string }>(
      `SELECT DISTINCT key FROM audit_keys_retired WHERE pipeline = $1 AND (key = $2 OR lower(key) LIKE $3 ESCAPE '\\') ORDER BY key LIMIT 2`,
      [pipeline, ref, `%/${likeLiteral(ref.toLowerCase())}`],
    );
    if (ref && retired.length === 1) return retired[0]!.key;
    const any = (table: string) => store.select(`SELECT 1 AS one FROM ${table} WHERE pipeline = $1 LIMIT 1`, [pipeline]);
    if ((await any('ledger')).length || (await any('audit_log')).length) throw e;
    const names = await store.select<{ pipeline: string }>('SELECT DISTINCT pipeline FROM ledger UNION SELECT DISTINCT pipeline FROM runs ORDER BY pipeline');
    const held = names.length ? `it holds ${names.map((n) => n.pipeline).join(', ')}` : 'it holds none yet';
    throw new PipelineError(PipelineCodes.SUBMISSION_NOT_FOUND, `the state store knows no pipeline ${JSON.stringify(pipeline)} (${held})`);
  }
}

/** Reads the story of `key` in `pipeline`; null when neither the ledger nor the audit log knows it. */
export async function loadStory(store: StateStore, audit: AuditLog, pipeline: string, key: string): Promise<SubmissionStory | null> {
  const cols = ROW_COLUMNS.split(', ').map((c) => `l.${c}`).join(', ');
  const [raw] = await store.select<Record<string, unknown>>(
    `SELECT ${cols}, l.erased_at, CASE WHEN b.id IS NULL THEN 0 ELSE 1 END AS has_body, CASE WHEN b.id IS NULL OR s.id IS NULL THEN 0 ELSE 1 END AS has_sent
     FROM ledger l LEFT JOIN ledger_bodies b ON b.id = l.id LEFT JOIN ledger_sent s ON s.id = l.id WHERE l.pipeline = $1 AND l.key = $2`,
    [pipeline, key],
  );
  const entries = await audit.entriesFor(pipeline, key);
  if (!raw && !entries.length) return null;
  const gone = !raw || (!readBool(raw.has_body) && !readDate(raw.erased_at));
  const purges = gone && entries.length ? await purgesAfter(store, pipeline, entries.at(-1)!.seq) : [];
  const files = await store.select<{ path: string; kind: string; created_at: unknown }>(
    'SELECT path, kind, created_at FROM sealed_files WHERE pipeline = $1 AND subject = $2 ORDER BY created_at, path',
    [pipeline, key],
  );
  return buildStory({
    pipeline,
    key,
    row: raw ? toListRow(raw) : null,
    erasedAt: raw ? readDate(raw.erased_at) : null,
    bodyKept: raw ? readBool(raw.has_body) : false,
    sentKept: raw ? readBool(raw.has_sent) : false,
    entries,
    purges,
    files: files.map((f) => ({ file: f.path.slice(f.path.lastIndexOf('/') + 1), kind: f.kind, createdAt: readDateStrict(f.created_at) })),
  });
}

/** The `purged` entries of `pipeline` after `seq` (at most 1000, oldest first): those that may have removed a submission's body or row. */
async function purgesAfter(store: StateStore, pipeline: string, seq: number): Promise<AuditEntry[]> {
  const rows = await store.select<AuditRow>(
    `SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_log WHERE pipeline = $1 AND event = 'purged' AND seq > $2 ORDER BY seq LIMIT 1000`,
    [pipeline, seq],
  );
  return rows.map(rowToEntry);
}

/** What `buildStory` reads. */
export interface StoryInput {
  pipeline: string;
  key: string;
  row: LedgerRow | null;
  erasedAt: Date | null;
  bodyKept: boolean;
  sentKept: boolean;
  entries: readonly AuditEntry[];
  /**
   * `purged` entries of the pipeline after the submission's last entry
   * (they name no key): the first whose cutoff passed its last change is
   * told as the purge of its body (`bodies`) or of its row (`ledger`).
   */
  purges?: readonly AuditEntry[];
  files: StoryFile[];
}

/** The story of one submission from its row, its audit entries (oldest first) and its sealed files. Pure. */
export function buildStory(input: StoryInput): SubmissionStory {
  const steps: StoryStep[] = [];
  let attempt = 0;
  let delivery: SubmissionStory['delivery'] = null;
  for (const e of input.entries) {
    const rec = e.detail.records?.find((r) => r.key === input.key);
    const step = stepOf(e, rec);
    if (e.event === 'received' && rec?.state === 'delivering') {
      step.what = 'received, mapped and handed to delivery';
      if (e.mappingVersion) step.mappingVersion = e.mappingVersion;
    }
    if (e.event === 'retried' || e.event === 'replayed' || e.event === 'corrected') attempt = 0;
    if (rec?.from === 'delivering') step.attempt = ++attempt;
    if (step.attempt !== undefined) step.what = `attempt ${step.attempt}: ${step.what}`;
    if (e.event === 'delivered') delivery = { target: step.target, sent: step.sent, legacyRef: step.legacyRef, at: e.at };
    steps.push(step);
  }
  const row = input.row;
  const since = row?.updatedAt ?? input.entries.at(-1)?.at;
  const kinds = [...(row && !input.bodyKept && !input.erasedAt ? ['bodies'] : []), ...(row ? [] : ['bodies', 'ledger'])];
  for (const kind of since ? kinds : []) {
    const e = input.purges?.find((p) => p.detail.kind === kind && typeof p.detail.upTo === 'string' && new Date(p.detail.upTo) > since!);
    if (!e) continue;
    const what = kind === 'bodies' ? 'body (and record as sent) purged by the retention policy' : 'ledger row purged by the retention policy; its audit trail remains';
    steps.push({ ...base(e), what, notes: [`one of ${String(e.detail.count)} ${kind === 'bodies' ? 'bodies' : 'rows'} last changed before ${String(e.detail.upTo)}`] });
  }
  const versioned = [...input.entries].reverse().find((e) => e.mappingVersion && e.event !== 'run-started');
  return {
    pipeline: input.pipeline,
    key: input.key,
    reference: formReference(input.key),
    row,
    erasedAt: input.erasedAt,
    bodyKept: input.bodyKept,
    sentKept: input.sentKept,
    mappingVersion: row?.mappingVersion ?? versioned?.mappingVersion ?? null,
    delivery,
    firstReceived: row?.createdAt ?? input.entries[0]?.at ?? null,
    lastChange: row?.updatedAt ?? input.entries.at(-1)?.at ?? null,
    steps,
    files: input.files,
  };
}

function base(e: AuditEntry): Omit<StoryStep, 'what' | 'notes'> {
  const runId = typeof e.detail.runId === 'string' ? e.detail.runId : undefined;
  return { seq: e.seq, at: e.at, event: e.event, actor: e.actor, ...(runId && { runId }) };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

function targetOf(e: AuditEntry, rec: AuditRecord | undefined): TargetIdentity | undefined {
  const t = rec?.target ?? e.detail.target;
  if (t && typeof t === 'object' && typeof (t as TargetIdentity).kind === 'string') return t as TargetIdentity;
  return e.target ? { kind: e.target } : undefined;
}

function sentOf(rec: AuditRecord | undefined): SentDigest | undefined {
  const s = rec?.sent as { hash?: unknown; fields?: unknown } | undefined;
  if (!s || typeof s.hash !== 'string') return undefined;
  const fields = s.fields && typeof s.fields === 'object' ? (s.fields as Record<string, string | string[]>) : (rec?.pii ?? {});
  return { hash: s.hash, fields };
}

/** The target in words: `sqlite .rekey/legacy.sqlite, DRV_ADDR_CHG (file 7)`. */
export function targetText(t: TargetIdentity): string {
  return `${[t.kind, t.system].filter(Boolean).join(' ')}${t.object ? `, ${t.object}` : ''}${t.sentTo ? ` (${t.sentTo})` : ''}`;
}

function errorNote(err: ConnectorError): string {
  return `${err.code}${err.field ? ` on ${err.field}` : ''}: ${err.message}`;
}

function stepOf(e: AuditEntry, rec: AuditRecord | undefined): StoryStep {
  const step: StoryStep = { ...base(e), what: e.event, notes: [] };
  const note = (text: string | undefined) => void (text && step.notes.push(text));
  const reason = str(rec?.reason) ?? str(e.detail.reason);
  if (reason) step.reason = reason;
  if (e.mappingVersion && ['mapped', 'rejected', 'delivering', 'delivered'].includes(e.event)) step.mappingVersion = e.mappingVersion;
  if (rec?.error) step.error = rec.error;
  switch (e.event) {
    case 'received':
    case 'duplicate':
    case 'conflict': {
      step.source = str(rec?.source);
      step.what = { received: 'received', duplicate: 'received again, same content (ignored)', conflict: 'received again with different content (kept aside, not applied)' }[e.event];
      note(step.source && `from ${step.source}`);
      note(e.event === 'received' ? str(rec?.contentHash) && `content ${rec!.contentHash as string}` : undefined);
      break;
    }
    case 'mapped':
      step.what = 'mapped';
      break;
    case 'rejected':
      step.what = rec?.from === 'delivering' ? 'rejected by the target' : 'rejected by the mapping';
      break;
    case 'delivering':
      step.what = 'handed to delivery';
      break;
    case 'delivered': {
      step.legacyRef = str(rec?.legacyRef) ?? e.legacyRef ?? undefined;
      step.target = targetOf(e, rec);
      step.sent = sentOf(rec);
      step.what = `delivered${step.legacyRef ? `, legacy ref ${step.legacyRef}` : ''}`;
      note(step.target && `to ${targetText(step.target)}`);
      note(step.sent && `record as sent ${step.sent.hash}`);
      const sentFields = Object.keys(step.sent?.fields ?? {}).length;
      const pii = Object.keys(rec?.pii ?? {}).length;
      if (sentFields) note(`${sentFields} field${sentFields === 1 ? '' : 's'} sent, each kept on the log as a keyed hash`);
      else note(pii ? `${pii} PII field${pii === 1 ? '' : 's'} kept on the log as keyed hashes` : undefined);
      break;
    }
    case 'confirmed':
      step.what = 'confirmed by the legacy system';
      note(str(e.detail.answer));
      break;
    case 'failed': {
      step.nextAttemptAt = str(rec?.nextAttemptAt);
      step.what = 'failed, will retry';
      break;
    }
    case 'dead':
      step.what = 'dead-lettered';
      break;
    case 'retried':
      step.what = 'sent back to received by an operator (dlq retry)';
      break;
    case 'replayed':
      step.what = 'sent through again by an operator (replay)';
      break;
    case 'discarded':
      step.what = 'given up by an operator (dlq discard)';
      break;
    case 'corrected': {
      const fields = Array.isArray(rec?.fields) ? (rec.fields as unknown[]).map(String) : [];
      step.what = 'corrected by an operator and sent back to received (dlq correct)';
      note(fields.length ? `fields corrected ${fields.join(', ')} (old and new values kept on the log as keyed hashes)` : undefined);
      break;
    }
    case 'erased': {
      step.what = 'erased: body, data key and files destroyed';
      const removed = e.detail.removed as Record<string, number> | undefined;
      note(removed && `removed ${Object.entries(removed).map(([k, n]) => `${n} ${k}`).join(', ')}`);
      break;
    }
    case 'evidence-opened': {
      const kind = str(e.detail.kind) ?? 'evidence';
      step.files = Array.isArray(e.detail.files) ? (e.detail.files as unknown[]).map(String) : undefined;
      step.what = kind === 'sent' ? 'record as sent decrypted for an operator' : kind === 'legacy-error' ? "the legacy system's error text decrypted for an operator" : 'evidence decrypted for an operator';
      note(step.files?.length ? `files ${step.files.join(', ')}` : undefined);
      break;
    }
  }
  if (step.error) note(errorNote(step.error));
  if (step.nextAttemptAt) note(`next attempt ${step.nextAttemptAt}`);
  if (step.reason) note(`reason: ${step.reason}`);
  return step;
}
