/**
 * The retention policy applied: removes from the state store (and the
 * disk) what a pipeline has kept longer than its `retention:` allows.
 * Each kind is purged in one transaction with its one audit entry
 * (`purged`, detail `{ keys: [], kind, count, upTo }`: how many, up to
 * when, never which submissions or what they said); files are unlinked
 * after the commit that dropped their keys, so a crash in between leaves
 * only ciphertext nothing can open.
 */
import { unlink } from 'node:fs/promises';
import type { AuditLog } from '../audit/audit-log.js';
import { inList, iso, listParam, readInt } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import { cutoff, FINAL_STATES, PURGE_KINDS, type PurgeKind, type RetentionPolicy } from './retention.js';
import { deleteBodies } from './case-bodies.js';

/** How a purge runs. */
export interface PurgeOptions {
  /** Who purges, on the audit entries: the runner, or `operator:<name>`. */
  actor: string;
  /** The clock; default now. */
  now?: Date;
  /** Count what is past retention, change nothing, audit nothing. */
  dryRun?: boolean;
}

/** What a purge removed (or, dry, would remove) of one kind. */
export interface PurgeCount {
  kind: PurgeKind;
  count: number;
  /** Everything of this kind whose clock started before this moment was removed. */
  upTo: string;
}

const FINAL = FINAL_STATES.map((s) => `'${s}'`).join(', ');
/** Ledger rows of pipeline `$1` in a final state since before `$2`. */
const PAST = `pipeline = $1 AND state IN (${FINAL}) AND updated_at < $2`;

const FILE_KINDS = new Set<PurgeKind>(['evidence', 'inbox-done', 'inbox-quarantine']);

async function count(store: StateStore, pipeline: string, kind: PurgeKind, upTo: string): Promise<number> {
  let sql: string;
  let params: unknown[] = [pipeline, upTo];
  if (kind === 'bodies') sql = `SELECT COUNT(*) AS n FROM ledger_bodies WHERE id IN (SELECT id FROM ledger WHERE ${PAST})`;
  else if (kind === 'conflicts') sql = 'SELECT COUNT(*) AS n FROM ledger_conflicts WHERE pipeline = $1 AND received_at < $2';
  else if (kind === 'ledger') sql = `SELECT COUNT(*) AS n FROM ledger WHERE ${PAST}`;
  else {
    sql = 'SELECT COUNT(*) AS n FROM sealed_files WHERE pipeline = $1 AND created_at < $2 AND kind = $3';
    params = [...params, kind];
  }
  const [row] = await store.select<{ n: number | string }>(sql, params);
  return readInt(row?.n ?? 0);
}

/**
 * Deletes the rows of one kind past `upTo` inside `t`; resolves to how
 * many, and the files whose keys went with them. On PostgreSQL the ledger
 * rows whose bodies or selves go are locked first, as an operator's retry
 * locks them before it checks for a body: a row retried meanwhile is no
 * longer final when the lock is granted, and keeps its body.
 */
async function remove(store: StateStore, pipeline: string, kind: PurgeKind, upTo: string, t: StoreTx): Promise<{ n: number; files: string[] }> {
  const p = [pipeline, upTo];
  const lock = store.dialect === 'postgres' ? ' FOR UPDATE' : '';
  if (kind === 'bodies' && store.dialect === 'sqlite') {
    return { n: await deleteBodies(store, `id IN (SELECT id FROM ledger WHERE ${PAST})`, p, t), files: [] };
  }
  if (kind === 'bodies') {
    const ids = (await store.select<{ id: number | string }>(`SELECT id FROM ledger WHERE ${PAST}${lock}`, p, t)).map((r) => r.id);
    if (!ids.length) return { n: 0, files: [] };
    const list = listParam(store, ids.map(Number));
    return { n: await deleteBodies(store, inList(store, 'id', 1, 'bigint'), [list], t), files: [] };
  }
  if (kind === 'conflicts') {
    const rows = await store.select('DELETE FROM ledger_conflicts WHERE pipeline = $1 AND received_at < $2 RETURNING id', p, t);
    return { n: rows.length, files: [] };
  }
  if (FILE_KINDS.has(kind)) {
    const rows = await store.select<{ path: string }>('DELETE FROM sealed_files WHERE pipeline = $1 AND created_at < $2 AND kind = $3 RETURNING path', [...p, kind], t);
    return { n: rows.length, files: rows.map((r) => r.path) };
  }
  const ids = (await store.select<{ id: number | string }>(`SELECT id FROM ledger WHERE ${PAST}${lock}`, p, t)).map((r) => r.id);
  if (!ids.length) return { n: 0, files: [] };
  const list = listParam(store, ids.map(Number));
  await store.exec(`INSERT INTO audit_keys_retired (seq, pipeline, key) SELECT k.seq, l.pipeline, l.key FROM audit_keys k JOIN ledger l ON l.id = k.ledger_id WHERE ${inList(store, 'l.id', 1, 'bigint')}`, [list], t);
  await store.exec(`DELETE FROM audit_keys WHERE ${inList(store, 'ledger_id', 1, 'bigint')}`, [list], t);
  await deleteBodies(store, inList(store, 'id', 1, 'bigint'), [list], t);
  await store.exec(`DELETE FROM ledger WHERE ${inList(store, 'id', 1, 'bigint')}`, [list], t);
  return { n: ids.length, files: [] };
}

/** Unlinks files whose keys are gone; a file already missing is fine. Resolves to how many could not be removed. */
export async function unlinkAll(paths: readonly string[]): Promise<number> {
  let failed = 0;
  for (const path of paths) {
    try {
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed += 1;
    }
  }
  return failed;
}

/**
 * On SQLite, folds the write-ahead log back into the database and empties
 * it, so deleted pages (zeroed by `secure_delete`) do not linger there in
 * an older version. Best effort: a reader holding the log open makes it a
 * partial checkpoint, finished by SQLite's own later ones.
 */
export async function checkpointWal(store: StateStore): Promise<void> {
  if (store.dialect !== 'sqlite') return;
  await store.select('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => undefined);
}

/**
 * Purges `pipeline` under `policy`: bodies (and their wrapped keys) of
 * submissions in a final state since before the bodies cutoff, conflicts'
 * bodies, evidence and inbox files (rows, then the files), and ledger rows
 * (their `audit_keys` moved to `audit_keys_retired`, so `rekey dlq show`
 * still finds their history; the audit chain is untouched). Resolves to a
 * count per kind, every kind listed, zero included. Writes one `purged`
 * entry per kind with a count above zero; with `dryRun`, only counts.
 */
export async function purgePipeline(store: StateStore, audit: AuditLog, pipeline: string, policy: RetentionPolicy, opts: PurgeOptions): Promise<PurgeCount[]> {
  const now = opts.now ?? new Date();
  const out: PurgeCount[] = [];
  let removed = false;
  for (const kind of PURGE_KINDS) {
    const upTo = iso(cutoff(policy, kind, now));
    if (opts.dryRun) {
      out.push({ kind, count: await count(store, pipeline, kind, upTo), upTo });
      continue;
    }
    const { n, files } = await store.transaction(async (t) => {
      const done = await remove(store, pipeline, kind, upTo, t);
      if (done.n > 0) {
        await audit.append([{ pipeline, event: 'purged', actor: opts.actor, detail: { keys: [], kind, count: done.n, upTo } }], { transaction: t });
      }
      return done;
    });
    await unlinkAll(files);
    removed ||= n > 0;
    out.push({ kind, count: n, upTo });
  }
  if (removed) await checkpointWal(store);
  return out;
}
