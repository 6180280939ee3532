import { describe, expect, it } from 'vitest';
import { isWriteAllowed, nextWriteTime, whyClosed } from './window.js';
import type { WriteWindow } from './pipeline.types.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();
const ALL = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const london = (w: Partial<WriteWindow>): WriteWindow => ({ timezone: 'Europe/London', blackout: [], ...w });

const office = london({
  hours: [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' },
    { days: ['sat'], from: '08:00', to: '12:00' },
  ],
});

describe('write window: hours in the window zone', () => {
  it('opens at from (inclusive) and closes at to (exclusive), in local time', () => {
    expect(isWriteAllowed(office, at('2026-06-10T05:59:59Z'))).toBe(false);
    expect(isWriteAllowed(office, at('2026-06-10T06:00:00Z'))).toBe(true);
    expect(isWriteAllowed(office, at('2026-06-10T17:59:59Z'))).toBe(true);
    expect(isWriteAllowed(office, at('2026-06-10T18:00:00Z'))).toBe(false);
    expect(whyClosed(office, at('2026-06-10T18:00:00Z'))).toBe('outside the write hours');
    expect(isWriteAllowed(office, at('2026-01-14T07:00:00Z'))).toBe(true);
    expect(isWriteAllowed(office, at('2026-01-14T06:59:59Z'))).toBe(false);
  });

  it('finds the next opening across the weekend', () => {
    expect(iso(nextWriteTime(office, at('2026-06-12T18:30:00Z')))).toBe('2026-06-13T07:00:00.000Z');
    expect(iso(nextWriteTime(office, at('2026-06-13T11:00:00Z')))).toBe('2026-06-15T06:00:00.000Z');
    expect(iso(nextWriteTime(office, at('2026-06-10T09:15:00Z')))).toBe('2026-06-10T09:15:00.000Z');
  });

  it('runs hours past midnight when to is earlier than from', () => {
    const night = london({ hours: [{ days: ['fri'], from: '22:00', to: '06:00' }] });
    expect(isWriteAllowed(night, at('2026-01-16T21:59:00Z'))).toBe(false);
    expect(isWriteAllowed(night, at('2026-01-16T22:00:00Z'))).toBe(true);
    expect(isWriteAllowed(night, at('2026-01-17T05:59:00Z'))).toBe(true);
    expect(isWriteAllowed(night, at('2026-01-17T06:00:00Z'))).toBe(false);
    expect(isWriteAllowed(night, at('2026-01-15T23:00:00Z'))).toBe(false);
    expect(iso(nextWriteTime(night, at('2026-01-17T06:00:00Z')))).toBe('2026-01-23T22:00:00.000Z');
  });

  it('allows any time of day without hours', () => {
    const any = london({});
    expect(isWriteAllowed(any, at('2026-03-29T01:30:00Z'))).toBe(true);
    expect(whyClosed(any, at('2026-03-29T01:30:00Z'))).toBeUndefined();
  });

  it('works in a zone without daylight saving', () => {
    const kolkata: WriteWindow = { timezone: 'Asia/Kolkata', blackout: [], hours: [{ days: [...ALL], from: '09:00', to: '17:00' }] };
    expect(isWriteAllowed(kolkata, at('2026-03-29T03:30:00Z'))).toBe(true);
    expect(iso(nextWriteTime(kolkata, at('2026-03-29T11:30:00Z')))).toBe('2026-03-30T03:30:00.000Z');
  });
});

describe('write window: daylight saving in London', () => {
  const oneToTwo = london({ hours: [{ days: [...ALL], from: '01:00', to: '02:00' }] });

  it('01:00-02:00 does not occur on 2026-03-29, when 01:00 GMT becomes 02:00 BST', () => {
    expect(isWriteAllowed(oneToTwo, at('2026-03-29T00:59:59Z'))).toBe(false);
    expect(isWriteAllowed(oneToTwo, at('2026-03-29T01:00:00Z'))).toBe(false);
    expect(isWriteAllowed(oneToTwo, at('2026-03-29T01:30:00Z'))).toBe(false);
    expect(isWriteAllowed(oneToTwo, at('2026-03-28T01:30:00Z'))).toBe(true);
    expect(iso(nextWriteTime(oneToTwo, at('2026-03-28T02:00:00Z')))).toBe('2026-03-30T00:00:00.000Z');
  });

  it('a range starting in the skipped hour opens when the clocks jump', () => {
    const w = london({ hours: [{ days: ['sun'], from: '01:30', to: '03:00' }] });
    expect(iso(nextWriteTime(w, at('2026-03-29T00:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(isWriteAllowed(w, at('2026-03-29T01:59:59Z'))).toBe(true);
    expect(isWriteAllowed(w, at('2026-03-29T02:00:00Z'))).toBe(false);
  });

  it('01:00-02:00 occurs twice on 2026-10-25, once in BST and once in GMT', () => {
    expect(isWriteAllowed(oneToTwo, at('2026-10-24T23:59:59Z'))).toBe(false);
    expect(isWriteAllowed(oneToTwo, at('2026-10-25T00:00:00Z'))).toBe(true);
    expect(isWriteAllowed(oneToTwo, at('2026-10-25T00:59:59Z'))).toBe(true);
    expect(isWriteAllowed(oneToTwo, at('2026-10-25T01:00:00Z'))).toBe(true);
    expect(isWriteAllowed(oneToTwo, at('2026-10-25T01:59:59Z'))).toBe(true);
    expect(isWriteAllowed(oneToTwo, at('2026-10-25T02:00:00Z'))).toBe(false);
    expect(iso(nextWriteTime(oneToTwo, at('2026-10-24T23:30:00Z')))).toBe('2026-10-25T00:00:00.000Z');
  });

  it('finds the second occurrence of a repeated wall time', () => {
    const w = london({ hours: [{ days: ['sun'], from: '01:30', to: '01:45' }] });
    expect(iso(nextWriteTime(w, at('2026-10-25T00:00:00Z')))).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(nextWriteTime(w, at('2026-10-25T00:45:00Z')))).toBe('2026-10-25T01:30:00.000Z');
    expect(iso(nextWriteTime(w, at('2026-10-25T01:45:00Z')))).toBe('2026-11-01T01:30:00.000Z');
  });

  it('reopens when the clocks go back into a range already left', () => {
    const w = london({ hours: [{ days: ['sun'], from: '00:30', to: '01:30' }] });
    expect(isWriteAllowed(w, at('2026-10-25T00:40:00Z'))).toBe(false);
    expect(iso(nextWriteTime(w, at('2026-10-25T00:40:00Z')))).toBe('2026-10-25T01:00:00.000Z');
  });
});

describe('write window: blackouts and bank holidays', () => {
  it('closes whole local days of a blackout, with its reason', () => {
    const w = london({ blackout: [{ from: '2026-12-24', to: '2026-12-27', reason: 'christmas freeze' }] });
    expect(isWriteAllowed(w, at('2026-12-23T23:59:59Z'))).toBe(true);
    expect(whyClosed(w, at('2026-12-24T10:00:00Z'))).toBe('blackout: christmas freeze');
    expect(iso(nextWriteTime(w, at('2026-12-24T10:00:00Z')))).toBe('2026-12-28T00:00:00.000Z');
  });

  it('takes blackout days in the window zone, not UTC', () => {
    const w = london({ blackout: [{ from: '2026-07-01', to: '2026-07-01' }] });
    expect(whyClosed(w, at('2026-06-30T23:30:00Z'))).toBe('blackout 2026-07-01');
    expect(isWriteAllowed(w, at('2026-06-30T22:59:59Z'))).toBe(true);
    expect(iso(nextWriteTime(w, at('2026-06-30T23:30:00Z')))).toBe('2026-07-01T23:00:00.000Z');
  });

  it('closes England and Wales bank holidays, substitute days included', () => {
    const w = london({ hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }], bankHolidays: 'england-and-wales' });
    expect(whyClosed(w, at('2026-12-25T10:00:00Z'))).toBe('bank holiday: Christmas Day');
    expect(whyClosed(w, at('2026-12-28T10:00:00Z'))).toBe('bank holiday: Boxing Day (substitute day)');
    expect(iso(nextWriteTime(w, at('2026-12-24T19:00:00Z')))).toBe('2026-12-29T07:00:00.000Z');
    expect(iso(nextWriteTime(w, at('2026-04-02T19:00:00Z')))).toBe('2026-04-07T06:00:00.000Z');
    expect(iso(nextWriteTime(london({ ...office, bankHolidays: 'england-and-wales' }), at('2026-12-24T19:00:00Z')))).toBe('2026-12-26T08:00:00.000Z');
  });

  it('keeps regions apart: 2 January is a holiday in Scotland only', () => {
    const scotland = london({ ...office, bankHolidays: 'scotland' });
    const england = london({ ...office, bankHolidays: 'england-and-wales' });
    expect(isWriteAllowed(scotland, at('2026-01-02T10:00:00Z'))).toBe(false);
    expect(isWriteAllowed(england, at('2026-01-02T10:00:00Z'))).toBe(true);
    expect(isWriteAllowed(scotland, at('2026-04-06T10:00:00Z'))).toBe(true);
    expect(isWriteAllowed(england, at('2026-04-06T10:00:00Z'))).toBe(false);
  });

  it('gives up when the window stays closed for two years', () => {
    const w = london({ blackout: [{ from: '2026-01-01', to: '2029-12-31' }] });
    expect(nextWriteTime(w, at('2026-02-01T00:00:00Z'))).toBeUndefined();
  });
});
