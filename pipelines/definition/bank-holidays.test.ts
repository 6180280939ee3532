import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { BANK_HOLIDAY_REGIONS, BANK_HOLIDAY_YEARS, bankHolidayOn, bankHolidays, type BankHolidayRegion } from './bank-holidays.js';

/** Easter Sunday (Gregorian), by the anonymous Gregorian algorithm. */
function easter(year: number): DateTime {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return DateTime.utc(year, month, day);
}

const date = (y: number, m: number, d: number) => DateTime.utc(y, m, d);
const firstMonday = (y: number, m: number) => {
  const d = date(y, m, 1);
  return d.plus({ days: (8 - d.weekday) % 7 });
};
const lastMonday = (y: number, m: number) => {
  const d = date(y, m, 1).endOf('month').startOf('day');
  return d.minus({ days: (d.weekday + 6) % 7 });
};

/** Moves fixed-date holidays off weekends the way the UK does: to the next weekdays not already taken. */
function withSubstitutes(days: DateTime[]): string[] {
  const taken = new Set<string>();
  const out: string[] = [];
  for (const d of days) {
    let x = d;
    while (x.weekday > 5 || taken.has(x.toISODate() as string)) x = x.plus({ days: 1 });
    taken.add(x.toISODate() as string);
    out.push(x.toISODate() as string);
  }
  return out;
}

function expected(region: BankHolidayRegion, y: number): string[] {
  const fixedStart = region === 'scotland' ? [date(y, 1, 1), date(y, 1, 2)] : [date(y, 1, 1)];
  const patrick = region === 'northern-ireland' ? [date(y, 3, 17)] : [];
  const boyne = region === 'northern-ireland' ? [date(y, 7, 12)] : [];
  const andrew = region === 'scotland' ? [date(y, 11, 30)] : [];
  const e = easter(y);
  const movable = [e.minus({ days: 2 }), ...(region === 'scotland' ? [] : [e.plus({ days: 1 })]), firstMonday(y, 5), lastMonday(y, 5)];
  const summer = region === 'scotland' ? firstMonday(y, 8) : lastMonday(y, 8);
  const all = [
    ...withSubstitutes(fixedStart),
    ...withSubstitutes(patrick),
    ...movable.map((d) => d.toISODate() as string),
    ...withSubstitutes(boyne),
    summer.toISODate() as string,
    ...withSubstitutes(andrew),
    ...withSubstitutes([date(y, 12, 25), date(y, 12, 26)]),
  ];
  return all.sort();
}

describe('bank holidays', () => {
  it.each(BANK_HOLIDAY_REGIONS)('%s matches the rules, year by year', (region) => {
    for (let y = BANK_HOLIDAY_YEARS.first; y <= BANK_HOLIDAY_YEARS.last; y++) {
      const listed = bankHolidays(region).map(([d]) => d).filter((d) => d.startsWith(`${y}-`));
      expect(listed, `${region} ${y}`).toEqual(expected(region, y));
    }
  });

  it('has the England and Wales 2026 dates as published', () => {
    expect(bankHolidays('england-and-wales').map(([d]) => d).filter((d) => d.startsWith('2026'))).toEqual([
      '2026-01-01', '2026-04-03', '2026-04-06', '2026-05-04', '2026-05-25', '2026-08-31', '2026-12-25', '2026-12-28',
    ]);
  });

  it('names the day', () => {
    expect(bankHolidayOn('northern-ireland', '2026-07-13')).toBe('Battle of the Boyne (Orangemen’s Day) (substitute day)');
    expect(bankHolidayOn('scotland', '2027-01-04')).toBe('2nd January (substitute day)');
    expect(bankHolidayOn('england-and-wales', '2026-07-13')).toBeUndefined();
  });
});
