/**
 * The `date` transform: reads dates written in given formats, ISO 8601 text,
 * `{day, month, year}` objects or `Date` instances, checks they are real, and
 * writes them in an output format. Instants (ISO text with an offset, `Date`)
 * are converted to `zone` first; calendar dates are never shifted.
 */
import { Args } from './args.js';
import { MONTH_NAMES, isRealWall, type Wall } from './date.calendar.js';
import { compileFormatter, compileParser, type ParseOutcome } from './date.format.js';
import { ZoneClock, parseIso } from './date.zone.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { kindOf, quote } from './values.js';

const ISO_DATE = compileFormatter('yyyy-MM-dd');
const ISO_DATE_TIME = compileFormatter("yyyy-MM-dd'T'HH:mm:ss.SSSZZ");
const DEFAULT_FROM = ['iso', 'd/M/yyyy'];

function fail(message: string): never {
  throw new TransformFailure('date', message);
}

function partNumber(v: unknown, name: string, digits: RegExp): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (digits.test(s)) return Number(s);
  if (name === 'month') {
    const i = MONTH_NAMES.findIndex((m) => m.toLowerCase() === s.toLowerCase() || m.slice(0, 3).toLowerCase() === s.toLowerCase());
    return i < 0 ? undefined : i + 1;
  }
  return undefined;
}

function readParts(o: Record<string, unknown>): Wall {
  if (!('day' in o) || !('month' in o) || !('year' in o)) fail('expected a date as text or as an object with day, month and year');
  const day = partNumber(o.day, 'day', /^\d{1,2}$/);
  const month = partNumber(o.month, 'month', /^\d{1,2}$/);
  const year = partNumber(o.year, 'year', /^\d{4}$/);
  const shown = quote(`${String(o.day)}/${String(o.month)}/${String(o.year)}`);
  if (year !== undefined && (year < 1000 || year > 9999)) fail(`${shown} is not a date: the year must have four digits`);
  if (day === undefined || month === undefined || year === undefined) fail(`${shown} is not a date: day, month and year must be numbers`);
  const w: Wall = { year, month, day, hour: 0, minute: 0, second: 0, millisecond: 0, time: false, offset: undefined };
  if (!isRealWall(w)) fail(`${shown} is not a real date`);
  return w;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `date`: `from` is a format (luxon tokens: `dd/MM/yyyy`), `iso`, `parts`, or
 * a list tried in order (default `[iso, d/M/yyyy]`); objects with day, month
 * and year are always accepted. `to` is a format or `iso` (default:
 * `yyyy-MM-dd`, or a full ISO timestamp with offset when the value has a
 * time). `zone` (default Europe/London) is where instants are converted to.
 * Failure rule: `date`.
 */
export const date: TransformDef = {
  name: 'date',
  doc: 'Reads a date in one of the `from` formats (luxon tokens such as `dd/MM/yyyy`, or `iso`; default `[iso, d/M/yyyy]`; `{day, month, year}` objects always), rejects impossible dates (30/02/2023), and writes it in the `to` format (default `iso`); ISO timestamps with an offset or Z are converted to `zone` (default Europe/London) first.',
  args: {
    oneOf: [
      { type: 'string', minLength: 1, description: 'the output format, as `to`' },
      {
        type: 'object',
        properties: {
          from: {
            oneOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
            default: DEFAULT_FROM,
            description: 'input format, `iso` or `parts`, or a list of them tried in order; `dd` needs two digits, `d` one or two, `yyyy` four, `yy` two',
          },
          to: { type: 'string', minLength: 1, default: 'iso', description: 'output format (luxon tokens, text in single quotes) or `iso`' },
          zone: { type: 'string', minLength: 1, default: 'Europe/London', description: 'IANA time zone that timestamps are converted to' },
          centuryPivot: {
            type: 'integer',
            minimum: 0,
            maximum: 100,
            default: 50,
            description: 'with `yy`, two-digit years below this are 20xx, the others 19xx',
          },
        },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: { from: 'dd/MM/yyyy', to: 'dd.MM.yyyy' },
  create(args) {
    const a = Args.of(args, ['from', 'to', 'zone', 'centuryPivot'], 'to');
    const pivot = a.int('centuryPivot', { min: 0, max: 100, dflt: 50 });
    const clock = (() => {
      try {
        return new ZoneClock(a.string('zone', 'Europe/London'));
      } catch (e) {
        return a.failWith('zone', e);
      }
    })();
    const from = a.stringList('from', DEFAULT_FROM);
    const readers: ((text: string) => ParseOutcome)[] = [];
    for (const f of from) {
      if (f === 'parts') continue;
      if (f === 'iso') readers.push((s) => parseIso(s, clock));
      else {
        try {
          readers.push(compileParser(f, pivot));
        } catch (e) {
          a.failWith('from', e);
        }
      }
    }
    const to = a.string('to', 'iso');
    let formatter: ReturnType<typeof compileFormatter> | undefined;
    try {
      formatter = to === 'iso' ? undefined : compileFormatter(to);
    } catch (e) {
      a.failWith('to', e);
    }
    const expected = from.map((f) => (f === 'iso' ? 'ISO 8601' : f === 'parts' ? 'day, month and year' : f)).join(' or ');

    const readText = (text: string): Wall => {
      const s = text.trim();
      let impossible = false;
      for (const read of readers) {
        const w = read(s);
        if (w === 'invalid') impossible = true;
        else if (w !== undefined) return w;
      }
      return fail(impossible ? `${quote(text)} is not a real date` : `${quote(text)} is not a date in the expected format (${expected})`);
    };

    return (v) => {
      let w: Wall;
      if (typeof v === 'string') w = readText(v);
      else if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) fail('expected a date but got an invalid Date');
        w = clock.wallAt(v.getTime());
      } else if (isPlainObject(v)) w = readParts(v);
      else return fail(`expected a date but got ${kindOf(v)}`);
      const f = formatter ?? (w.time ? ISO_DATE_TIME : ISO_DATE);
      return f.format(w, f.needsOffset ? (w.offset ?? clock.offsetOfWall(w)) : 0);
    };
  },
};

/** The date transforms, in reference order. */
export const DATE_TRANSFORMS: readonly TransformDef[] = [date];
