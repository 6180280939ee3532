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
import type { KeyRing } from '../../lib/envelope.js';
import { legacyTextsOf, writeLegacyTexts } from '../privacy/legacy-text.js';
import { planMoves, type MutableRow } from './ledger.plan.js';
import type { Actor } from './ledger.types.js';

/** How `reconcileAnswers` audits and keeps the legacy system's reasons. */
export interface ReconcileOptions {
  target?: string;
  /** The keyed hash of a legacy reason (`piiHash` with the audit PII key): the row and audit entry keep it, the reason itself is sealed with `keys`. Without it, reasons are not kept. */
  hashText?: (text: string) => string;
  /** The key ring the submissions' data keys are wrapped under, to seal the reasons. */
  keys?: KeyRing;
}

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

/** A legacy system's code that is safe to quote in rekey's sentence (a code, never free text). */
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The ledger error of a legacy rejection: rekey's sentence (with the
 * legacy system's code when it is a plain code); its reason, which may
 * quote a citizen's values, as `legacyText` with its keyed hash when
 * `hash` is given (stored sealed with the submission), else left out.
 */
export function legacyRejection(reason: string, code?: string, hash?: (text: string) => string): ConnectorError {
  const e = errorData(PipelineCodes.LEGACY_REJECTED, `the legacy system rejected the record in its answer${code !== undefined && CODE.test(code) ? ` (code ${code})` : ''}`);
  if (reason && hash) return { ...e, legacyText: reason, textHash: hash(reason) };
  return e;
}

/** Whether `row` is dead with the rejection `error` already: same code and reason hash (on rows from before hashing, the reason as message); a reason not hashed never matches. */
function rejectedWith(row: MutableRow, error: ConnectorError, reason: string): boolean {
  if (row.last_error === null) return false;
  try {
    const e = JSON.parse(row.last_error) as Partial<ConnectorError>;
    if (e.code !== LEGACY_REJECTED) return false;
    return e.textHash !== undefined ? e.textHash === error.textHash : e.message === reason;
  } catch {
    return false;
  }
}

type Verdict = 'confirm' | 'dead' | 'already' | SkippedAnswer;

function judge(row: MutableRow | undefined, a: AnswerResult, pipeline: string, hash?: (text: string) => string): Verdict {
  if (!row) return { key: a.key, reason: `pipeline ${pipeline} holds no submission with this key` };
  if (a.legacyRef !== undefined && row.legacy_ref !== a.legacyRef) {
    return { key: a.key, reason: `answers delivery ${a.legacyRef}, but the submission's latest delivery is ${row.legacy_ref ?? 'none'}` };
  }
  if (a.accepted) {
    if (row.state === 'delivered') return row.confirmed ? 'already' : 'confirm';
    return { key: a.key, reason: `accepted, but the submission is ${row.state}, not delivered` };
  }
  if (row.state === 'delivered') return row.confirmed ? { key: a.key, reason: 'rejected, but an earlier answer confirmed it' } : 'dead';
  if (row.state === 'dead' && rejectedWith(row, legacyRejection(a.reason, a.code, hash), a.reason)) return 'already';
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
  opts: ReconcileOptions = {},
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
      const v = judge(row, a, pipeline, opts.hashText);
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
    const moves = rejected.map((a) => ({
      key: a.key,
      to: 'dead' as const,
      error: legacyRejection(a.accepted ? '' : a.reason, a.accepted ? undefined : a.code, opts.hashText),
      ...(current.get(a.key)?.legacy_ref ? { legacyRef: current.get(a.key)!.legacy_ref! } : {}),
      ...(!a.accepted && a.code !== undefined && CODE.test(a.code) ? { detail: { legacyCode: a.code } } : {}),
    }));
    const target = opts.target === undefined ? {} : { target: opts.target };
    const plan = planMoves(current, moves, { pipeline, actor, ...target, extra: { ...extra, answer: 'rejected by the legacy system' }, now });
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
    if (opts.keys) await writeLegacyTexts(store, opts.keys, pipeline, legacyTextsOf(moves), t);
    return report;
  });
}
