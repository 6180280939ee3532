/**
 * A precise check of cron expressions, so that a bad schedule is reported
 * at the part that is wrong (`cron hour 24 is out of range 0-23`) rather
 * than as "invalid". Pure. Accepts what the scheduler (node-cron) runs:
 * five fields, or six with seconds first; `*`, lists, ranges, steps,
 * month and weekday names, `?` in the day fields, and @-macros.
 */
import { validate as nodeCronValidate } from 'node-cron';
import { suggest } from '../../lib/yaml-source.js';

/** What is wrong with an expression, and where (0-based offset into it). */
export interface CronProblem {
  offset: number;
  message: string;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  first?: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FULL_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FULL_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, first: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, first: 0 },
];
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

class Bad extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function valueOf(text: string, at: number, spec: FieldSpec): number {
  let n: number | undefined;
  if (/^\d+$/.test(text)) n = Number(text);
  else if (spec.names) {
    const lower = text.toLowerCase();
    const full = spec.names === MONTHS ? FULL_MONTHS : FULL_DAYS;
    const i = spec.names.indexOf(lower) >= 0 ? spec.names.indexOf(lower) : full.indexOf(lower);
    if (i >= 0) n = i + (spec.first ?? 0);
    else {
      const range = `${spec.names[0]}-${spec.names[spec.names.length - 1]}`;
      throw new Bad(at, `cron ${spec.name} "${text}" is not a number or a name (${range})${suggest(lower, spec.names)}`);
    }
  } else throw new Bad(at, `cron ${spec.name} "${text}" is not a number`);
  if (n < spec.min || n > spec.max) throw new Bad(at, `cron ${spec.name} ${text} is out of range ${spec.min}-${spec.max}`);
  return n;
}

/** The values one field allows, or undefined for every value (`*`, `?`). */
function readField(text: string, at: number, spec: FieldSpec): Set<number> | undefined {
  const values = new Set<number>();
  let every = false;
  let pos = 0;
  for (const part of text.split(',')) {
    const partAt = at + pos;
    pos += part.length + 1;
    if (part === '') throw new Bad(partAt, `cron ${spec.name} has an empty item in its list`);
    const slash = part.indexOf('/');
    const range = slash < 0 ? part : part.slice(0, slash);
    let step = 1;
    if (slash >= 0) {
      const s = part.slice(slash + 1);
      if (!/^\d+$/.test(s) || Number(s) < 1) throw new Bad(partAt + slash, `cron ${spec.name} step "/${s}" must be a whole number from 1`);
      step = Number(s);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || (range === '?' && spec.name.startsWith('day'))) {
      if (step === 1) every = true;
      [lo, hi] = [spec.min, spec.max];
    } else {
      const dash = range.indexOf('-');
      if (dash < 0) {
        lo = hi = valueOf(range, partAt, spec);
        if (slash >= 0) throw new Bad(partAt, `cron ${spec.name} "${part}": a step needs a range or *, e.g. ${range}-${spec.max}/${step}`);
      } else {
        lo = valueOf(range.slice(0, dash), partAt, spec);
        hi = valueOf(range.slice(dash + 1), partAt + dash + 1, spec);
        if (lo > hi) {
          const split = `${range.slice(0, dash)}-${spec.max},${spec.min}-${range.slice(dash + 1)}`;
          throw new Bad(partAt, `cron ${spec.name} range ${range} runs backwards; write it as ${split}`);
        }
      }
    }
    for (let v = lo; v <= hi; v += step) values.add(spec.name === 'day of week' && v === 7 ? 0 : v);
  }
  return every ? undefined : values;
}

/**
 * The first problem of cron expression `expr`, or undefined when the
 * scheduler can run it. Also refuses a day-of-month/month pair that never
 * occurs (`0 0 31 2 *`).
 */
export function checkCron(expr: string): CronProblem | undefined {
  const tokens = [...expr.matchAll(/\S+/g)].map((m) => ({ text: m[0], at: m.index }));
  const first = tokens[0];
  if (tokens.length === 1 && first && first.text.startsWith('@')) {
    if (MACROS.includes(first.text)) return undefined;
    return { offset: first.at, message: `unknown cron macro "${first.text}"${suggest(first.text, MACROS)}` };
  }
  if (tokens.length !== 5 && tokens.length !== 6) {
    return { offset: 0, message: `cron needs 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got ${tokens.length}` };
  }
  const specs = tokens.length === 6 ? FIELDS : FIELDS.slice(1);
  const sets: (Set<number> | undefined)[] = [];
  try {
    tokens.forEach((t, i) => sets.push(readField(t.text, t.at, specs[i] as FieldSpec)));
  } catch (e) {
    if (e instanceof Bad) return { offset: e.offset, message: e.message };
    throw e;
  }
  const n = sets.length;
  const [dom, month, dow] = [sets[n - 3], sets[n - 2], sets[n - 1]];
  if (dom && !dow) {
    const months = month ? [...month] : [1];
    const possible = [...dom].some((d) => months.some((m) => d <= (DAYS_IN_MONTH[m - 1] as number)));
    if (!possible) {
      const at = (tokens[n - 3] as { at: number }).at;
      return { offset: at, message: `cron never runs: no month it names has day ${Math.min(...dom)}` };
    }
  }
  if (!nodeCronValidate(expr)) return { offset: 0, message: `cron "${expr}" is not accepted by the scheduler` };
  return undefined;
}
