/** Recording incoming submissions: new rows, duplicates and conflicts, in one transaction. */
import type { Transaction } from 'sequelize';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditRecord, NewAuditEntry } from '../audit/audit.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { insertMany, iso, listParam } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { selectByKeys } from './ledger.rows.js';
import type { Actor, IncomingSubmission, ReceiveOutcome } from './ledger.types.js';

const INSERT_COLUMNS = ['pipeline', 'key', 'content_hash', 'state', 'attempts', 'confirmed', 'source', 'body', 'lease_owner', 'lease_until', 'created_at', 'updated_at'] as const;
const CONFLICT_COLUMNS = ['pipeline', 'key', 'content_hash', 'body', 'source', 'received_at'] as const;

/** Records new submissions already leased to `owner` for `leaseMs`, for a runner that delivers them straight away. */
export interface ReceiveLease {
  owner: string;
  leaseMs: number;
}

function checkItems(items: readonly IncomingSubmission[]): void {
  items.forEach((s, i) => {
    if (typeof s.key !== 'string' || !s.key) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `submission ${i} has no key`);
    if (typeof s.contentHash !== 'string' || !s.contentHash) {
      throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `submission ${JSON.stringify(s.key)} has no content hash`);
    }
  });
}

/** Content hashes already stored for `keys`. */
export async function storedHashes(store: StateStore, pipeline: string, keys: readonly string[], t: Transaction): Promise<Map<string, string>> {
  const rows = await store.select<{ key: string; content_hash: string }>(
    selectByKeys(store, 'l.key, l.content_hash'),
    [pipeline, listParam(store, keys)],
    t,
  );
  return new Map(rows.map((r) => [r.key, r.content_hash]));
}

/**
 * Inserts `fresh` with `ON CONFLICT DO NOTHING` and resolves to the keys
 * some other transaction inserted first (only possible on PostgreSQL, where
 * receivers run concurrently; SQLite write transactions are serial).
 */
async function insertFresh(
  store: StateStore,
  pipeline: string,
  fresh: IncomingSubmission[],
  now: Date,
  lease: ReceiveLease | undefined,
  t: Transaction,
): Promise<string[]> {
  const at = iso(now);
  const owner = lease?.owner ?? null;
  const until = lease ? iso(new Date(now.getTime() + lease.leaseMs)) : null;
  const rows = fresh.map((s) => [pipeline, s.key, s.contentHash, 'received', 0, false, s.source ?? null, s.bodyJson ?? JSON.stringify(s.body ?? null), owner, until, at, at]);
  if (store.dialect === 'sqlite') {
    await insertMany(store, 'ledger', INSERT_COLUMNS, rows, t, 'ON CONFLICT (pipeline, key) DO NOTHING');
    return [];
  }
  const objects = rows.map((r) => Object.fromEntries(INSERT_COLUMNS.map((c, i) => [c, r[i]])));
  const inserted = await store.select<{ key: string }>(
    `INSERT INTO ledger (${INSERT_COLUMNS.join(',')}) SELECT ${INSERT_COLUMNS.join(',')} FROM jsonb_populate_recordset(NULL::ledger, $1::jsonb)
     ON CONFLICT (pipeline, key) DO NOTHING RETURNING key`,
    [JSON.stringify(objects)],
    t,
  );
  const got = new Set(inserted.map((r) => r.key));
  return fresh.map((s) => s.key).filter((k) => !got.has(k));
}

function record(s: IncomingSubmission, extra: Record<string, unknown> = {}): AuditRecord {
  return { key: s.key, contentHash: s.contentHash, source: s.source, ...extra };
}

/**
 * Records a batch in one transaction and resolves after COMMIT. A new key is
 * inserted as `received`; a known key with the same content hash is a
 * `duplicate` (nothing written but the audit entry); a known key with other
 * content is a `conflict` (the stored row is kept, the new content goes to
 * `ledger_conflicts`). Repeats inside the batch are judged against the
 * first occurrence. Audits one entry per outcome kind. With `lease`, new
 * rows are recorded already leased (duplicates and conflicts are not).
 */
export async function receiveBatch(
  store: StateStore,
  audit: AuditLog,
  pipeline: string,
  runId: string | null,
  items: readonly IncomingSubmission[],
  actor: Actor,
  lease?: ReceiveLease,
): Promise<ReceiveOutcome[]> {
  if (!items.length) return [];
  checkItems(items);
  const first = new Map<string, IncomingSubmission>();
  for (const s of items) if (!first.has(s.key)) first.set(s.key, s);
  return store.transaction(async (t) => {
    const now = new Date();
    const existing = await storedHashes(store, pipeline, [...first.keys()], t);
    const fresh = [...first.values()].filter((s) => !existing.has(s.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const lost = await insertFresh(store, pipeline, fresh, now, lease, t);
    if (lost.length) for (const [k, h] of await storedHashes(store, pipeline, lost, t)) existing.set(k, h);
    const seen = new Set<string>();
    const received: AuditRecord[] = [];
    const duplicates: AuditRecord[] = [];
    const conflicts: AuditRecord[] = [];
    const conflictRows: unknown[][] = [];
    const outcomes = items.map((s): ReceiveOutcome => {
      const stored = existing.get(s.key);
      const isFirst = !seen.has(s.key);
      seen.add(s.key);
      if (stored === undefined && isFirst) {
        received.push(record(s));
        return 'new';
      }
      const against = stored ?? first.get(s.key)!.contentHash;
      if (against === s.contentHash) {
        duplicates.push(record(s));
        return 'duplicate';
      }
      conflicts.push(record(s, { storedHash: against }));
      conflictRows.push([pipeline, s.key, s.contentHash, s.bodyJson ?? JSON.stringify(s.body ?? null), s.source ?? null, iso(now)]);
      return 'conflict';
    });
    await insertMany(store, 'ledger_conflicts', CONFLICT_COLUMNS, conflictRows, t);
    const entries: NewAuditEntry[] = [];
    const add = (event: 'received' | 'duplicate' | 'conflict', records: AuditRecord[]) => {
      if (records.length) entries.push({ pipeline, event, actor, at: now, detail: { runId, keys: records.map((r) => r.key), records } });
    };
    add('received', received);
    add('duplicate', duplicates);
    add('conflict', conflicts);
    await audit.append(entries, { transaction: t });
    return outcomes;
  });
}
