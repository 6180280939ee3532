/**
 * Calendar arithmetic for the date transforms, on plain numbers (proleptic
 * Gregorian calendar, no allocation): leap years, month lengths, weekdays and
 * day counts since 1970-01-01.
 */

/** A wall-clock date and time. `offset` (minutes east of UTC) is known when the value was an instant. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  /** True when the value carried a time of day, false for a calendar date. */
  time: boolean;
  offset: number | undefined;
}

/** English month names, January first. */
export const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** English weekday names, Monday first (ISO weekday 1). */
export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** True for Gregorian leap years. */
export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in month `m` (1-12) of year `y`. */
export function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : (MONTH_DAYS[m - 1] ?? 0);
}

/** Days from 1970-01-01 to the given date (negative before it). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yearOfEra = yy - era * 400;
  const dayOfYear = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The date `days` after 1970-01-01, as [year, month, day]. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const d = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** ISO weekday (1 = Monday ... 7 = Sunday). */
export function isoWeekday(y: number, m: number, d: number): number {
  const days = daysFromCivil(y, m, d);
  return ((((days + 3) % 7) + 7) % 7) + 1;
}

/** True when the fields form a real date and time (time fields within their ranges). */
export function isRealWall(w: Wall): boolean {
  return (
    w.year >= 1 &&
    w.year <= 9999 &&
    w.month >= 1 &&
    w.month <= 12 &&
    w.day >= 1 &&
    w.day <= daysInMonth(w.year, w.month) &&
    w.hour >= 0 &&
    w.hour <= 23 &&
    w.minute >= 0 &&
    w.minute <= 59 &&
    w.second >= 0 &&
    w.second <= 59
  );
}

/** Milliseconds since the epoch of a wall time read as UTC. */
export function wallToUtcMillis(w: Wall): number {
  return daysFromCivil(w.year, w.month, w.day) * 86_400_000 + ((w.hour * 60 + w.minute) * 60 + w.second) * 1000 + w.millisecond;
}

/** The wall time of `ms` since the epoch read as UTC, shifted by `offset` minutes. */
export function utcMillisToWall(ms: number, offset: number): Wall {
  const local = ms + offset * 60_000;
  const days = Math.floor(local / 86_400_000);
  let rest = local - days * 86_400_000;
  const [year, month, day] = civilFromDays(days);
  const millisecond = rest % 1000;
  rest = (rest - millisecond) / 1000;
  return {
    year,
    month,
    day,
    hour: Math.floor(rest / 3600),
    minute: Math.floor(rest / 60) % 60,
    second: rest % 60,
    millisecond,
    time: true,
    offset,
  };
}
