/** Recording incoming submissions: new rows, duplicates and conflicts, in one transaction. */
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditRecord, NewAuditEntry } from '../audit/audit.types.js';
import { saveMappingText } from '../audit/mapping-texts.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { bodyColumnValue, type BodyCodec, type BodyPlace, type StoredBody } from '../privacy/bodies.js';
import { insertMany, iso, listParam, readInt, sqliteInsertValues } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import { planMoves, startRow, type MutableRow } from './ledger.plan.js';
import { selectByKeys } from './ledger.rows.js';
import { laneOwner } from './cases.js';
import { caseBodyId } from '../privacy/case-bodies.js';
import type { Actor, IncomingSubmission, ReceiveOutcome, Transition } from './ledger.types.js';

const INSERT_COLUMNS = [
  'id',
  'pipeline',
  'key',
  'content_hash',
  'state',
  'attempts',
  'next_attempt_at',
  'last_error',
  'legacy_ref',
  'confirmed',
  'mapping_version',
  'source',
  'lease_owner',
  'lease_until',
  'created_at',
  'updated_at',
] as const;
const CONFLICT_COLUMNS = ['pipeline', 'key', 'content_hash', 'body', 'kid', 'dek', 'source', 'received_at'] as const;

/** Records new submissions already leased to `owner` for `leaseMs`, for a runner that delivers them straight away. */
export interface ReceiveLease {
  owner: string;
  leaseMs: number;
}

/** Options of `receive`. */
export interface ReceiveOptions {
  /** Record new rows leased to this runner. */
  lease?: ReceiveLease;
  /** Recorded on the audit entries of `then` moves. */
  target?: string;
  /** The mapping version that keyed the items: recorded on every entry (received, duplicate, conflict, and `then` moves). */
  mappingVersion?: string;
  /** The canonical text of `mappingVersion` (`CompiledMapping.canonical`), stored once in `mapping_texts` in the same transaction (a door without runs gives it on its first write). */
  mappingText?: string;
  /** The run the audit entries of `then` moves name: a route's delivery pass, for what a routed pass's reading admits for it (its problems are that run's); default the receiving run. */
  thenRunId?: string;
}

function checkItems(items: readonly IncomingSubmission[]): void {
  items.forEach((s, i) => {
    if (typeof s.key !== 'string' || !s.key) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `submission ${i} has no key`);
    if (typeof s.contentHash !== 'string' || !s.contentHash) {
      throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `submission ${JSON.stringify(s.key)} has no content hash`);
    }
  });
}

/** The JSON text of `s`'s body: as given, else opened from its worker's seal (throws as `BodyCodec.open`). */
function bodyText(bodies: BodyCodec, pipeline: string, s: IncomingSubmission): string {
  if (s.bodyJson !== undefined) return s.bodyJson;
  if (s.sealedBody) return bodies.open(pipeline, 'body', s.key, s.sealedBody);
  return JSON.stringify(s.body ?? null);
}

/**
 * The bodies of `items` as stored in `place`, one per item, in order. A
 * body a mapping worker sealed for `ledger_bodies` is kept as it is when
 * `bodies` holds its key; any other is sealed here, in one batch (a
 * worker's seal is opened first when it is all there is: a conflict's
 * additional authenticated data differs, and an unknown key is refused).
 */
function stored(bodies: BodyCodec, pipeline: string, place: BodyPlace, items: readonly IncomingSubmission[]): StoredBody[] {
  const out: (StoredBody | undefined)[] = items.map((s) => (place === 'body' && s.sealedBody && bodies.storable?.(s.sealedBody) ? s.sealedBody : undefined));
  const todo: number[] = [];
  out.forEach((b, i) => {
    if (!b) todo.push(i);
  });
  if (!todo.length) return out as StoredBody[];
  const sealed = bodies.seal(pipeline, place, todo.map((i) => ({ key: items[i]!.key, text: bodyText(bodies, pipeline, items[i]!) })));
  todo.forEach((at, j) => (out[at] = sealed[j]));
  return out as StoredBody[];
}

/** Content hashes already stored for `keys`. */
export async function storedHashes(store: StateStore, pipeline: string, keys: readonly string[], t: StoreTx): Promise<Map<string, string>> {
  const rows = await store.select<{ key: string; content_hash: string }>(selectByKeys(store, 'l.key, l.content_hash'), [pipeline, listParam(store, keys)], t);
  return new Map(rows.map((r) => [r.key, r.content_hash]));
}

/**
 * The keys of a batch that several lanes of one pipeline receive in one
 * transaction, whose body is stored once for the case (see
 * `privacy/case-bodies.ts`): sealed for `pipeline` by the first lane that
 * inserts the key, named by the others.
 */
export class CaseBodies {
  private readonly rows = new Map<string, { id: number; stored: StoredBody }>();

  constructor(
    /** The pipeline whose lanes share the bodies (`P` of `P~ROUTE`). */
    readonly pipeline: string,
    /** The keys recorded in more than one lane. */
    readonly keys: ReadonlySet<string>,
  ) {}

  /**
   * The case rows for `items` (new rows of lane `lane` by id, keys in
   * {@link keys}): each key's row as one lane inserted it before, or a new
   * one, sealed here, whose id is {@link caseBodyId} of this lane's row's; the
   * new ones come back in `fresh`, to insert.
   */
  take(bodies: BodyCodec, lane: string, items: readonly { s: IncomingSubmission; id: number }[]): { rows: Map<string, { id: number; stored: StoredBody }>; fresh: { id: number; stored: StoredBody }[] } {
    const todo = items.filter((x) => !this.rows.has(x.s.key));
    const sealed = todo.length ? bodies.seal(this.pipeline, 'body', todo.map((x) => ({ key: x.s.key, text: bodyText(bodies, lane, x.s) }))) : [];
    const fresh = todo.map((x, i) => ({ id: caseBodyId(x.id), stored: sealed[i]! }));
    todo.forEach((x, i) => this.rows.set(x.s.key, fresh[i]!));
    return { rows: this.rows, fresh };
  }
}

type BodyRowValues = readonly [number | string, string | Uint8Array, string | null, string | null, number | null];

/**
 * Writes the bodies of new rows, once, by ledger id, each sealed by
 * `bodies` or already sealed by a worker (ciphertext and wrapped data
 * key); with `shared`, a key several lanes receive gets the case's body
 * row (written by the first lane) and a row of its own naming it, with an
 * empty body and its copy of the data key. Positional parameters on
 * SQLite (no JSON escaping), arrays on PostgreSQL.
 */
async function insertBodies(
  store: StateStore,
  bodies: BodyCodec,
  pipeline: string,
  fresh: readonly IncomingSubmission[],
  ids: ReadonlyMap<string, number | string>,
  t: StoreTx,
  shared?: CaseBodies,
): Promise<void> {
  const kept = fresh.filter((s) => ids.has(s.key));
  if (!kept.length) return;
  const own = shared ? kept.filter((s) => !shared.keys.has(s.key)) : kept;
  const sealed = stored(bodies, pipeline, 'body', own);
  const rows: BodyRowValues[] = own.map((s, i) => [ids.get(s.key)!, bodyColumnValue(store.dialect, sealed[i]!), sealed[i]!.kid, sealed[i]!.dek, null]);
  const lanes = shared ? kept.filter((s) => shared.keys.has(s.key)).map((s) => ({ s, id: Number(ids.get(s.key)!) })) : [];
  if (shared && lanes.length) {
    const { rows: cases, fresh: made } = shared.take(bodies, pipeline, lanes);
    for (const c of made) rows.push([c.id, bodyColumnValue(store.dialect, c.stored), c.stored.kid, c.stored.dek, null]);
    for (const { s, id } of lanes) {
      const c = cases.get(s.key)!;
      rows.push([id, '', c.stored.kid, c.stored.dek, c.id]);
    }
  }
  // `body_of` is named only when a row shares its case's body: a batch of one route, or of a pipeline without routes, writes what it wrote before 0024.
  const cols = rows.some((r) => r[4] !== null) ? 5 : 4;
  const names = ['id', 'body', 'kid', 'dek', 'body_of'].slice(0, cols);
  if (store.dialect === 'postgres') {
    const types = ['bigint', 'text', 'text', 'text', 'bigint'].slice(0, cols);
    await store.exec(
      `INSERT INTO ledger_bodies (${names.join(', ')}) SELECT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ')})`,
      types.map((_, c) => rows.map((r) => r[c])),
      t,
    );
    return;
  }
  await sqliteInsertValues(store, 'ledger_bodies', names, rows, t);
}

/**
 * `n` new ledger ids, ascending. Ids are handed to a batch's new rows in
 * the order the rows were read, so claiming by id (`ledger_claim_order`)
 * delivers them in that order although they are inserted in key order.
 * SQLite write transactions are serial, so the next ids follow the
 * largest (as SQLite's own rowids would); PostgreSQL takes them from the
 * id column's sequence (ids a lost insert took are skipped, as before).
 */
async function arrivalIds(store: StateStore, n: number, t: StoreTx, lanes?: LanesTx): Promise<number[]> {
  if (store.dialect === 'postgres') {
    const rows = await store.select<{ id: number | string }>(`SELECT nextval(pg_get_serial_sequence('ledger', 'id')) AS id FROM generate_series(1, $1)`, [n], t);
    return rows.map((r) => readInt(r.id)).sort((a, b) => a - b);
  }
  let last = lanes?.lastId;
  if (last === undefined) {
    const [row] = await store.select<{ n: number | string | null }>('SELECT MAX(id) AS n FROM ledger', [], t);
    last = readInt(row?.n ?? 0);
  }
  // The next lane of the same transaction goes on from here (its ids follow these, as MAX(id) would give them).
  if (lanes) lanes.lastId = last + n;
  return Array.from({ length: n }, (_, i) => last + 1 + i);
}

/**
 * Inserts `fresh` with `ON CONFLICT DO NOTHING` and resolves to the ids of
 * the rows inserted, by key, and the keys some other transaction inserted
 * first (only possible on PostgreSQL, where receivers run concurrently;
 * SQLite write transactions are serial). Rows are written in their final
 * state (after any `then` move), in key order (two receivers on
 * PostgreSQL then take their row locks in one order and cannot deadlock),
 * with ids in the order of `arrival` (each key's position as read).
 */
async function insertFresh(
  store: StateStore,
  bodies: BodyCodec,
  pipeline: string,
  fresh: readonly IncomingSubmission[],
  arrival: ReadonlyMap<string, number>,
  rows: ReadonlyMap<string, MutableRow>,
  createdAt: string,
  t: StoreTx,
  shared?: CaseBodies,
  lanes?: LanesTx,
): Promise<{ ids: Map<string, number | string>; lost: string[] }> {
  const given = await arrivalIds(store, fresh.length, t, lanes);
  const values = fresh.map((s) => {
    const r = rows.get(s.key)!;
    return [given[arrival.get(s.key)!], pipeline, s.key, s.contentHash, r.state, r.attempts, r.next_attempt_at, r.last_error, r.legacy_ref, r.confirmed, r.mapping_version, s.source ?? null, r.lease_owner, r.lease_until, createdAt, r.updated_at];
  });
  const inserted = await insertMany<{ id: number | string; key: string }>(store, 'ledger', INSERT_COLUMNS, values, t, 'ON CONFLICT (pipeline, key) DO NOTHING', 'id, key');
  const ids = new Map(inserted.map((r) => [r.key, r.id]));
  await insertBodies(store, bodies, pipeline, fresh, ids, t, shared);
  return { ids, lost: fresh.map((s) => s.key).filter((k) => !ids.has(k)) };
}

function record(s: IncomingSubmission, extra: Record<string, unknown> = {}): AuditRecord {
  return { key: s.key, contentHash: s.contentHash, source: s.source, ...s.auditNote, ...extra };
}

/** New rows as `received` (leased with `lease`), then moved by their `then`; with the moves' audit entries. */
function planFresh(
  pipeline: string,
  runId: string | null,
  fresh: readonly IncomingSubmission[],
  actor: Actor,
  now: Date,
  opts: ReceiveOptions,
): { rows: Map<string, MutableRow>; entries: NewAuditEntry[] } {
  const at = iso(now);
  const until = opts.lease ? iso(new Date(now.getTime() + opts.lease.leaseMs)) : null;
  const rows = new Map<string, MutableRow>();
  const moves: Transition[] = [];
  for (const s of fresh) {
    rows.set(s.key, startRow(s.key, 'received', opts.lease?.owner ?? null, until, at));
    if (s.then) moves.push({ ...s.then, key: s.key });
  }
  if (!moves.length) return { rows, entries: [] };
  const moveRun = opts.thenRunId ?? runId;
  const planned = planMoves(rows, moves, { pipeline, actor, target: opts.target, mappingVersion: opts.mappingVersion, extra: moveRun ? { runId: moveRun } : {}, now });
  for (const r of planned.rows) rows.set(r.key, r);
  return { rows, entries: planned.entries };
}

/**
 * Records a batch in one transaction and resolves after COMMIT. A new key is
 * inserted as `received` (then moved by its `then`, if any); a known key
 * with the same content hash is a `duplicate` (nothing written but the audit
 * entry); a known key with other content is a `conflict` (the stored row is
 * kept, the new content goes to `ledger_conflicts`); every body, new or
 * conflicting, is stored sealed by `bodies` (a new body a worker sealed
 * under a key `bodies` holds is stored as it is). Repeats inside the
 * batch are judged against the first occurrence. New rows get ledger ids
 * in the order of `items` (their arrival order, which claims follow). Audits one entry per
 * outcome kind, then one per `then` event, except that a move to
 * `delivering` is folded into the `received` entry: its record says
 * `state: "delivering"` (and the entry carries the target and mapping
 * version), which halves what the audit log writes on the fast path. With `opts.lease`, new rows are
 * recorded already leased (duplicates and conflicts are not). Throws what
 * `planMoves` throws for a `then` that is not a legal move from `received`,
 * with nothing written. With `outer`, the work is done in that transaction
 * (the caller's, which commits it) instead of one of its own; with `lanes`
 * (inside {@link receiveLanes}), the audit entries are left there for the
 * caller to append with the other parts'.
 */
export async function receiveBatch(
  store: StateStore,
  audit: AuditLog,
  bodies: BodyCodec,
  pipeline: string,
  runId: string | null,
  items: readonly IncomingSubmission[],
  actor: Actor,
  opts: ReceiveOptions = {},
  outer?: StoreTx,
  shared?: CaseBodies,
  lanes?: LanesTx,
): Promise<ReceiveOutcome[]> {
  if (!items.length) return [];
  checkItems(items);
  const first = new Map<string, IncomingSubmission>();
  for (const s of items) if (!first.has(s.key)) first.set(s.key, s);
  const inTransaction = async (t: StoreTx): Promise<ReceiveOutcome[]> => {
    const now = new Date();
    if (opts.mappingVersion !== undefined && opts.mappingText !== undefined) await saveMappingText(store, opts.mappingVersion, opts.mappingText, t);
    const existing = await storedHashes(store, pipeline, [...first.keys()], t);
    const arrived = [...first.values()].filter((s) => !existing.has(s.key));
    const arrival = new Map(arrived.map((s, i) => [s.key, i]));
    let fresh = arrived.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let plan = planFresh(pipeline, runId, fresh, actor, now, opts);
    const { ids, lost } = await insertFresh(store, bodies, pipeline, fresh, arrival, plan.rows, iso(now), t, shared, lanes);
    if (lost.length) {
      for (const [k, h] of await storedHashes(store, pipeline, lost, t)) existing.set(k, h);
      fresh = fresh.filter((s) => !existing.has(s.key));
      plan = planFresh(pipeline, runId, fresh, actor, now, opts);
    }
    const seen = new Set<string>();
    const received: AuditRecord[] = [];
    const duplicates: AuditRecord[] = [];
    const conflicts: AuditRecord[] = [];
    const conflicting: IncomingSubmission[] = [];
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
      conflicting.push(s);
      return 'conflict';
    });
    const sealed = stored(bodies, pipeline, 'conflict', conflicting);
    const conflictRows = conflicting.map((s, i) => [pipeline, s.key, s.contentHash, sealed[i]!.body, sealed[i]!.kid, sealed[i]!.dek, s.source ?? null, iso(now)]);
    await insertMany(store, 'ledger_conflicts', CONFLICT_COLUMNS, conflictRows, t);
    const entries: NewAuditEntry[] = [];
    const add = (event: 'received' | 'duplicate' | 'conflict', records: AuditRecord[], extra: Partial<NewAuditEntry> = {}) => {
      if (records.length) entries.push({ pipeline, event, actor, at: now, ...extra, detail: { runId, keys: records.map((r) => r.key), records } });
    };
    const delivering = new Set(plan.entries.filter((e) => e.event === 'delivering').flatMap((e) => e.detail.keys));
    for (const r of received) if (delivering.has(r.key)) r.state = 'delivering';
    const version = { mappingVersion: opts.mappingVersion ?? null };
    add('received', received, delivering.size ? { ...version, target: opts.target ?? null } : version);
    add('duplicate', duplicates, version);
    add('conflict', conflicts, version);
    entries.push(...plan.entries.filter((e) => e.event !== 'delivering'));
    if (lanes) {
      lanes.entries.push(...entries);
      const had = lanes.ids.get(pipeline);
      lanes.ids.set(pipeline, had ? new Map([...had, ...ids]) : ids);
    } else {
      await audit.append(entries, { transaction: t, ledgerIds: ids });
    }
    return outcomes;
  };
  return outer ? inTransaction(outer) : store.transaction(inTransaction);
}

/**
 * What the parts of one {@link receiveLanes} transaction share: the audit
 * entries of every part, appended once after the last (one chain head
 * read, one insert, one index insert, where each part would have made
 * three round trips), with each part's new ledger ids by pipeline; and,
 * on SQLite, the last ledger id handed out, so that only the first part
 * asks for `MAX(id)`.
 */
interface LanesTx {
  entries: NewAuditEntry[];
  ids: Map<string, ReadonlyMap<string, number | string>>;
  lastId?: number;
}

/** One pipeline's part of a batch received into several at once (see {@link receiveLanes}). */
export interface LanePart {
  pipeline: string;
  items: readonly IncomingSubmission[];
  opts?: ReceiveOptions;
}

/**
 * The bodies the lanes of `parts` share: for each pipeline with routes,
 * the keys more than one of its lanes receives (see {@link CaseBodies}).
 */
function caseBodies(parts: readonly LanePart[]): Map<string, CaseBodies> {
  const seen = new Map<string, Map<string, number>>();
  for (const x of parts) {
    const owner = laneOwner(x.pipeline);
    if (!owner) continue;
    let counts = seen.get(owner);
    if (!counts) seen.set(owner, (counts = new Map()));
    for (const key of new Set(x.items.map((s) => s.key))) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const out = new Map<string, CaseBodies>();
  for (const [owner, counts] of seen) {
    const keys = new Set([...counts].flatMap(([k, n]) => (n > 1 ? [k] : [])));
    if (keys.size) out.set(owner, new CaseBodies(owner, keys));
  }
  return out;
}

/**
 * Records each part as {@link receiveBatch} records a batch into its
 * pipeline (its own rows, sealed bodies and audit entries), all parts in
 * one transaction: a routed pipeline's reading admits a batch into every
 * lane it goes to with one commit. A submission new to several lanes has
 * its body stored once for the case (see `privacy/case-bodies.ts`). The
 * parts' audit entries are appended together, after the last part, in the
 * parts' order. Resolves to each part's outcomes, in order, after COMMIT;
 * throws as `receiveBatch` throws, with nothing written in any part.
 */
export async function receiveLanes(store: StateStore, audit: AuditLog, bodies: BodyCodec, runId: string | null, parts: readonly LanePart[], actor: Actor): Promise<ReceiveOutcome[][]> {
  if (!parts.some((x) => x.items.length)) return parts.map(() => []);
  for (const x of parts) checkItems(x.items);
  const shared = caseBodies(parts);
  return store.transaction(async (t) => {
    const out: ReceiveOutcome[][] = [];
    const lanes: LanesTx = { entries: [], ids: new Map() };
    for (const x of parts) out.push(await receiveBatch(store, audit, bodies, x.pipeline, runId, x.items, actor, x.opts, t, shared.get(laneOwner(x.pipeline) ?? ''), lanes));
    await audit.append(lanes.entries, { transaction: t, ledgerIds: (pipeline) => lanes.ids.get(pipeline) });
    return out;
  });
}
