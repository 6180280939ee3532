/**
 * Time zones and ISO 8601 text for the date transforms. A `ZoneClock` turns
 * instants into wall times in one IANA zone through luxon's zone data, with a
 * cache of offsets per UTC day (a day whose two ends agree has no transition; a
 * day with one is answered exactly), so that the per-record cost is a map lookup.
 */
import { DateTime, IANAZone } from 'luxon';
import { isRealWall, utcMillisToWall, wallToUtcMillis, type Wall } from './date.calendar.js';

const DAY = 86_400_000;
const CACHE_LIMIT = 40_000;

/** Wall times of instants in one zone. Its cache only memoises zone data, so it is safe to share. */
export class ZoneClock {
  private readonly zone: IANAZone;
  private readonly offsets = new Map<number, number>();

  /** Throws `Error` when `name` is not an IANA zone name (`Europe/London`, `UTC`). */
  constructor(readonly name: string) {
    if (!IANAZone.isValidZone(name)) throw new Error(`unknown time zone "${name}" (use an IANA name such as Europe/London or UTC)`);
    this.zone = IANAZone.create(name);
  }

  /** Offset from UTC in minutes at `ms` since the epoch. */
  offsetAt(ms: number): number {
    const bucket = Math.floor(ms / DAY);
    const cached = this.offsets.get(bucket);
    if (cached !== undefined) return cached;
    const start = this.zone.offset(bucket * DAY);
    if (this.zone.offset(bucket * DAY + DAY - 1) !== start) return this.zone.offset(ms);
    if (this.offsets.size >= CACHE_LIMIT) this.offsets.clear();
    this.offsets.set(bucket, start);
    return start;
  }

  /** The wall time in this zone of the instant `ms` since the epoch. */
  wallAt(ms: number): Wall {
    return utcMillisToWall(ms, this.offsetAt(ms));
  }

  /** The offset (minutes) this zone has at a wall time given without one. */
  offsetOfWall(w: Wall): number {
    return DateTime.fromObject(
      { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second, millisecond: w.millisecond },
      { zone: this.zone },
    ).offset;
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** Minutes east of UTC written at `s[i..]` (`Z`, `+01`, `+0100`, `+01:00`); 0 when nothing is there. */
function offsetAt(s: string, i: number): number {
  if (i >= s.length || s.charAt(i) === 'Z' || s.charAt(i) === 'z') return 0;
  const hours = digits(s, i + 1, i + 3);
  const colon = s.charAt(i + 3) === ':' ? 1 : 0;
  const minutes = s.length > i + 3 ? digits(s, i + 3 + colon, i + 5 + colon) : 0;
  if (minutes >= 60) return NaN;
  return (s.charAt(i) === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * Reads ISO 8601 text. A date alone is a calendar date (no zone shifting); a
 * date and time without an offset is a wall time in `clock`'s zone; with an
 * offset or `Z` it is an instant, converted to `clock`'s zone. Returns
 * `'invalid'` for the right shape with impossible values, `undefined` for
 * text that is not ISO 8601.
 */
export function parseIso(text: string, clock: ZoneClock): Wall | 'invalid' | undefined {
  if (!ISO.test(text)) return parseIsoSlow(text, clock);
  const w: Wall = {
    year: digits(text, 0, 4),
    month: digits(text, 5, 7),
    day: digits(text, 8, 10),
    hour: 0,
    minute: 0,
    second: 0,
    millisecond: 0,
    time: text.length > 10,
    offset: undefined,
  };
  if (!w.time) return isRealWall(w) ? w : 'invalid';
  w.hour = digits(text, 11, 13);
  w.minute = digits(text, 14, 16);
  let i = 16;
  if (text.charAt(i) === ':') {
    w.second = digits(text, 17, 19);
    i = 19;
    if (text.charAt(i) === '.' || text.charAt(i) === ',') {
      let j = i + 1;
      while (isDigit(text, j)) j++;
      w.millisecond = digits((text.slice(i + 1, Math.min(j, i + 4)) + '00').slice(0, 3), 0, 3);
      i = j;
    }
  }
  if (!isRealWall(w)) return 'invalid';
  if (i === text.length) return w;
  const minutes = offsetAt(text, i);
  if (!(Math.abs(minutes) < 24 * 60)) return 'invalid';
  return clock.wallAt(wallToUtcMillis(w) - minutes * 60_000);
}

function parseIsoSlow(text: string, clock: ZoneClock): Wall | 'invalid' | undefined {
  if (!/^[+-]?\d{4,6}-?(?:\d{2}|W\d{2}|\d{3})/.test(text)) return undefined;
  const dt = DateTime.fromISO(text, { zone: clock.name });
  if (!dt.isValid) return dt.invalidReason === 'unit out of range' ? 'invalid' : undefined;
  return {
    year: dt.year,
    month: dt.month,
    day: dt.day,
    hour: dt.hour,
    minute: dt.minute,
    second: dt.second,
    millisecond: dt.millisecond,
    time: /T/i.test(text),
    offset: dt.offset,
  };
}
