import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

const DMY = { from: 'dd/MM/yyyy', to: 'dd.MM.yyyy' };

describe('date: formats', () => {
  it('converts between formats', () => {
    expect(run('date', DMY, '29/02/2024')).toBe('29.02.2024');
    expect(run('date', DMY, ' 01/12/1999 ')).toBe('01.12.1999');
  });
  it.each(['29/02/2023', '31/04/2024', '30/02/2023', '00/01/2024', '01/13/2024', '32/01/2024', '01/00/2024'])('rejects the impossible date %s', (text) => {
    expect(failure('date', DMY, text)).toEqual({ rule: 'date', message: `"${text}" is not a real date` });
  });
  it('is strict about padding: dd needs two digits, d takes one or two', () => {
    expect(failure('date', DMY, '1/2/2023')).toEqual({ rule: 'date', message: '"1/2/2023" is not a date in the expected format (dd/MM/yyyy)' });
    expect(run('date', { from: 'd/M/yyyy', to: 'dd.MM.yyyy' }, '1/2/2023')).toBe('01.02.2023');
    expect(run('date', { from: 'd/M/yyyy', to: 'dd.MM.yyyy' }, '01/02/2023')).toBe('01.02.2023');
  });
  it('refuses two-digit years unless the format says yy', () => {
    expect(failure('date', DMY, '01/02/23').message).toBe('"01/02/23" is not a date in the expected format (dd/MM/yyyy)');
    expect(failure('date', { to: 'dd.MM.yyyy' }, '1/2/23').message).toBe('"1/2/23" is not a date in the expected format (ISO 8601 or d/M/yyyy)');
    expect(run('date', { from: 'dd/MM/yy', to: 'yyyy-MM-dd' }, '01/02/23')).toBe('2023-02-01');
    expect(run('date', { from: 'dd/MM/yy', to: 'yyyy-MM-dd' }, '01/02/75')).toBe('1975-02-01');
    expect(run('date', { from: 'dd/MM/yy', to: 'yyyy', centuryPivot: 30 }, '01/02/29')).toBe('2029');
    expect(run('date', { from: 'dd/MM/yy', to: 'yyyy', centuryPivot: 30 }, '01/02/30')).toBe('1930');
  });
  it('tries a list of formats in order', () => {
    const args = { from: ['yyyy-MM-dd', 'dd/MM/yyyy', 'd MMMM yyyy'], to: 'dd.MM.yyyy' };
    expect(run('date', args, '2024-03-01')).toBe('01.03.2024');
    expect(run('date', args, '01/03/2024')).toBe('01.03.2024');
    expect(run('date', args, '1 March 2024')).toBe('01.03.2024');
    expect(failure('date', args, 'March 1st').message).toBe('"March 1st" is not a date in the expected format (yyyy-MM-dd or dd/MM/yyyy or d MMMM yyyy)');
  });
  it('reads month and weekday names, and checks the weekday', () => {
    expect(run('date', { from: 'dd MMM yyyy', to: 'yyyyMMdd' }, '05 sept 2024')).toBe('20240905');
    expect(run('date', { from: 'dd MMM yyyy', to: 'yyyyMMdd' }, '05 Jun 2024')).toBe('20240605');
    expect(run('date', { from: 'EEE dd MMM yyyy', to: 'yyyyMMdd' }, 'Sun 27 Oct 2024')).toBe('20241027');
    expect(failure('date', { from: 'EEE dd MMM yyyy', to: 'yyyyMMdd' }, 'Mon 27 Oct 2024').message).toBe('"Mon 27 Oct 2024" is not a real date');
  });
  it('reads times, including a 12-hour clock', () => {
    expect(run('date', { from: 'dd/MM/yyyy HH:mm', to: "yyyyMMdd'T'HHmm" }, '30/06/2024 23:30')).toBe('20240630T2330');
    expect(run('date', { from: 'dd/MM/yyyy h:mm a', to: 'HH:mm' }, '30/06/2024 12:05 am')).toBe('00:05');
    expect(run('date', { from: 'dd/MM/yyyy h:mm a', to: 'HH:mm' }, '30/06/2024 1:05 PM')).toBe('13:05');
    expect(failure('date', { from: 'dd/MM/yyyy h:mm a', to: 'HH:mm' }, '30/06/2024 13:05 PM').message).toBe('"30/06/2024 13:05 PM" is not a real date');
    expect(failure('date', { from: 'dd/MM/yyyy HH:mm', to: 'HH:mm' }, '30/06/2024 24:00').message).toBe('"30/06/2024 24:00" is not a real date');
  });
  it('writes every supported output token', () => {
    expect(run('date', { from: 'iso', to: "EEEE EEE d dd M MM MMM MMMM y yy yyyy 'at' H HH h hh a m mm s ss S SSS Z ZZ ZZZ" }, '2024-07-05T14:03:09.045+01:00')).toBe(
      'Friday Fri 5 05 7 07 Jul July 2024 24 2024 at 14 14 2 02 PM 3 03 9 09 45 045 +1 +01:00 +0100',
    );
  });
  it('accepts the shorthand output format', () => {
    expect(run('date', 'dd.MM.yyyy', '1/2/2023')).toBe('01.02.2023');
  });
});

describe('date: ISO 8601 and zones', () => {
  const LONDON = { from: 'iso', to: 'dd.MM.yyyy HH:mm:ss ZZ' };
  it.each([
    ['2024-06-30T23:30:00.000Z', '01.07.2024 00:30:00 +01:00'],
    ['2024-03-30T23:30:00Z', '30.03.2024 23:30:00 +00:00'],
    ['2024-03-31T00:59:59Z', '31.03.2024 00:59:59 +00:00'],
    ['2024-03-31T01:00:00Z', '31.03.2024 02:00:00 +01:00'],
    ['2024-10-26T23:30:00Z', '27.10.2024 00:30:00 +01:00'],
    ['2024-10-27T00:59:59Z', '27.10.2024 01:59:59 +01:00'],
    ['2024-10-27T01:00:00Z', '27.10.2024 01:00:00 +00:00'],
    ['2024-06-30T23:30:00+01:00', '30.06.2024 23:30:00 +01:00'],
    ['2024-01-01T00:30:00-05:00', '01.01.2024 05:30:00 +00:00'],
    ['2024-01-01T00:30:00-0500', '01.01.2024 05:30:00 +00:00'],
    ['2024-01-01 00:30Z', '01.01.2024 00:30:00 +00:00'],
    ['2024-06-30T12:00:00+02', '30.06.2024 11:00:00 +01:00'],
    ['2024-06-30T12:00:00.5+05:30', '30.06.2024 07:30:00 +01:00'],
  ])('converts the instant %s to London time', (text, expected) => {
    expect(run('date', LONDON, text)).toBe(expected);
  });
  it('converts to another zone when asked', () => {
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy HH:mm', zone: 'UTC' }, '2024-06-30T23:30:00.000Z')).toBe('30.06.2024 23:30');
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy HH:mm', zone: 'Asia/Kolkata' }, '2024-06-30T23:30:00.000Z')).toBe('01.07.2024 05:00');
  });
  it('never shifts a calendar date', () => {
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy', zone: 'Pacific/Auckland' }, '2024-06-30')).toBe('30.06.2024');
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy', zone: 'America/Los_Angeles' }, '2024-06-30')).toBe('30.06.2024');
  });
  it('keeps milliseconds from fractions of any length', () => {
    const args = { from: 'iso', to: 'HH:mm:ss.SSS' };
    expect(run('date', args, '2024-06-30T12:00:00.5Z')).toBe('13:00:00.500');
    expect(run('date', args, '2024-06-30T12:00:00,25Z')).toBe('13:00:00.250');
    expect(run('date', args, '2024-06-30T12:00:00.123456789Z')).toBe('13:00:00.123');
  });
  it('reads a date and time without offset as a wall time in the zone', () => {
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy HH:mm' }, '2024-06-30T23:30:00')).toBe('30.06.2024 23:30');
  });
  it('writes iso: a date alone, or a timestamp with the zone offset', () => {
    expect(run('date', undefined, '29/02/2024')).toBe('2024-02-29');
    expect(run('date', undefined, '2024-06-30T23:30:00.000Z')).toBe('2024-07-01T00:30:00.000+01:00');
    expect(run('date', undefined, '2024-01-15T10:00:00')).toBe('2024-01-15T10:00:00.000+00:00');
    expect(run('date', { from: 'dd/MM/yyyy HH:mm' }, '15/07/2024 10:00')).toBe('2024-07-15T10:00:00.000+01:00');
  });
  it('rejects impossible ISO dates and times', () => {
    expect(failure('date', { from: 'iso' }, '2023-02-30')).toEqual({ rule: 'date', message: '"2023-02-30" is not a real date' });
    expect(failure('date', { from: 'iso' }, '2024-06-30T24:00:00Z').message).toBe('"2024-06-30T24:00:00Z" is not a real date');
    expect(failure('date', { from: 'iso' }, '2024-06-30T10:00:00+01:75').message).toBe('"2024-06-30T10:00:00+01:75" is not a real date');
  });
  it('reads the rarer ISO forms through luxon', () => {
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy' }, '2024-W26-7')).toBe('30.06.2024');
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy' }, '20240630')).toBe('30.06.2024');
    expect(run('date', { from: 'iso', to: 'dd.MM.yyyy HH:mm' }, '20240630T233000Z')).toBe('01.07.2024 00:30');
  });
  it('refuses text that is not ISO 8601', () => {
    expect(failure('date', { from: 'iso' }, '30/06/2024')).toEqual({ rule: 'date', message: '"30/06/2024" is not a date in the expected format (ISO 8601)' });
  });
  it('agrees with luxon on random instants in several zones (offset cache)', () => {
    const zones = ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const zone of zones) {
      const args = { from: 'iso', to: 'yyyy-MM-dd HH:mm:ss.SSS ZZ', zone };
      for (let i = 0; i < 400; i++) {
        const ms = Date.UTC(2019, 0, 1) + Math.floor(random() * 12 * 365 * 86_400_000);
        const iso = new Date(ms).toISOString();
        expect(run('date', args, iso)).toBe(DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss.SSS ZZ'));
      }
    }
  });
});

describe('date: output agrees with luxon', () => {
  it('for every output token on random instants', () => {
    const format = 'EEEE EEE d dd M MM MMM MMMM y yy yyyy H HH h hh a m mm s ss S SSS Z ZZ ZZZ';
    let seed = 777;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 300; i++) {
      const ms = Date.UTC(1901, 0, 1) + Math.floor(random() * 200 * 365 * 86_400_000);
      const expected = DateTime.fromMillis(ms, { zone: 'Europe/London', locale: 'en-US' }).toFormat(format);
      expect(run('date', { from: 'iso', to: format }, new Date(ms).toISOString())).toBe(expected);
    }
  });
});

describe('date: objects', () => {
  it('accepts {day, month, year} with strings or numbers, whatever from says', () => {
    expect(run('date', DMY, { day: '1', month: '2', year: '2023' })).toBe('01.02.2023');
    expect(run('date', DMY, { day: 29, month: 2, year: 2024 })).toBe('29.02.2024');
    expect(run('date', DMY, { day: '05', month: 'March', year: 2020 })).toBe('05.03.2020');
    expect(run('date', { from: 'parts', to: 'dd.MM.yyyy' }, { day: 5, month: 3, year: 2020, answer_text: '05/03/2020' })).toBe('05.03.2020');
  });
  it('rejects impossible or incomplete parts', () => {
    expect(failure('date', DMY, { day: 29, month: 2, year: 2023 })).toEqual({ rule: 'date', message: '"29/2/2023" is not a real date' });
    expect(failure('date', DMY, { day: 1, month: 2, year: 23 }).message).toBe('"1/2/23" is not a date: the year must have four digits');
    expect(failure('date', DMY, { day: 1, month: 2, year: '23' }).message).toBe('"1/2/23" is not a date: day, month and year must be numbers');
    expect(failure('date', DMY, { day: 'first', month: 2, year: 2023 }).message).toBe('"first/2/2023" is not a date: day, month and year must be numbers');
    expect(failure('date', DMY, { day: 1, month: 2 }).message).toBe('expected a date as text or as an object with day, month and year');
  });
  it('converts Date instances to the zone', () => {
    expect(run('date', DMY, new Date('2024-06-30T23:30:00Z'))).toBe('01.07.2024');
    expect(failure('date', DMY, new Date('nonsense')).message).toBe('expected a date but got an invalid Date');
  });
  it('refuses other types', () => {
    expect(failure('date', DMY, 20240630)).toEqual({ rule: 'date', message: 'expected a date but got a number' });
    expect(failure('date', DMY, ['30/06/2024'])).toEqual({ rule: 'date', message: 'expected a date but got a list' });
  });
  it('accepts only objects when from is parts', () => {
    expect(failure('date', { from: 'parts' }, '01/02/2023').message).toBe('"01/02/2023" is not a date in the expected format (day, month and year)');
  });
});

describe('date: arguments', () => {
  it('explains moment-style tokens', () => {
    expect(argError('date', { from: 'DD/MM/YYYY' })).toBe(
      'argument "from": unknown date format token "DD" in "DD/MM/YYYY" (formats use luxon tokens: dd for the day, yyyy for the year); use d, dd, M, MM, MMM, MMMM, yy, yyyy, H, HH, h, hh, a, m, mm, s, ss, S, SSS, EEE, EEEE, or quote literal text like \'T\'',
    );
  });
  it('refuses unknown tokens in the output format', () => {
    expect(argError('date', { to: 'dd.MM.yyyy Q' })).toMatch(/^argument "to": unknown date format token "Q" in "dd.MM.yyyy Q"; use /);
  });
  it('refuses input formats without a full date', () => {
    expect(argError('date', { from: 'MM/yyyy' })).toBe(
      'argument "from": date format "MM/yyyy" must contain a day (d or dd), a month (M, MM, MMM or MMMM) and a year (yyyy or yy)',
    );
    expect(argError('date', { from: 'dd/MM/y' })).toMatch(/unknown date format token "y" in "dd\/MM\/y"/);
  });
  it('refuses a 12-hour clock without AM/PM', () => {
    expect(argError('date', { from: 'dd/MM/yyyy hh:mm' })).toBe(
      'argument "from": date format "dd/MM/yyyy hh:mm" uses a 12-hour clock: h or hh needs a (AM/PM), and a needs h or hh',
    );
  });
  it('refuses unclosed quotes and unknown zones', () => {
    expect(argError('date', { to: "yyyy'T" })).toBe('argument "to": date format "yyyy\'T" has an unclosed quote');
    expect(argError('date', { zone: 'Europe/Londres' })).toBe(
      'argument "zone": unknown time zone "Europe/Londres" (use an IANA name such as Europe/London or UTC)',
    );
    expect(argError('date', { zone: 'local' })).toMatch(/unknown time zone "local"/);
  });
  it('refuses unknown arguments', () => {
    expect(argError('date', { form: 'iso' })).toBe('unknown argument "form" (expected one of: from, to, zone, centuryPivot)');
  });
});

describe('date: agrees with luxon', () => {
  const formats = ['dd/MM/yyyy', 'd/M/yyyy', 'yyyyMMdd', 'dd.MM.yyyy HH:mm', 'yyyy-MM-dd HH:mm:ss'];
  const samples = ['29/02/2024', '29/02/2023', '31/04/2024', '1/2/2024', '01/02/2024', '20240229', '20230229', '30.06.2024 23:59', '2024-06-30 12:30:61', '2024-06-30 12:30:59', '00/00/0000', '10/10/10'];
  it.each(formats)('accepts exactly what luxon accepts with %s', (format) => {
    for (const text of samples) {
      const ours = (() => {
        try {
          return run('date', { from: format, to: 'yyyy-MM-dd HH:mm:ss' }, text);
        } catch {
          return 'rejected';
        }
      })();
      const dt = DateTime.fromFormat(text, format, { zone: 'UTC' });
      expect(ours, `${text} as ${format}`).toBe(dt.isValid ? dt.toFormat('yyyy-MM-dd HH:mm:ss') : 'rejected');
    }
  });
  it('differs on purpose for 24:00, which luxon reads as the next midnight', () => {
    expect(DateTime.fromFormat('30.06.2024 24:00', 'dd.MM.yyyy HH:mm').isValid).toBe(true);
    expect(failure('date', { from: 'dd.MM.yyyy HH:mm' }, '30.06.2024 24:00').message).toBe('"30.06.2024 24:00" is not a real date');
  });
});
