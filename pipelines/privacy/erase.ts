/**
 * The right to erasure, by crypto-shredding: a submission's body and the
 * wrapped data key that opened it, its conflicts, and the files registered
 * as its own (evidence, inbox copies) are deleted in one transaction with
 * the `erased` audit entry; the files are unlinked after the commit. The
 * ledger row stays, marked `erased_at`, and so does its audit trail (keys,
 * keyed hashes, mapping version, legacy reference), which still verifies:
 * the chain commits to hashes, never to bodies.
 */
import type { AuditLog } from '../audit/audit-log.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, readDate } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { checkpointWal, unlinkAll } from './purge.js';
import { FINAL_STATES } from './retention.js';
import { deleteBodies } from './case-bodies.js';

/** Who erases, and why. */
export interface EraseOptions {
  /** Kept on the audit entry; must not be empty. */
  reason: string;
  /** `operator:<name>`. */
  actor: string;
  /** The clock; default now. */
  now?: Date;
}

/** What an erasure destroyed. */
export interface EraseResult {
  pipeline: string;
  key: string;
  erasedAt: string;
  /** 1 when the body was still held, 0 when retention had purged it already. */
  bodies: number;
  conflicts: number;
  files: number;
}

/**
 * Erases submission `key` of `pipeline`. Throws, with nothing changed:
 * `LEDGER_BAD_REQUEST` for an empty reason, or for a submission still on
 * its way (received, mapped, delivering, failed: a runner may hold its
 * body; erase it once it is delivered, rejected, dead or discarded);
 * `LEDGER_UNKNOWN_KEY` for a key the ledger does not hold;
 * `SUBMISSION_ERASED` when it was erased before.
 */
export async function eraseSubmission(store: StateStore, audit: AuditLog, pipeline: string, key: string, opts: EraseOptions): Promise<EraseResult> {
  const reason = opts.reason.trim();
  if (!reason) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, 'erasing needs a reason');
  const erasedAt = iso(opts.now ?? new Date());
  const lock = store.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const result = await store.transaction(async (t) => {
    const [row] = await store.select<{ id: number | string; state: string; erased_at: unknown }>(
      `SELECT id, state, erased_at FROM ledger WHERE pipeline = $1 AND key = $2${lock}`,
      [pipeline, key],
      t,
    );
    const named = `${JSON.stringify(key)} of pipeline ${pipeline}`;
    if (!row) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_KEY, `pipeline ${pipeline} holds no submission ${JSON.stringify(key)}`);
    if (row.erased_at !== null && row.erased_at !== undefined) {
      throw new PipelineError(PipelineCodes.SUBMISSION_ERASED, `${named} was already erased at ${readDate(row.erased_at)?.toISOString()}: there is nothing left to erase`);
    }
    if (!(FINAL_STATES as readonly string[]).includes(row.state)) {
      throw new PipelineError(
        PipelineCodes.LEDGER_BAD_REQUEST,
        `cannot erase ${named} while it is ${row.state}: a runner may still deliver it; erase it once it is delivered, rejected, dead or discarded`,
      );
    }
    const bodies = await deleteBodies(store, 'id = $1', [row.id], t);
    const conflicts = await store.select('DELETE FROM ledger_conflicts WHERE pipeline = $1 AND key = $2 RETURNING id', [pipeline, key], t);
    const files = await store.select<{ path: string }>('DELETE FROM sealed_files WHERE pipeline = $1 AND subject = $2 RETURNING path', [pipeline, key], t);
    await store.exec('UPDATE ledger SET erased_at = $2 WHERE id = $1', [row.id, erasedAt], t);
    const removed = { bodies, conflicts: conflicts.length, files: files.length };
    await audit.append([{ pipeline, event: 'erased', actor: opts.actor, detail: { keys: [key], reason, removed } }], { transaction: t });
    return { ...removed, paths: files.map((f) => f.path) };
  });
  await unlinkAll(result.paths);
  await checkpointWal(store);
  return { pipeline, key, erasedAt, bodies: result.bodies, conflicts: result.conflicts, files: result.files };
}
