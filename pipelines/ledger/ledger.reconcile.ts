/**
 * Applying a legacy system's answers (acknowledgement and reject files) to
 * delivered rows: an accepted record becomes `confirmed` (audited
 * `confirmed`), a rejected one goes to the dead letters with the legacy
 * system's reason (`delivered -> dead`, audited `dead`). Applying the same
 * answers again changes nothing: a confirmed row stays confirmed, a row
 * already dead with that reason stays as it is. Answers that do not fit
 * the row (unknown key, another delivery, another state) are reported and
 * left alone.
 */
import type { AnswerResult, ConnectorError } from '../../connectors/connector.types.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditRecord, NewAuditEntry } from '../audit/audit.types.js';
import type { StateStore } from '../store/state-store.js';
import { errorData } from '../../lib/errors.js';
import { PipelineCodes } from '../pipeline.errors.js';
import { readCurrent, writeRows } from './ledger.apply.js';
import { planMoves, type MutableRow } from './ledger.plan.js';
import type { Actor } from './ledger.types.js';

/** Error code of a record the legacy system rejected after delivery. */
export const LEGACY_REJECTED = PipelineCodes.LEGACY_REJECTED.code;

/** An answer that was not applied, and why. */
export interface SkippedAnswer {
  key: string;
  reason: string;
}

/** What `reconcileAnswers` did. */
export interface ReconcileReport {
  /** Keys newly confirmed. */
  confirmed: string[];
  /** Keys newly dead-lettered with the legacy system's reason. */
  dead: string[];
  /** Keys whose answer was already applied (a repeat after a crash). */
  already: string[];
  skipped: SkippedAnswer[];
}

/** The ledger error of a legacy rejection: the legacy system's reason as the message. */
export function legacyRejection(reason: string): ConnectorError {
  return errorData(PipelineCodes.LEGACY_REJECTED, reason);
}

function rejectedWith(row: MutableRow, reason: string): boolean {
  if (row.last_error === null) return false;
  try {
    const e = JSON.parse(row.last_error) as Partial<ConnectorError>;
    return e.code === LEGACY_REJECTED && e.message === reason;
  } catch {
    return false;
  }
}

type Verdict = 'confirm' | 'dead' | 'already' | SkippedAnswer;

function judge(row: MutableRow | undefined, a: AnswerResult, pipeline: string): Verdict {
  if (!row) return { key: a.key, reason: `pipeline ${pipeline} holds no submission with this key` };
  if (a.legacyRef !== undefined && row.legacy_ref !== a.legacyRef) {
    return { key: a.key, reason: `answers delivery ${a.legacyRef}, but the submission's latest delivery is ${row.legacy_ref ?? 'none'}` };
  }
  if (a.accepted) {
    if (row.state === 'delivered') return row.confirmed ? 'already' : 'confirm';
    return { key: a.key, reason: `accepted, but the submission is ${row.state}, not delivered` };
  }
  if (row.state === 'delivered') return row.confirmed ? { key: a.key, reason: 'rejected, but an earlier answer confirmed it' } : 'dead';
  if (row.state === 'dead' && rejectedWith(row, a.reason)) return 'already';
  return { key: a.key, reason: `rejected, but the submission is ${row.state}, not delivered` };
}

/**
 * Applies `results` to the ledger rows of `pipeline` in one transaction
 * (rows read locked on PostgreSQL) and resolves, after COMMIT, to what was
 * done with each key. One audit entry `confirmed` names the confirmed keys,
 * one entry `dead` the rejected ones (each record with the legacy reason,
 * and its code when given, as `legacyCode`). Never throws for an answer
 * that does not fit its row: it is in `skipped` with the reason. When a key
 * is answered twice in `results`, the first answer counts.
 */
export async function reconcileAnswers(
  store: StateStore,
  audit: AuditLog,
  pipeline: string,
  runId: string | null,
  results: readonly AnswerResult[],
  actor: Actor,
  opts: { target?: string } = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = { confirmed: [], dead: [], already: [], skipped: [] };
  if (!results.length) return report;
  return store.transaction(async (t) => {
    const current = await readCurrent(store, pipeline, [...new Set(results.map((r) => r.key))], t);
    const seen = new Set<string>();
    const confirmed: MutableRow[] = [];
    const confirmedRecords: AuditRecord[] = [];
    const rejected: AnswerResult[] = [];
    const now = new Date();
    for (const a of results) {
      if (seen.has(a.key)) {
        report.skipped.push({ key: a.key, reason: 'answered twice in one set; the first answer counts' });
        continue;
      }
      seen.add(a.key);
      const row = current.get(a.key);
      const v = judge(row, a, pipeline);
      if (v === 'already') report.already.push(a.key);
      else if (typeof v === 'object') report.skipped.push(v);
      else if (v === 'confirm') {
        confirmed.push({ ...row!, confirmed: true, updated_at: now.toISOString() });
        confirmedRecords.push(row!.legacy_ref === null ? { key: a.key } : { key: a.key, legacyRef: row!.legacy_ref });
        report.confirmed.push(a.key);
      } else {
        rejected.push(a);
        report.dead.push(a.key);
      }
    }
    const extra = runId ? { runId } : {};
    const plan = planMoves(
      current,
      rejected.map((a) => ({
        key: a.key,
        to: 'dead' as const,
        error: legacyRejection(a.accepted ? '' : a.reason),
        ...(current.get(a.key)?.legacy_ref ? { legacyRef: current.get(a.key)!.legacy_ref! } : {}),
        ...(!a.accepted && a.code !== undefined ? { detail: { legacyCode: a.code } } : {}),
      })),
      { pipeline, actor, ...opts, extra: { ...extra, answer: 'rejected by the legacy system' }, now },
    );
    const entries: NewAuditEntry[] = [];
    if (confirmed.length) {
      const only = confirmedRecords.length === 1 ? confirmedRecords[0]!.legacyRef : undefined;
      entries.push({
        pipeline,
        event: 'confirmed',
        actor,
        target: opts.target ?? null,
        legacyRef: only ?? null,
        at: now,
        detail: { ...extra, answer: 'accepted by the legacy system', keys: confirmedRecords.map((r) => r.key), records: confirmedRecords },
      });
    }
    entries.push(...plan.entries);
    await writeRows(store, pipeline, [...confirmed, ...plan.rows], t);
    await audit.append(entries, { transaction: t });
    return report;
  });
}
