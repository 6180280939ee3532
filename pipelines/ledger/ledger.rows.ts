/** Ledger, conflict and run rows as read back from the state store. */
import type { ConnectorError } from '../../connectors/connector.types.js';
import type { ErrorData } from '../../lib/errors.js';
import type { StateStore } from '../store/state-store.js';
import { readBool, readDate, readDateStrict, readInt, readJson } from '../store/sql.js';
import type { LedgerRow, LedgerState, PassTrigger, RunSummary } from './ledger.types.js';

/** A ledger row with its lease, as `list` returns it. */
export interface LedgerListRow extends LedgerRow {
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

/** A ledger row with its lease and stored body, as `get` returns it. */
export interface LedgerEntry extends LedgerListRow {
  body: unknown;
}

/** A submission that arrived again under a known key with different content (kept aside, never applied). */
export interface ConflictRow {
  id: number;
  pipeline: string;
  key: string;
  contentHash: string;
  body: unknown;
  source: string | null;
  receivedAt: Date;
}

/** One run of a pipeline. */
export interface RunRow {
  id: string;
  pipeline: string;
  actor: string;
  mappingVersion: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  summary: RunSummary | null;
  /** The error the run stopped on (it failed); null when it finished its work or is still running. */
  error: ErrorData | null;
  /** What started the pass; null for runs recorded before triggers were (migration 0013) or started without one. */
  trigger: PassTrigger | null;
}

/** Columns `list` reads (everything but the body). */
export const ROW_COLUMNS =
  'pipeline, key, content_hash, state, attempts, next_attempt_at, last_error, legacy_ref, confirmed, mapping_version, source, lease_owner, lease_until, created_at, updated_at';

type Raw = Record<string, unknown>;

/** Reads a ledger row without its body. */
export function toListRow(r: Raw): LedgerListRow {
  return {
    pipeline: String(r.pipeline),
    key: String(r.key),
    contentHash: String(r.content_hash),
    state: r.state as LedgerState,
    attempts: readInt(r.attempts),
    nextAttemptAt: readDate(r.next_attempt_at),
    lastError: readJson<ConnectorError>(r.last_error),
    legacyRef: (r.legacy_ref as string | null) ?? null,
    confirmed: readBool(r.confirmed),
    mappingVersion: (r.mapping_version as string | null) ?? null,
    source: (r.source as string | null) ?? null,
    leaseOwner: (r.lease_owner as string | null) ?? null,
    leaseUntil: readDate(r.lease_until),
    createdAt: readDateStrict(r.created_at),
    updatedAt: readDateStrict(r.updated_at),
  };
}

/** Reads a ledger row with its body, given as opened JSON text (null when the row has none). */
export function toEntry(r: Raw, bodyText: string | null): LedgerEntry {
  return { ...toListRow(r), body: readJson<unknown>(bodyText) };
}

/** Reads a conflict row with its body, given as opened JSON text. */
export function toConflict(r: Raw, bodyText: string | null): ConflictRow {
  return {
    id: readInt(r.id),
    pipeline: String(r.pipeline),
    key: String(r.key),
    contentHash: String(r.content_hash),
    body: readJson<unknown>(bodyText),
    source: (r.source as string | null) ?? null,
    receivedAt: readDateStrict(r.received_at),
  };
}

/** Reads a run row. */
export function toRun(r: Raw): RunRow {
  return {
    id: String(r.id),
    pipeline: String(r.pipeline),
    actor: String(r.actor),
    mappingVersion: (r.mapping_version as string | null) ?? null,
    startedAt: readDateStrict(r.started_at),
    finishedAt: readDate(r.finished_at),
    summary: readJson<RunSummary>(r.summary),
    error: readJson<ErrorData>(r.error),
    trigger: toTrigger(r),
  };
}

/** Reads a run row's trigger columns; null when none was recorded. */
export function toTrigger(r: Raw): PassTrigger | null {
  if (r.trigger_kind === null || r.trigger_kind === undefined) return null;
  const by = r.trigger_by as string | null | undefined;
  return { kind: r.trigger_kind as PassTrigger['kind'], ...(by !== null && by !== undefined && { by }) };
}

/**
 * `SELECT <columns>` of the ledger rows (alias `l`) of pipeline `$1` whose
 * keys are in `$2` (a `listParam` list), looked up one by one through the
 * primary key whatever the planner's statistics say: SQLite is told the join
 * order with CROSS JOIN; PostgreSQL gets a LATERAL probe per key (with
 * `lock`, each row is locked `FOR UPDATE` in list order).
 */
export function selectByKeys(store: StateStore, columns: string, opts: { lock?: boolean } = {}): string {
  if (store.dialect === 'sqlite') return `SELECT ${columns} FROM json_each($2) AS k CROSS JOIN ledger l WHERE l.pipeline = $1 AND l.key = k.value`;
  const lock = opts.lock ? ' FOR UPDATE' : '';
  return `SELECT ${columns} FROM unnest($2::text[]) AS k(value) CROSS JOIN LATERAL (SELECT * FROM ledger WHERE pipeline = $1 AND key = k.value LIMIT 1${lock}) l`;
}
