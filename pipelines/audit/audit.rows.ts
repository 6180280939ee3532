/** Reading `audit_log` rows back into entries, page by page. */
import { readDateStrict, readInt } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import type { AuditDetail, AuditEntry, AuditEvent } from './audit.types.js';

/** An `audit_log` row as the driver returns it. */
export interface AuditRow {
  seq: number | string;
  at: Date | string;
  pipeline: string;
  event: string;
  actor: string;
  mapping_version: string | null;
  target: string | null;
  legacy_ref: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

/** Every `audit_log` column, in insert order. */
export const AUDIT_COLUMNS = ['seq', 'at', 'pipeline', 'event', 'actor', 'mapping_version', 'target', 'legacy_ref', 'detail', 'prev_hash', 'hash'] as const;

/** Turns a row into an entry; throws `SyntaxError` when `detail` is not JSON. */
export function rowToEntry(r: AuditRow): AuditEntry {
  return {
    seq: readInt(r.seq),
    at: readDateStrict(r.at),
    pipeline: r.pipeline,
    event: r.event as AuditEvent,
    actor: r.actor,
    mappingVersion: r.mapping_version,
    target: r.target,
    legacyRef: r.legacy_ref,
    detail: JSON.parse(r.detail) as AuditDetail,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Filters for reading the log in seq order. */
export interface AuditRange {
  /** A number is a seq, a Date a time (`at`); both inclusive. */
  from?: number | Date;
  to?: number | Date;
  pipeline?: string;
  pageSize?: number;
}

/** Yields pages of raw rows in seq order, `pageSize` (default 5,000) at a time: memory stays bounded. */
export async function* auditPages(store: StateStore, range: AuditRange = {}, t?: StoreTx): AsyncGenerator<AuditRow[]> {
  const pageSize = Math.max(1, Math.floor(range.pageSize ?? 5000));
  const where: string[] = ['seq > $1'];
  const params: unknown[] = [Number.MIN_SAFE_INTEGER];
  const bound = (op: string, v: number | Date) => {
    params.push(v instanceof Date ? v.toISOString() : v);
    where.push(`${v instanceof Date ? 'at' : 'seq'} ${op} $${params.length}`);
  };
  if (range.from !== undefined) bound('>=', range.from);
  if (range.to !== undefined) bound('<=', range.to);
  if (range.pipeline !== undefined) {
    params.push(range.pipeline);
    where.push(`pipeline = $${params.length}`);
  }
  const sql = `SELECT ${AUDIT_COLUMNS.join(',')} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${pageSize}`;
  for (;;) {
    const rows = await store.select<AuditRow>(sql, params, t);
    if (rows.length) yield rows;
    if (rows.length < pageSize) return;
    params[0] = readInt(rows[rows.length - 1]!.seq);
  }
}
