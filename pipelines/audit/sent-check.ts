/**
 * Whether a value is the one that was sent for a field, answered from the
 * audit log alone: the value's keyed hash (`piiHash` with the deployer's
 * PII key) is compared with the `sent.fields` of a submission's delivered
 * entries (their `pii` for entries written before `sent` was recorded).
 * The value itself is never stored nor repeated.
 */
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { AuditEntry, AuditRecord } from './audit.types.js';
import { piiHash } from './pii.js';

/** The answer for one field of one submission. */
export interface SentCheck {
  key: string;
  field: string;
  match: boolean;
  /** The delivered entry compared with: the newest one that matched, else the newest that sent the field. */
  seq: number;
  at: string;
  /** Where that delivery went: `kind system object` (the kind alone for older entries). */
  target: string;
  /** For `GROUP.FIELD`: which child rows (1-based) held the value; empty when none did. */
  rows?: number[];
}

function sentFields(r: AuditRecord): Record<string, string | string[]> {
  return r.sent?.fields ?? r.pii ?? {};
}

function targetText(e: AuditEntry, r: AuditRecord): string {
  const t = r.target;
  if (!t) return e.target ?? 'an unnamed target';
  return [t.kind, t.system, t.object].filter((x) => x).join(' ');
}

/**
 * Checks `value` against what the delivered entries among `entries` (the
 * audit history of `key`) recorded for `field`, newest first. Throws
 * `AUDIT_CHECK_NOT_SENT` when none is a delivery of `key`, and
 * `AUDIT_CHECK_FIELD_UNKNOWN` (listing the fields the newest delivery
 * sent) when none of them recorded `field`. Messages never hold the value.
 */
export function checkSentValue(entries: readonly AuditEntry[], key: string, field: string, value: string, piiKey: Buffer): SentCheck {
  const deliveries = entries
    .filter((e) => e.event === 'delivered')
    .flatMap((e) => (e.detail.records ?? []).filter((r) => r.key === key).map((r) => ({ e, r })))
    .reverse();
  if (!deliveries.length) throw new PipelineError(PipelineCodes.AUDIT_CHECK_NOT_SENT, `${JSON.stringify(key)} was never delivered: the audit log records nothing sent for it`);
  const withField = deliveries.filter(({ r }) => sentFields(r)[field] !== undefined);
  if (!withField.length) {
    const known = Object.keys(sentFields(deliveries[0]!.r)).sort();
    throw new PipelineError(
      PipelineCodes.AUDIT_CHECK_FIELD_UNKNOWN,
      `no delivery of ${JSON.stringify(key)} recorded field ${field}; the fields sent were: ${known.join(', ') || '(none recorded)'}`,
    );
  }
  const hash = piiHash(value, piiKey);
  const judged = withField.map(({ e, r }) => {
    const sent = sentFields(r)[field]!;
    const rows = Array.isArray(sent) ? sent.flatMap((h, i) => (h === hash ? [i + 1] : [])) : undefined;
    return { e, r, rows, match: rows ? rows.length > 0 : sent === hash };
  });
  const chosen = judged.find((j) => j.match) ?? judged[0]!;
  const out: SentCheck = { key, field, match: chosen.match, seq: chosen.e.seq, at: chosen.e.at.toISOString(), target: targetText(chosen.e, chosen.r) };
  if (chosen.rows) out.rows = chosen.rows;
  return out;
}

/** The answer as one line for people, without the value. */
export function sentCheckText(c: SentCheck): string {
  const rows = c.rows?.length ? ` in child row${c.rows.length > 1 ? 's' : ''} ${c.rows.join(', ')}` : '';
  const where = `at ${c.at} (audit seq ${c.seq}) to ${c.target}`;
  return c.match ? `match: ${c.field} is the value sent${rows} ${where}\n` : `no match: ${c.field} is not the value sent ${where}\n`;
}
