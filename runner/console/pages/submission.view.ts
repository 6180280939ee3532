/**
 * What the console's submission page shows, built from the same story,
 * lineage and record as sent as `rekey show` (pipelines/audit/story.ts,
 * pipelines/audit/story-open.ts): the header rows, the timeline, and one
 * row per delivered field with its lineage and its value, which is masked
 * unless the record as sent was opened for a user holding `evidence`.
 * Pure: nothing here reads the store or decrypts.
 */
import { flow, sourceText, type FieldLineage } from '../../../mappings/lineage.js';
import type { StoryLineage } from '../../../pipelines/audit/story-open.js';
import { targetText, type SubmissionStory } from '../../../pipelines/audit/story.js';
import type { SentRecord } from '../../../pipelines/privacy/sent-copy.js';
import { bodyText, stateText } from '../../commands/show.text.js';

/** A submission's page address: `/submissions/PIPELINE/KEY`, each part URL-encoded (keys hold `/`). */
export function submissionHref(pipeline: string, key: string): string {
  return `/submissions/${encodeURIComponent(pipeline)}/${encodeURIComponent(key)}`;
}

/** A mapping version's page address. */
export function mappingHref(version: string): string {
  return `/mappings/${encodeURIComponent(version)}`;
}

/** One row of the header: a label, its text, and a link when the value leads somewhere. */
export interface HeaderRow {
  label: string;
  text: string;
  href?: string;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

/** The header rows: what the ledger holds now, in the order `rekey show` prints them. */
export function headerRows(s: SubmissionStory): HeaderRow[] {
  const rows: HeaderRow[] = [];
  const add = (label: string, text: string | number | null | undefined, href?: string) => {
    if (text === null || text === undefined || text === '') return;
    rows.push({ label, text: String(text), ...(href && { href }) });
  };
  add('Pipeline', s.pipeline);
  add('Key', s.key);
  add('Form reference', s.reference);
  add('State', stateText(s));
  const e = s.row?.lastError;
  if (e && s.row?.state !== 'delivered') add(s.row?.state === 'rejected' ? 'Rejected for' : 'Last error', `${e.code}${e.field ? ` on ${e.field}` : ''}: ${e.message}`);
  add('Legacy reference', s.row?.legacyRef);
  add('Attempts', s.row?.attempts);
  add('First received', iso(s.firstReceived));
  add('Source', s.row?.source);
  add('Last change', iso(s.lastChange));
  add('Mapping version', s.mappingVersion ?? 'none recorded', s.mappingVersion ? mappingHref(s.mappingVersion) : undefined);
  if (s.delivery?.target) add('Delivered to', targetText(s.delivery.target));
  if (s.delivery) add('Delivered at', iso(s.delivery.at));
  if (s.delivery?.sent) add('Record as sent (hash)', s.delivery.sent.hash);
  add('Body', bodyText(s));
  add('Evidence kept', s.files.length ? s.files.map((f) => f.file).join(', ') : 'none');
  return rows;
}

/** One step of the timeline. */
export interface TimelineRow {
  seq: number;
  at: string;
  event: string;
  what: string;
  actor: string;
  runId?: string;
  /** Facts beside it: source, target, error with field and reason, the mapping version. Never a citizen's value. */
  notes: string[];
}

/** The story's steps, oldest first. */
export function timelineRows(s: SubmissionStory): TimelineRow[] {
  return s.steps.map((step) => ({
    seq: step.seq,
    at: iso(step.at),
    event: step.event,
    what: step.what,
    actor: step.actor,
    ...(step.runId && { runId: step.runId }),
    notes: [...step.notes, ...(step.mappingVersion && step.event !== 'delivered' ? [`mapping ${step.mappingVersion}`] : [])],
  }));
}

/** How one delivered field was produced, and what was sent in it. */
export interface FieldRow {
  field: string;
  pii: boolean;
  required: boolean;
  /** Where the value is read from, one line each. */
  reads: string[];
  /** The rule around it: transforms, condition, default, checks, cross-field rules. */
  rule: string[];
  /** `masked`, `sent` (values shown in `values`), `not sent`, or `not delivered`. */
  shown: 'masked' | 'sent' | 'not sent' | 'not delivered';
  /** With `shown: sent` only: the value (one per child row for a group's field, labelled `[n]`). */
  values?: string[];
}

/** The rule lines of one field, as `formatLineage` words them. */
function ruleLines(l: FieldLineage): string[] {
  const out: string[] = [];
  if (l.group) out.push(`each ${l.group.each}${l.group.min !== undefined ? `, min ${l.group.min}` : ''}${l.group.max !== undefined ? `, max ${l.group.max}` : ''}`);
  if (l.when !== undefined) out.push(`when ${l.when}`);
  if (l.template !== undefined) out.push(`template ${JSON.stringify(l.template)}`);
  if (l.transforms.length) out.push(`transform ${l.transforms.map((t) => t.text).join(' → ')}`);
  if (l.default !== undefined) out.push(`default ${flow(l.default)}`);
  if (l.validate.length) out.push(`validate ${l.validate.join('; ')}`);
  if (l.rules.length) out.push(`rules ${l.rules.join(', ')}`);
  return out;
}

const valueText = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '(absent)' : JSON.stringify(v));

/** The value(s) sent in `field` (`FIELD` or `GROUP.FIELD`) of `sent`. */
function sentValues(sent: SentRecord, field: string): string[] | undefined {
  if (Object.hasOwn(sent.record, field)) return [valueText(sent.record[field])];
  const dot = field.indexOf('.');
  const rows = dot > 0 ? sent.children[field.slice(0, dot)] : undefined;
  if (!rows) return undefined;
  return rows.map((row, i) => `[${i + 1}] ${valueText(row[field.slice(dot + 1)])}`);
}

/**
 * One row per field: the lineage's fields (record order), then any field
 * the audit log says was sent that the lineage does not name. A value is
 * shown only from `opened` (the record as sent, decrypted for an evidence
 * user); otherwise a field the delivery sent reads `masked`.
 */
export function fieldRows(s: SubmissionStory, lineage: StoryLineage, opened?: SentRecord): FieldRow[] {
  const sentFields = s.delivery?.sent ? Object.keys(s.delivery.sent.fields) : [];
  const shown = (field: string): Pick<FieldRow, 'shown' | 'values'> => {
    if (!s.delivery) return { shown: 'not delivered' };
    if (opened) {
      const values = sentValues(opened, field);
      return values ? { shown: 'sent', values } : { shown: 'not sent' };
    }
    return sentFields.includes(field) || !s.delivery.sent ? { shown: 'masked' } : { shown: 'not sent' };
  };
  const rows: FieldRow[] = [];
  const named = new Set<string>();
  if ('fields' in lineage) {
    for (const l of lineage.fields) {
      named.add(l.field);
      rows.push({ field: l.field, pii: l.pii, required: l.required, reads: l.sources.map(sourceText), rule: ruleLines(l), ...shown(l.field) });
    }
  }
  const extra = opened ? [...Object.keys(opened.record), ...Object.entries(opened.children).flatMap(([g, rs]) => [...new Set(rs.flatMap((r) => Object.keys(r)))].map((f) => `${g}.${f}`))] : sentFields;
  for (const field of extra) {
    if (named.has(field)) continue;
    named.add(field);
    rows.push({ field, pii: false, required: false, reads: [], rule: [], ...shown(field) });
  }
  return rows;
}

/** Which lineage rows a mapping page shows (no values: a mapping holds none). */
export function lineageRows(fields: readonly FieldLineage[]): Omit<FieldRow, 'shown' | 'values'>[] {
  return fields.map((l) => ({ field: l.field, pii: l.pii, required: l.required, reads: l.sources.map(sourceText), rule: ruleLines(l) }));
}
