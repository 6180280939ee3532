/**
 * Write windows: when a legacy system may be written to. Hours are wall
 * clock in the window's zone, so a window keeps its local hours across
 * daylight-saving changes (a 01:00-02:00 window does not occur on the
 * spring-forward night and occurs twice on the fall-back night). Blackout
 * dates and bank holidays close whole local days. Pure: the instant is
 * handed in.
 */
import { DateTime, IANAZone } from 'luxon';
import { bankHolidayOn } from './bank-holidays.js';
import type { Weekday, WriteWindow } from './pipeline.types.js';

const WEEKDAY_NUMBER: Readonly<Record<Weekday, number>> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

interface Range {
  days: ReadonlySet<number>;
  from: number;
  to: number;
}

interface Compiled {
  zone: IANAZone;
  ranges?: Range[];
  window: WriteWindow;
}

const cache = new WeakMap<WriteWindow, Compiled>();

/** Minutes after midnight of `HH:MM` (`24:00` is 1440). */
export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function compile(window: WriteWindow): Compiled {
  let c = cache.get(window);
  if (!c) {
    const zone = IANAZone.create(window.timezone);
    if (!zone.isValid) throw new Error(`unknown time zone "${window.timezone}"`);
    c = { zone, window };
    if (window.hours) {
      c.ranges = window.hours.map((h) => ({ days: new Set(h.days.map((d) => WEEKDAY_NUMBER[d])), from: minutesOf(h.from), to: minutesOf(h.to) }));
    }
    cache.set(window, c);
  }
  return c;
}

function closedDay(w: WriteWindow, isoDate: string): string | undefined {
  for (const b of w.blackout) if (isoDate >= b.from && isoDate <= b.to) return `blackout${b.reason ? `: ${b.reason}` : ` ${isoDate}`}`;
  const holiday = w.bankHolidays ? bankHolidayOn(w.bankHolidays, isoDate) : undefined;
  return holiday ? `bank holiday: ${holiday}` : undefined;
}

function inRange(r: Range, weekday: number, minute: number): boolean {
  if (r.from < r.to) return r.days.has(weekday) && minute >= r.from && minute < r.to;
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return (r.days.has(weekday) && minute >= r.from) || (r.days.has(yesterday) && minute < r.to);
}

function reason(c: Compiled, ms: number): string | undefined {
  const local = DateTime.fromMillis(ms, { zone: c.zone });
  const closed = closedDay(c.window, local.toISODate() as string);
  if (closed) return closed;
  if (!c.ranges) return undefined;
  const minute = local.hour * 60 + local.minute;
  return c.ranges.some((r) => inRange(r, local.weekday, minute)) ? undefined : 'outside the write hours';
}

/**
 * Why writes are not allowed at `instant` (`outside the write hours`,
 * `blackout: year end`, `bank holiday: Christmas Day`), or undefined when
 * they are. Throws only for a window whose zone is unknown (a definition
 * that did not pass the loader).
 */
export function whyClosed(window: WriteWindow, instant: Date): string | undefined {
  return reason(compile(window), instant.getTime());
}

/** True when the legacy system may be written to at `instant`. */
export function isWriteAllowed(window: WriteWindow, instant: Date): boolean {
  return whyClosed(window, instant) === undefined;
}

/** First instant in [lo, hi] whose offset is not `zone.offset(lo)`: the zone's transition. */
function transition(zone: IANAZone, lo: number, hi: number): number {
  const before = zone.offset(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The instants at which the zone's clock shows `minute` on `date`: one
 * usually, two in a fall-back hour; for a wall time skipped by a
 * spring-forward the instant the clock jumps past it.
 */
function wallInstants(zone: IANAZone, date: DateTime, minute: number): number[] {
  const naive = Date.UTC(date.year, date.month - 1, date.day) + minute * MINUTE_MS;
  const early = zone.offset(naive - DAY_MS / 2);
  const late = zone.offset(naive + DAY_MS / 2);
  const found = [...new Set([early, late])].map((o) => naive - o * MINUTE_MS).filter((t) => zone.offset(t) * MINUTE_MS === naive - t);
  if (found.length) return found.sort((a, b) => a - b);
  return [transition(zone, naive - late * MINUTE_MS, naive - early * MINUTE_MS)];
}

/** Instants of one local day (`date`'s calendar fields) at which a window may open: midnight, each range's start, a clock change. */
function openings(c: Compiled, date: DateTime): number[] {
  const start = wallInstants(c.zone, date, 0)[0] as number;
  const end = wallInstants(c.zone, date.plus({ days: 1 }), 0)[0] as number;
  const out = [start];
  for (const r of c.ranges ?? []) out.push(...wallInstants(c.zone, date, r.from));
  if (c.zone.offset(start) !== c.zone.offset(end - 1)) out.push(transition(c.zone, start, end - 1));
  return out.sort((a, b) => a - b);
}

/** How far ahead {@link nextWriteTime} looks: two years. */
export const NEXT_WRITE_HORIZON_DAYS = 731;

/**
 * The earliest instant at or after `instant` at which writes are allowed:
 * `instant` itself when they are allowed now, else the next opening (to the
 * millisecond). Undefined when the window stays closed for
 * {@link NEXT_WRITE_HORIZON_DAYS} days.
 */
export function nextWriteTime(window: WriteWindow, instant: Date): Date | undefined {
  const c = compile(window);
  const now = instant.getTime();
  if (reason(c, now) === undefined) return new Date(now);
  let date = DateTime.fromISO(DateTime.fromMillis(now, { zone: c.zone }).toISODate() as string, { zone: 'utc' });
  for (let i = 0; i <= NEXT_WRITE_HORIZON_DAYS; i++, date = date.plus({ days: 1 })) {
    for (const t of openings(c, date)) if (t > now && reason(c, t) === undefined) return new Date(t);
  }
  return undefined;
}
