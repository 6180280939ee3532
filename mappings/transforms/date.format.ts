/**
 * Date format strings in luxon's token syntax (`dd/MM/yyyy`, `yyyyMMdd'T'HHmm`),
 * compiled once into a parser (a regular expression plus field setters) and a
 * formatter (a list of parts). Parsing is strict: `dd` needs two digits, `d`
 * one or two, `yyyy` four; the result must be a real date.
 */
import { MONTH_NAMES, WEEKDAY_NAMES, isRealWall, isoWeekday, type Wall } from './date.calendar.js';

type Token = { literal: string } | { field: string };

const PARSE_TOKENS: Record<string, string> = {
  d: '(\\d{1,2})', dd: '(\\d{2})', M: '(\\d{1,2})', MM: '(\\d{2})', MMM: '([A-Za-z]{3,4})', MMMM: '([A-Za-z]{3,9})',
  yy: '(\\d{2})', yyyy: '(\\d{4})', H: '(\\d{1,2})', HH: '(\\d{2})', h: '(\\d{1,2})', hh: '(\\d{2})', a: '([AaPp][Mm])',
  m: '(\\d{1,2})', mm: '(\\d{2})', s: '(\\d{1,2})', ss: '(\\d{2})', S: '(\\d{1,3})', SSS: '(\\d{3})',
  EEE: '([A-Za-z]{3})', EEEE: '([A-Za-z]{6,9})',
};

function tokenize(format: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < format.length) {
    const c = format.charAt(i);
    if (c === "'") {
      const end = format.indexOf("'", i + 1);
      if (end < 0) throw new Error(`date format "${format}" has an unclosed quote`);
      tokens.push({ literal: end === i + 1 ? "'" : format.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (format.charAt(j) === c) j++;
      tokens.push({ field: format.slice(i, j) });
      i = j;
    } else {
      tokens.push({ literal: c });
      i++;
    }
  }
  return tokens;
}

function unknownToken(format: string, token: string, allowed: readonly string[]): Error {
  const hint = /^[DY]+$/.test(token) ? ' (formats use luxon tokens: dd for the day, yyyy for the year)' : '';
  return new Error(`unknown date format token "${token}" in "${format}"${hint}; use ${allowed.join(', ')}, or quote literal text like 'T'`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function nameIndex(names: readonly string[], text: string): number {
  const t = text.toLowerCase();
  return names.findIndex((n) => n.toLowerCase() === t || (t.length >= 3 && n.slice(0, t.length).toLowerCase() === t && (t.length === 3 || t === 'sept')));
}

/** What a parser makes of a string: a real date, `'invalid'` (right shape, impossible date) or `undefined` (wrong shape). */
export type ParseOutcome = Wall | 'invalid' | undefined;

/**
 * Compiles `format` into a strict parser. Two-digit years (`yy`) below
 * `pivot` are in the 2000s, others in the 1900s. Throws `Error` for unknown
 * tokens and for formats without a day, month and year.
 */
export function compileParser(format: string, pivot: number): (text: string) => ParseOutcome {
  const tokens = tokenize(format);
  const fields: string[] = [];
  let source = '^';
  for (const t of tokens) {
    if ('literal' in t) {
      source += escapeRegex(t.literal);
      continue;
    }
    const group = PARSE_TOKENS[t.field];
    if (group === undefined) throw unknownToken(format, t.field, Object.keys(PARSE_TOKENS));
    source += group;
    fields.push(t.field);
  }
  const has = (...names: string[]): boolean => names.some((n) => fields.includes(n));
  if (!has('d', 'dd') || !has('M', 'MM', 'MMM', 'MMMM') || !has('yy', 'yyyy')) {
    throw new Error(`date format "${format}" must contain a day (d or dd), a month (M, MM, MMM or MMMM) and a year (yyyy or yy)`);
  }
  if (has('h', 'hh') !== has('a')) throw new Error(`date format "${format}" uses a 12-hour clock: h or hh needs a (AM/PM), and a needs h or hh`);
  const re = new RegExp(source + '$');
  const time = has('H', 'HH', 'h', 'hh');
  return (text) => {
    const m = re.exec(text);
    if (m === null) return undefined;
    const w: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millisecond: 0, time, offset: undefined };
    let pm: boolean | undefined;
    let weekday = -1;
    for (let i = 0; i < fields.length; i++) {
      const s = m[i + 1] ?? '';
      switch (fields[i]) {
        case 'd': case 'dd': w.day = Number(s); break;
        case 'M': case 'MM': w.month = Number(s); break;
        case 'MMM': case 'MMMM': w.month = nameIndex(MONTH_NAMES, s) + 1; break;
        case 'yyyy': w.year = Number(s); break;
        case 'yy': w.year = Number(s) + (Number(s) < pivot ? 2000 : 1900); break;
        case 'H': case 'HH': w.hour = Number(s); break;
        case 'h': case 'hh': w.hour = Number(s) === 12 ? 0 : Number(s) >= 1 && Number(s) < 12 ? Number(s) : 99; break;
        case 'a': pm = s.toLowerCase() === 'pm'; break;
        case 'm': case 'mm': w.minute = Number(s); break;
        case 's': case 'ss': w.second = Number(s); break;
        case 'S': case 'SSS': w.millisecond = Number(s); break;
        case 'EEE': case 'EEEE': weekday = nameIndex(WEEKDAY_NAMES, s) + 1; break;
      }
    }
    if (pm === true) w.hour += 12;
    if (!isRealWall(w)) return 'invalid';
    if (weekday !== -1 && weekday !== isoWeekday(w.year, w.month, w.day)) return 'invalid';
    return w;
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function offsetText(offset: number, style: string): string {
  const sign = offset < 0 ? '-' : '+';
  const h = Math.floor(Math.abs(offset) / 60);
  const m = Math.abs(offset) % 60;
  if (style === 'Z') return sign + h + (m === 0 ? '' : ':' + pad(m, 2));
  return sign + pad(h, 2) + (style === 'ZZ' ? ':' : '') + pad(m, 2);
}

const weekdayName = (w: Wall): string => WEEKDAY_NAMES[isoWeekday(w.year, w.month, w.day) - 1] ?? '';
const monthName = (w: Wall): string => MONTH_NAMES[w.month - 1] ?? '';

const FORMATTERS: Record<string, (w: Wall, offset: number) => string> = {
  d: (w) => String(w.day),
  dd: (w) => pad(w.day, 2),
  M: (w) => String(w.month),
  MM: (w) => pad(w.month, 2),
  MMM: (w) => monthName(w).slice(0, 3),
  MMMM: monthName,
  y: (w) => String(w.year),
  yy: (w) => pad(w.year % 100, 2),
  yyyy: (w) => pad(w.year, 4),
  H: (w) => String(w.hour),
  HH: (w) => pad(w.hour, 2),
  h: (w) => String(w.hour % 12 || 12),
  hh: (w) => pad(w.hour % 12 || 12, 2),
  a: (w) => (w.hour < 12 ? 'AM' : 'PM'),
  m: (w) => String(w.minute),
  mm: (w) => pad(w.minute, 2),
  s: (w) => String(w.second),
  ss: (w) => pad(w.second, 2),
  S: (w) => String(w.millisecond),
  SSS: (w) => pad(w.millisecond, 3),
  EEE: (w) => weekdayName(w).slice(0, 3),
  EEEE: weekdayName,
  Z: (_w, offset) => offsetText(offset, 'Z'),
  ZZ: (_w, offset) => offsetText(offset, 'ZZ'),
  ZZZ: (_w, offset) => offsetText(offset, 'ZZZ'),
};

/** A compiled output format. `needsOffset` says whether `format` uses the zone offset (Z, ZZ, ZZZ). */
export interface DateFormatter {
  needsOffset: boolean;
  format(w: Wall, offset: number): string;
}

/** Compiles an output format; throws `Error` for unknown tokens. */
export function compileFormatter(format: string): DateFormatter {
  const tokens = tokenize(format);
  const parts = tokens.map((t): ((w: Wall, offset: number) => string) => {
    if ('literal' in t) return () => t.literal;
    const f = FORMATTERS[t.field];
    if (f === undefined) throw unknownToken(format, t.field, Object.keys(FORMATTERS));
    return f;
  });
  return {
    needsOffset: tokens.some((t) => 'field' in t && t.field.startsWith('Z')),
    format(w, offset) {
      let out = '';
      for (const part of parts) out += part(w, offset);
      return out;
    },
  };
}
