/**
 * UK bank holidays, as published on GOV.UK, for the years a write window can
 * rely on. Data, not rules: substitute days are listed as they fall. Dates
 * outside {@link BANK_HOLIDAY_YEARS} are not known here; add them to a
 * window's `blackout` list.
 */

/** The three bank holiday calendars of the UK. */
export type BankHolidayRegion = 'england-and-wales' | 'scotland' | 'northern-ireland';

/** Every region, in the order the schema lists them. */
export const BANK_HOLIDAY_REGIONS: readonly BankHolidayRegion[] = ['england-and-wales', 'scotland', 'northern-ireland'];

/** The first and last year the list covers. */
export const BANK_HOLIDAY_YEARS = { first: 2025, last: 2027 } as const;

type Day = readonly [date: string, name: string];

const NEW_YEAR = 'New Year’s Day';
const GOOD_FRIDAY = 'Good Friday';
const EASTER_MONDAY = 'Easter Monday';
const EARLY_MAY = 'Early May bank holiday';
const SPRING = 'Spring bank holiday';
const SUMMER = 'Summer bank holiday';
const CHRISTMAS = 'Christmas Day';
const BOXING = 'Boxing Day';
const SUBSTITUTE = ' (substitute day)';

const ENGLAND_AND_WALES: readonly Day[] = [
  ['2025-01-01', NEW_YEAR],
  ['2025-04-18', GOOD_FRIDAY],
  ['2025-04-21', EASTER_MONDAY],
  ['2025-05-05', EARLY_MAY],
  ['2025-05-26', SPRING],
  ['2025-08-25', SUMMER],
  ['2025-12-25', CHRISTMAS],
  ['2025-12-26', BOXING],
  ['2026-01-01', NEW_YEAR],
  ['2026-04-03', GOOD_FRIDAY],
  ['2026-04-06', EASTER_MONDAY],
  ['2026-05-04', EARLY_MAY],
  ['2026-05-25', SPRING],
  ['2026-08-31', SUMMER],
  ['2026-12-25', CHRISTMAS],
  ['2026-12-28', BOXING + SUBSTITUTE],
  ['2027-01-01', NEW_YEAR],
  ['2027-03-26', GOOD_FRIDAY],
  ['2027-03-29', EASTER_MONDAY],
  ['2027-05-03', EARLY_MAY],
  ['2027-05-31', SPRING],
  ['2027-08-30', SUMMER],
  ['2027-12-27', CHRISTMAS + SUBSTITUTE],
  ['2027-12-28', BOXING + SUBSTITUTE],
];

const SCOTLAND: readonly Day[] = [
  ['2025-01-01', NEW_YEAR],
  ['2025-01-02', '2nd January'],
  ['2025-04-18', GOOD_FRIDAY],
  ['2025-05-05', EARLY_MAY],
  ['2025-05-26', SPRING],
  ['2025-08-04', SUMMER],
  ['2025-12-01', 'St Andrew’s Day' + SUBSTITUTE],
  ['2025-12-25', CHRISTMAS],
  ['2025-12-26', BOXING],
  ['2026-01-01', NEW_YEAR],
  ['2026-01-02', '2nd January'],
  ['2026-04-03', GOOD_FRIDAY],
  ['2026-05-04', EARLY_MAY],
  ['2026-05-25', SPRING],
  ['2026-08-03', SUMMER],
  ['2026-11-30', 'St Andrew’s Day'],
  ['2026-12-25', CHRISTMAS],
  ['2026-12-28', BOXING + SUBSTITUTE],
  ['2027-01-01', NEW_YEAR],
  ['2027-01-04', '2nd January' + SUBSTITUTE],
  ['2027-03-26', GOOD_FRIDAY],
  ['2027-05-03', EARLY_MAY],
  ['2027-05-31', SPRING],
  ['2027-08-02', SUMMER],
  ['2027-11-30', 'St Andrew’s Day'],
  ['2027-12-27', CHRISTMAS + SUBSTITUTE],
  ['2027-12-28', BOXING + SUBSTITUTE],
];

const NORTHERN_IRELAND: readonly Day[] = [
  ['2025-01-01', NEW_YEAR],
  ['2025-03-17', 'St Patrick’s Day'],
  ['2025-04-18', GOOD_FRIDAY],
  ['2025-04-21', EASTER_MONDAY],
  ['2025-05-05', EARLY_MAY],
  ['2025-05-26', SPRING],
  ['2025-07-14', 'Battle of the Boyne (Orangemen’s Day)' + SUBSTITUTE],
  ['2025-08-25', SUMMER],
  ['2025-12-25', CHRISTMAS],
  ['2025-12-26', BOXING],
  ['2026-01-01', NEW_YEAR],
  ['2026-03-17', 'St Patrick’s Day'],
  ['2026-04-03', GOOD_FRIDAY],
  ['2026-04-06', EASTER_MONDAY],
  ['2026-05-04', EARLY_MAY],
  ['2026-05-25', SPRING],
  ['2026-07-13', 'Battle of the Boyne (Orangemen’s Day)' + SUBSTITUTE],
  ['2026-08-31', SUMMER],
  ['2026-12-25', CHRISTMAS],
  ['2026-12-28', BOXING + SUBSTITUTE],
  ['2027-01-01', NEW_YEAR],
  ['2027-03-17', 'St Patrick’s Day'],
  ['2027-03-26', GOOD_FRIDAY],
  ['2027-03-29', EASTER_MONDAY],
  ['2027-05-03', EARLY_MAY],
  ['2027-05-31', SPRING],
  ['2027-07-12', 'Battle of the Boyne (Orangemen’s Day)'],
  ['2027-08-30', SUMMER],
  ['2027-12-27', CHRISTMAS + SUBSTITUTE],
  ['2027-12-28', BOXING + SUBSTITUTE],
];

const LISTS: Readonly<Record<BankHolidayRegion, readonly Day[]>> = {
  'england-and-wales': ENGLAND_AND_WALES,
  scotland: SCOTLAND,
  'northern-ireland': NORTHERN_IRELAND,
};

const byRegion = new Map<BankHolidayRegion, ReadonlyMap<string, string>>(
  BANK_HOLIDAY_REGIONS.map((r) => [r, new Map(LISTS[r].map(([d, n]) => [d, n]))]),
);

/** The region's bank holidays as `[yyyy-MM-dd, name]`, in date order. */
export function bankHolidays(region: BankHolidayRegion): readonly (readonly [string, string])[] {
  return LISTS[region];
}

/** The name of the bank holiday on `isoDate` (`yyyy-MM-dd`) in `region`, or undefined. */
export function bankHolidayOn(region: BankHolidayRegion, isoDate: string): string | undefined {
  return byRegion.get(region)?.get(isoDate);
}
