/**
 * The benchmark's baseline: bench/mapping-12.yaml written by hand the way a
 * careful developer would, with the same results and errors.
 */

interface Answer {
  question_id?: string;
  [k: string]: unknown;
}
interface Sub {
  submission_reference?: string;
  submitted_at?: string;
  language?: string;
  answers?: Answer[];
}
/** A record and its errors, as the compiled mapping gives them. */
export interface HandResult {
  record: Record<string, unknown>;
  errors: { field: string; rule: string }[];
}

const TITLES: Record<string, string> = { mr: 'MR', mrs: 'MRS', miss: 'MISS', ms: 'MS', dr: 'DR' };
const DATE = /^(\d{2})\/(\d{2})\/(\d{4})$/;
const POSTCODE = /^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$/;
const LICENCE = /^[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z0-9]{2}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function answer(s: Sub, id: string): Answer | undefined {
  const a = s.answers;
  if (!a) return undefined;
  for (let i = 0; i < a.length; i++) if (a[i]!.question_id === id) return a[i];
  return undefined;
}

function text(a: Answer | undefined, part: string): string | undefined {
  const v = a?.[part];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function ukDate(v: string): string | undefined {
  const m = DATE.exec(v);
  if (!m) return undefined;
  const d = +m[1]!;
  const mo = +m[2]!;
  const y = +m[3]!;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && leap ? 29 : DAYS[mo - 1]!)) return undefined;
  return `${m[1]}.${m[2]}.${m[3]}`;
}

function lastSunday(year: number, month: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0));
  return Date.UTC(year, month, last.getUTCDate() - last.getUTCDay(), 1);
}

const p2 = (n: number) => (n < 10 ? '0' : '') + n;

function londonStamp(iso: string): string | undefined {
  const m = ISO.exec(iso);
  if (!m) return undefined;
  let t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const y = +m[1]!;
  if (t >= lastSunday(y, 2) && t < lastSunday(y, 9)) t += 3_600_000;
  const d = new Date(t);
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}`;
}

/** Maps one submission exactly as bench/mapping-12.yaml does. */
export function mapByHand(s: Sub): HandResult {
  const errors: HandResult['errors'] = [];
  const nm = answer(s, 'nm');
  const addr = answer(s, 'addr');
  const r: Record<string, unknown> = {};
  r.REF = s.submission_reference || undefined;
  if (r.REF === undefined) errors.push({ field: 'REF', rule: 'required' });
  const last = text(nm, 'last_name')?.trim().toUpperCase().slice(0, 35);
  r.SURNAME = last || undefined;
  if (!last) errors.push({ field: 'SURNAME', rule: 'required' });
  const first = text(nm, 'first_name')?.replace(/\s+/g, ' ').trim().toUpperCase().slice(0, 35);
  r.FORENAMES = first || undefined;
  const title = text(nm, 'title');
  r.TITLE = title === undefined ? undefined : (TITLES[title.trim().toLowerCase()] ?? 'OTH');
  const dob = text(answer(s, 'dob'), 'answer_text');
  r.DOB = dob === undefined ? undefined : ukDate(dob);
  if (dob === undefined) errors.push({ field: 'DOB', rule: 'required' });
  else if (r.DOB === undefined) errors.push({ field: 'DOB', rule: 'date' });
  const lic = text(answer(s, 'lic'), 'answer_text')?.replace(/\s+/g, '').toUpperCase();
  r.LICENCE = lic || undefined;
  if (lic && !LICENCE.test(lic)) errors.push({ field: 'LICENCE', rule: 'pattern' });
  r.ADDR1 = text(addr, 'address1')?.trim().toUpperCase().slice(0, 30) || undefined;
  r.TOWN = text(addr, 'town_or_city')?.trim().toUpperCase().slice(0, 30) || undefined;
  const pc = text(addr, 'postcode')?.replace(/\s+/g, '').toUpperCase();
  const pm = pc ? POSTCODE.exec(pc) : null;
  r.POSTCODE = pm ? `${pm[1]} ${pm[2]}` : undefined;
  if (!pc) errors.push({ field: 'POSTCODE', rule: 'required' });
  else if (!pm) errors.push({ field: 'POSTCODE', rule: 'postcode' });
  const moved = text(answer(s, 'moved'), 'answer_text');
  r.MOVED = moved === undefined ? undefined : ukDate(moved);
  if (moved !== undefined && r.MOVED === undefined) errors.push({ field: 'MOVED', rule: 'date' });
  r.WELSH = s.language === 'cy' ? 'Y' : 'N';
  r.RECEIVED = s.submitted_at ? londonStamp(s.submitted_at) : undefined;
  return { record: r, errors };
}
