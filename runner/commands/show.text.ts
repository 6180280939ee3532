/**
 * A submission's story as text for people (`rekey show`, `rekey dlq
 * show`): a header of what the ledger says now, then each audit step in
 * time order with its facts indented beneath, wrapped to fit a terminal.
 * Prints only what the story holds, which is never a citizen's value.
 */
import { formReference, targetText, type StoryStep, type SubmissionStory } from '../../pipelines/audit/story.js';
import type { Case, CaseState } from '../../pipelines/ledger/cases.js';
import { formatTable } from './status.command.js';

/** Widest line the text aims for (long words, such as hashes, may pass it). */
export const TEXT_WIDTH = 100;

/** `text` broken at spaces into lines of at most `width` characters, the first after `first`, the rest after `rest`. */
export function wrap(text: string, first: string, rest: string, width = TEXT_WIDTH): string[] {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const word of text.split(' ')) {
    if (!fresh && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else line += (fresh ? '' : ' ') + word;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : '-');

/** The state line of `rekey show`: the ledger state in words, with confirmation or the next attempt. */
export function stateText(s: SubmissionStory): string {
  if (!s.row) return 'unknown: its ledger row was purged by the retention policy; its audit trail remains';
  const r = s.row;
  if (r.state === 'delivered') return r.confirmed ? 'delivered, confirmed by the legacy system' : 'delivered (not confirmed by the legacy system)';
  if (r.state === 'failed' && r.nextAttemptAt) return `failed, next attempt ${iso(r.nextAttemptAt)}`;
  return r.state;
}

/** Whether the sealed body is kept, erased or purged, in words. */
export function bodyText(s: SubmissionStory): string {
  if (s.erasedAt) return `erased ${iso(s.erasedAt)} (body, data key and files destroyed)`;
  if (!s.row) return 'purged with the ledger row';
  return s.bodyKept ? 'kept, encrypted at rest' : 'purged by the retention policy';
}

/** The header: what the ledger holds now, and where to look further. */
function header(s: SubmissionStory, hints: StoryHints): string[] {
  const out: string[] = [];
  const row = (label: string, value: string | number | null | undefined) => {
    if (value === null || value === undefined || value === '') return;
    out.push(...wrap(String(value), `  ${label.padEnd(16)}`, ' '.repeat(18)));
  };
  out.push(`${s.pipeline}: ${s.key}`);
  row('form reference', s.reference);
  row('state', stateText(s));
  if (s.row?.lastError && s.row.state !== 'delivered') row(s.row.state === 'rejected' ? 'rejected for' : 'last error', `${s.row.lastError.code}${s.row.lastError.field ? ` on ${s.row.lastError.field}` : ''}: ${s.row.lastError.message}`);
  row('legacy ref', s.row?.legacyRef);
  row('attempts', s.row?.attempts);
  row('first received', `${iso(s.firstReceived)}${s.row?.source ? `, from ${s.row.source}` : ''}`);
  row('last change', iso(s.lastChange));
  row('mapping', s.mappingVersion ?? 'none recorded');
  for (const h of hints.mapping ?? []) row('', h);
  if (s.delivery?.target) row('delivered to', targetText(s.delivery.target));
  if (s.delivery?.sent) row('record as sent', s.delivery.sent.hash);
  for (const h of hints.sent ?? []) row('', h);
  row('body', bodyText(s));
  row('evidence', s.files.length ? s.files.map((f) => f.file).join(', ') : 'none kept');
  return out;
}

function stepLines(step: StoryStep): string[] {
  const indent = ' '.repeat(4);
  const out = wrap(step.what, `  ${iso(step.at)}  #${step.seq}  `, indent);
  const facts = [`by ${step.actor}${step.runId ? `, run ${step.runId}` : ''}`, ...step.notes, ...(step.mappingVersion && step.event !== 'delivered' ? [`mapping ${step.mappingVersion}`] : [])];
  for (const f of facts) out.push(...wrap(f, indent, `${indent}  `));
  return out;
}

/** The steps alone: `history (audit log, oldest first)` and one block per step. */
export function formatHistory(s: SubmissionStory): string {
  const lines = ['history (audit log, oldest first)'];
  if (!s.steps.length) lines.push('  no audit entry names this submission');
  for (const step of s.steps) lines.push(...stepLines(step));
  return `${lines.join('\n')}\n`;
}

/** Lines under the mapping version and under the record-as-sent hash: which command shows more. */
export interface StoryHints {
  mapping?: string[];
  sent?: string[];
}

/** The story as text: the header (with `hints`), then the history (see `formatHistory`). */
export function formatStory(s: SubmissionStory, hints: StoryHints = {}): string {
  return `${header(s, hints).join('\n')}\n\n${formatHistory(s)}`;
}

/** A case's state in words, for `rekey show` of a pipeline with routes. */
export const CASE_STATE_TEXT: Record<CaseState, string> = {
  'not-routed': 'not routed: no route applies to it (rekey dlq retry sends it to be routed again)',
  'needs-attention': 'needs attention: a route rejected it or gave up; the others go on on their own',
  complete: 'complete: every route told delivered it (or an operator discarded it there)',
  closed: 'closed: operators discarded it in every route told, undelivered',
  'in-progress': 'in progress: a route is still on its way',
};

/**
 * A case as text (`rekey show` of a pipeline with routes): its state, one
 * line per route told (state, attempts, legacy reference) with its last
 * error's code and reason wrapped beneath, the routes not told, and how to
 * see a route's whole story (`reference` as a shell word).
 */
export function formatCase(c: Case, reference: string): string {
  const out: string[] = [`${c.pipeline}: ${c.key}`];
  const row = (label: string, value: string) => out.push(...wrap(value, `  ${label.padEnd(16)}`, ' '.repeat(18)));
  row('form reference', formReference(c.key));
  row('case', CASE_STATE_TEXT[c.state]);
  if (c.routes.length) {
    out.push('  routes');
    const table = formatTable(['    ROUTE', 'STATE', 'ATTEMPTS', 'LEGACY REF'], c.routes.map((r) => [`    ${r.route}`, r.state, r.attempts, r.legacyRef ?? '-'])).trimEnd().split('\n');
    out.push(table[0]!);
    c.routes.forEach((r, i) => {
      out.push(table[i + 1]!);
      if (r.error) out.push(...wrap(`${r.error.code}${r.error.field ? ` on ${r.error.field}` : ''}: ${r.error.message}`, '      ', '        '));
    });
  }
  if (c.notTold.length) row('not told', `${c.notTold.join(', ')} (the route's condition did not hold)`);
  if (c.routes.length) row('a route', `its whole story: rekey show ${c.pipeline}~ROUTE ${reference}`);
  return `${out.join('\n')}\n`;
}
