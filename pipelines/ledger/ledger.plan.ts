/**
 * Pure planning of ledger moves: checks each requested transition against
 * `TRANSITIONS`, computes every row's new column values and groups the audit
 * records into one entry per event. Nothing here touches the database.
 */
import { storedError } from '../../lib/errors.js';
import type { AuditEvent, AuditRecord, NewAuditEntry } from '../audit/audit.types.js';
import { sentFromJson } from '../audit/sent-detail.js';
import { LedgerTransitionError, PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { TRANSITIONS, type Actor, type LedgerState, type Transition } from './ledger.types.js';

/** The mutable columns of one ledger row, as written back (timestamps ISO text, error JSON text). */
export interface MutableRow {
  key: string;
  state: LedgerState;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  legacy_ref: string | null;
  confirmed: boolean;
  mapping_version: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  updated_at: string;
}

/** A row as a new submission starts it: in `state`, no attempt, error or reference yet, leased to `owner` until `until` (or not leased). */
export function startRow(key: string, state: LedgerState, owner: string | null, until: string | null, at: string): MutableRow {
  return {
    key,
    state,
    attempts: 0,
    next_attempt_at: null,
    last_error: null,
    legacy_ref: null,
    confirmed: false,
    mapping_version: null,
    lease_owner: owner,
    lease_until: until,
    updated_at: at,
  };
}

/** Who asks, in which context, and (for operator actions) from which states. */
export interface PlanContext {
  pipeline: string;
  actor: Actor;
  target?: string;
  mappingVersion?: string;
  /** Entry-level audit detail (run id, an operator's reason). */
  extra?: Record<string, unknown>;
  /** Operator actions only: the states the action may start from. */
  allowedFrom?: readonly LedgerState[];
  /** Operator actions that send a submission through again: refused for one erased (`SUBMISSION_ERASED`) or whose body was purged (`BODY_PURGED`). */
  needsBody?: 'retry' | 'replay';
  now: Date;
}

/** The audit event a move is recorded as. */
export function eventFor(from: LedgerState, to: LedgerState): AuditEvent {
  if (to !== 'received') return to;
  return from === 'delivered' || from === 'rejected' ? 'replayed' : 'retried';
}

function moveRow(r: MutableRow, tr: Transition, ctx: PlanContext, now: string): void {
  const version = tr.mappingVersion ?? ctx.mappingVersion ?? r.mapping_version;
  const clearLease = () => {
    r.lease_owner = null;
    r.lease_until = null;
  };
  const error = tr.error ? JSON.stringify(storedError(tr.error)) : r.last_error;
  if (r.state === 'delivering') r.attempts += 1;
  switch (tr.to) {
    case 'mapped':
    case 'delivering':
      r.mapping_version = version;
      break;
    case 'delivered':
      r.legacy_ref = tr.legacyRef ?? null;
      r.confirmed = tr.confirmed ?? false;
      r.mapping_version = version;
      r.last_error = null;
      r.next_attempt_at = null;
      clearLease();
      break;
    case 'failed':
      r.next_attempt_at = (tr.nextAttemptAt ?? ctx.now).toISOString();
      r.last_error = error;
      clearLease();
      break;
    case 'rejected':
    case 'dead':
      if (tr.mappingVersion !== undefined) r.mapping_version = tr.mappingVersion;
      r.last_error = error;
      r.next_attempt_at = null;
      clearLease();
      break;
    case 'received':
      r.attempts = 0;
      r.next_attempt_at = null;
      r.last_error = null;
      clearLease();
      break;
    case 'discarded':
      clearLease();
      break;
  }
  r.state = tr.to;
  r.updated_at = now;
}

function auditRecord(tr: Transition, from: LedgerState, row: MutableRow): AuditRecord {
  const { pii, ...rest } = tr.detail ?? {};
  // What was sent, handed over by a mapping worker as its JSON's bytes, becomes the detail it holds (checked as any other by the audit log).
  if (rest.sent instanceof Uint8Array) rest.sent = sentFromJson(rest.sent);
  const rec: AuditRecord = { ...rest, key: tr.key, from };
  if (tr.legacyRef !== undefined) rec.legacyRef = tr.legacyRef;
  if (tr.to === 'delivered') rec.confirmed = row.confirmed;
  if (tr.error) rec.error = storedError(tr.error);
  if (tr.to === 'failed') {
    rec.attempts = row.attempts;
    rec.nextAttemptAt = row.next_attempt_at;
  }
  if (pii && typeof pii === 'object') rec.pii = pii as Record<string, string | string[]>;
  return rec;
}

/** The mapping version every record's row holds, when they all hold the same one (an operator's move names no version of its own); else null. */
function commonVersion(records: readonly AuditRecord[], rows: ReadonlyMap<string, MutableRow>): string | null {
  const versions = new Set(records.map((r) => rows.get(r.key)?.mapping_version ?? null));
  return versions.size === 1 ? [...versions][0]! : null;
}

/**
 * Applies `transitions` in order to copies of `current` and returns the rows
 * to write back and the audit entries. Every move out of `delivering`
 * (delivered, failed, rejected, dead) counts one delivery attempt; a move
 * back to `received` resets the count. Moves of one key are applied in the
 * order given; entries are grouped per event inside each "wave" (the n-th
 * move of every key), so each key's history keeps its order. Throws
 * `LEDGER_UNKNOWN_KEY` for a key not in `current`, and
 * `LedgerTransitionError` for a move not in `TRANSITIONS` (or outside
 * `ctx.allowedFrom`; `LEDGER_ACTION_REFUSED` for an operator's action,
 * which has `allowedFrom`); the caller then writes nothing.
 */
export function planMoves(
  current: ReadonlyMap<string, MutableRow>,
  transitions: readonly Transition[],
  ctx: PlanContext,
): { rows: MutableRow[]; entries: NewAuditEntry[] } {
  const rows = new Map<string, MutableRow>();
  const waves: Map<AuditEvent, AuditRecord[]>[] = [];
  const moves = new Map<string, number>();
  const now = ctx.now.toISOString();
  for (const tr of transitions) {
    const base = rows.get(tr.key) ?? current.get(tr.key);
    if (!base) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_KEY, `pipeline ${ctx.pipeline} holds no submission ${JSON.stringify(tr.key)}`);
    const row = rows.get(tr.key) ?? { ...base };
    const from = row.state;
    const allowed = TRANSITIONS[from]?.includes(tr.to) && (!ctx.allowedFrom || ctx.allowedFrom.includes(from));
    if (!allowed) throw new LedgerTransitionError(tr.key, from, tr.to, ctx.allowedFrom !== undefined);
    moveRow(row, tr, ctx, now);
    rows.set(tr.key, row);
    const n = moves.get(tr.key) ?? 0;
    moves.set(tr.key, n + 1);
    const wave = (waves[n] ??= new Map());
    const event = eventFor(from, tr.to);
    const list = wave.get(event) ?? [];
    list.push(auditRecord(tr, from, row));
    wave.set(event, list);
  }
  const entries: NewAuditEntry[] = [];
  for (const wave of waves) {
    for (const [event, records] of wave) {
      const only = records.length === 1 ? records[0]!.legacyRef : undefined;
      entries.push({
        pipeline: ctx.pipeline,
        event,
        actor: ctx.actor,
        mappingVersion: ctx.mappingVersion ?? commonVersion(records, rows),
        target: ctx.target ?? null,
        legacyRef: only ?? null,
        at: ctx.now,
        detail: { ...ctx.extra, keys: records.map((r) => r.key), records },
      });
    }
  }
  return { rows: [...rows.values()], entries };
}
