/**
 * GOV.UK Forms CSV exports turned into the GOV.UK Forms JSON submission
 * shape (version 1), so one mapping reads both. Pure: no I/O, no clock.
 *
 * Header rules: `Reference` and `Submitted at` are required; a last column
 * named `Language` becomes `language`. Every other column is a question. A
 * column `Question text - Part label` is part of a multi-part answer only
 * when the text after the LAST " - " is a known part label (Title, First
 * name, Middle names, Last name, Full name, Address line 1, Address line 2,
 * Town or city, County, Postcode, Street address, Country; any case, an
 * "(optional)" suffix ignored), or when it is an unknown label next to a
 * known one with the same question text (kept under a slug key). Adjacent
 * part columns of one question form one answer; a repeated part label starts
 * a new answer, so two questions with the same text stay apart. Repeating
 * answers are read both as `Answer: x` lines in one cell and as the columns
 * GOV.UK Forms writes per answer (`... - Answer 2`); either gives arrays and
 * `can_have_multiple_answers: true`.
 */
import { DateTime } from 'luxon';

const PART_KEYS: Readonly<Record<string, string>> = {
  title: 'title',
  'first name': 'first_name',
  'middle names': 'middle_names',
  'middle name': 'middle_names',
  'last name': 'last_name',
  'full name': 'full_name',
  'address line 1': 'address1',
  'address line 2': 'address2',
  'town or city': 'town_or_city',
  county: 'county',
  postcode: 'postcode',
  'street address': 'street_address',
  country: 'country',
  teitl: 'title',
  'enw cyntaf': 'first_name',
  'enwau canol': 'middle_names',
  'enw olaf': 'last_name',
  'enw llawn': 'full_name',
  'llinell cyfeiriad 1': 'address1',
  'llinell cyfeiriad 2': 'address2',
  'tref neu ddinas': 'town_or_city',
  sir: 'county',
  'cod post': 'postcode',
  'cyfeiriad stryd': 'street_address',
  gwlad: 'country',
};
const NAME_KEYS = new Set(['title', 'first_name', 'middle_names', 'last_name', 'full_name']);
const SEPARATOR = ' - ';
const REPEAT_COLUMN = /^(.*) - Answer (\d+)$/s;
const ANSWER_LINE = /^Answer(?: \d+)?: ?/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2})?)?$/i;

interface Column {
  index: number;
  question: string;
  part?: string;
  repeat?: number;
}

interface AnswerPlan {
  question: string;
  multiPart: boolean;
  columns: Column[];
}

/** How to read the rows of one CSV file, built once from its header. */
export interface GovukFormsPlan {
  reference: number;
  submittedAt: number;
  language?: number;
  answers: AnswerPlan[];
}

function labelKey(label: string): string | undefined {
  const normal = label.trim().toLowerCase().replace(/\s+/g, ' ').replace(/ \((optional|dewisol)\)$/, '');
  return PART_KEYS[normal];
}

function slug(label: string): string {
  return label.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'part';
}

function splitColumns(header: string[], skip: Set<number>): Column[] {
  const cols = header.map((name, index) => {
    const rep = REPEAT_COLUMN.exec(name);
    const base = rep ? (rep[1] as string) : name;
    const cut = base.lastIndexOf(SEPARATOR);
    return {
      index,
      base,
      repeat: rep ? Number(rep[2]) : undefined,
      prefix: cut > 0 ? base.slice(0, cut) : undefined,
      label: cut > 0 ? base.slice(cut + SEPARATOR.length) : undefined,
    };
  });
  const out: Column[] = [];
  for (let i = 0; i < cols.length; ) {
    const first = cols[i]!;
    let j = i + 1;
    if (first.prefix !== undefined) while (j < cols.length && cols[j]!.prefix === first.prefix) j++;
    const run = cols.slice(i, j);
    const split = first.prefix !== undefined && run.some((c) => labelKey(c.label!) !== undefined);
    for (const c of run) {
      if (skip.has(c.index)) continue;
      const col: Column = split
        ? { index: c.index, question: c.prefix!, part: labelKey(c.label!) ?? slug(c.label!) }
        : { index: c.index, question: c.base };
      if (c.repeat !== undefined) col.repeat = c.repeat;
      out.push(col);
    }
    i = j;
  }
  return out;
}

function groupAnswers(columns: Column[]): AnswerPlan[] {
  const plans: AnswerPlan[] = [];
  let current: (AnswerPlan & { slots: Set<string> }) | undefined;
  for (const col of columns) {
    const slot = `${col.part ?? ''}\u0000${col.repeat ?? 0}`;
    const multiPart = col.part !== undefined;
    if (!current || current.question !== col.question || current.multiPart !== multiPart || current.slots.has(slot)) {
      current = { question: col.question, multiPart, columns: [], slots: new Set() };
      plans.push(current);
    }
    current.slots.add(slot);
    current.columns.push(col);
  }
  return plans.map(({ question, multiPart, columns: cols }) => ({ question, multiPart, columns: cols }));
}

/**
 * Reads a GOV.UK Forms CSV header (names already trimmed). Returns the plan
 * for its rows, or the reason it is not such an export.
 */
export function govukFormsPlan(header: string[]): GovukFormsPlan | { error: string } {
  const reference = header.indexOf('Reference');
  const submittedAt = header.indexOf('Submitted at');
  const missing = [reference < 0 && 'Reference', submittedAt < 0 && 'Submitted at'].filter(Boolean);
  if (missing.length > 0) return { error: `not a GOV.UK Forms CSV export: no ${missing.join(' or ')} column` };
  const skip = new Set([reference, submittedAt]);
  const last = header.length - 1;
  const language = header[last] === 'Language' && !skip.has(last) ? last : undefined;
  if (language !== undefined) skip.add(language);
  const plan: GovukFormsPlan = { reference, submittedAt, answers: groupAnswers(splitColumns(header, skip)) };
  if (language !== undefined) plan.language = language;
  return plan;
}

/**
 * `Submitted at` as UTC ISO 8601 with milliseconds, or undefined when it is
 * not a date and time. An offset or `Z` is honoured; without one (a file
 * re-saved by a spreadsheet) the time is London local time, GMT or BST as
 * the date falls. Accepts ISO 8601 (`T` or a space) and `dd/MM/yyyy HH:mm[:ss]`.
 */
export function londonTimeToUtc(text: string): string | undefined {
  const s = text.trim();
  const iso = ISO_TIME.exec(s);
  if (iso && (iso[8] || iso[9])) return withOffsetToUtc(iso);
  let t: DateTime | undefined;
  if (iso) t = DateTime.fromISO(s.replace(' ', 'T'), { zone: 'Europe/London' });
  else {
    for (const format of ['dd/MM/yyyy HH:mm:ss', 'dd/MM/yyyy HH:mm']) {
      t = DateTime.fromFormat(s, format, { zone: 'Europe/London' });
      if (t.isValid) break;
    }
  }
  return t?.isValid ? (t.toUTC().toISO() ?? undefined) : undefined;
}

function withOffsetToUtc(m: RegExpExecArray): string | undefined {
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const sec = Number(m[6] ?? 0);
  const ms = Math.floor(Number(`0.${m[7] ?? 0}`) * 1000);
  const local = Date.UTC(y!, mo! - 1, d!, h!, mi!, sec, ms);
  const check = new Date(local);
  if (check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d! || h! > 23 || mi! > 59 || sec > 59) return undefined;
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11] ?? 0));
  return new Date(local - offset * 60_000).toISOString();
}

function answerLines(cell: string): string[] | undefined {
  if (!ANSWER_LINE.test(cell)) return undefined;
  const answers: string[] = [];
  for (const line of cell.split(/\r?\n/)) {
    if (ANSWER_LINE.test(line)) answers.push(line.replace(ANSWER_LINE, ''));
    else if (answers.length > 0) answers[answers.length - 1] += `\n${line}`;
  }
  return answers;
}

function cellValues(cols: Column[], row: string[]): { values: string[]; repeating: boolean } {
  if (cols.some((c) => c.repeat !== undefined)) {
    const values: string[] = [];
    for (const c of cols) values[(c.repeat ?? 1) - 1] = row[c.index] ?? '';
    return { values: Array.from(values, (v) => v ?? ''), repeating: true };
  }
  const cell = row[cols[0]!.index] ?? '';
  const list = answerLines(cell);
  return list ? { values: list, repeating: true } : { values: [cell], repeating: false };
}

function joinParts(parts: Array<[string, string]>): string {
  const separator = parts.every(([key]) => NAME_KEYS.has(key)) ? ' ' : ', ';
  return parts.map(([, v]) => v).filter((v) => v.trim() !== '').join(separator);
}

function toAnswer(plan: AnswerPlan, row: string[]): Record<string, unknown> {
  const keys = plan.multiPart ? [...new Set(plan.columns.map((c) => c.part as string))] : [''];
  const cells = keys.map((k) => cellValues(plan.columns.filter((c) => (c.part ?? '') === k), row));
  const answer: Record<string, unknown> = { question_text: plan.question };
  const text = (i: number): string =>
    plan.multiPart ? joinParts(keys.map((k, j) => [k, cells[j]!.values[i] ?? ''])) : (cells[0]!.values[i] ?? '');
  if (!cells.some((c) => c.repeating)) {
    answer.answer_text = text(0);
    if (plan.multiPart) keys.forEach((k, j) => (answer[k] = cells[j]!.values[0]));
    return answer;
  }
  let count = Math.max(...cells.map((c) => c.values.length));
  while (count > 0 && cells.every((c) => (c.values[count - 1] ?? '') === '')) count--;
  const indexes = Array.from({ length: count }, (_, i) => i);
  answer.answer_text = indexes.map(text);
  if (plan.multiPart) keys.forEach((k, j) => (answer[k] = indexes.map((i) => cells[j]!.values[i] ?? '')));
  answer.can_have_multiple_answers = true;
  return answer;
}

/**
 * One CSV row (fields in header order) as a GOV.UK Forms JSON submission:
 * `{form_name?, submission_reference, submitted_at, language?, answers[]}`
 * with one answer per question, in column order, each
 * `{question_text, answer_text, ...parts}`. No `question_id`: the export
 * has none (mappings resolve question texts). Multi-part `answer_text` joins
 * the non-empty parts with a space for names and ", " otherwise, as GOV.UK
 * Forms does. Returns the reason instead when `Submitted at` is not a time.
 */
export function govukFormsSubmission(plan: GovukFormsPlan, row: string[], formName?: string): { value: Record<string, unknown> } | { error: string } {
  const submittedAt = londonTimeToUtc(row[plan.submittedAt] ?? '');
  if (submittedAt === undefined) {
    return { error: '"Submitted at" is not a date and time like 2022-09-14T08:00:00+01:00' };
  }
  const value: Record<string, unknown> = {};
  if (formName !== undefined) value.form_name = formName;
  value.submission_reference = row[plan.reference] ?? '';
  value.submitted_at = submittedAt;
  const language = plan.language === undefined ? '' : (row[plan.language] ?? '');
  if (language !== '') value.language = language;
  value.answers = plan.answers.map((a) => toAnswer(a, row));
  return { value };
}
