import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

describe('trim', () => {
  it('removes ASCII and Unicode spaces at both ends only', () => {
    expect(run('trim', undefined, '  Jane  Doe \t\n')).toBe('Jane  Doe');
    expect(run('trim', undefined, '\u00a0\u2003Siân\u00a0')).toBe('Siân');
  });
  it('stringifies numbers and booleans', () => {
    expect(run('trim', undefined, 42)).toBe('42');
    expect(run('trim', undefined, true)).toBe('true');
  });
  it('refuses lists and objects with rule trim', () => {
    expect(failure('trim', undefined, ['a'])).toEqual({ rule: 'trim', message: 'expected text but got a list' });
    expect(failure('trim', undefined, { a: 1 })).toEqual({ rule: 'trim', message: 'expected text but got an object' });
    expect(failure('trim', undefined, NaN)).toEqual({ rule: 'trim', message: 'expected text but got NaN' });
  });
  it('can make a value empty (absent)', () => {
    expect(run('trim', undefined, '   ')).toBe('');
  });
});

describe('collapse', () => {
  it('turns runs of any whitespace into one space and trims', () => {
    expect(run('collapse', undefined, '  12\t High\u00a0\u00a0Street\r\n Flat 2 ')).toBe('12 High Street Flat 2');
    expect(run('collapse', undefined, 'a\u2028b\u3000c')).toBe('a b c');
  });
  it('leaves single spaces alone', () => {
    expect(run('collapse', undefined, 'already clean text')).toBe('already clean text');
  });
  it('does not treat zero-width space as whitespace', () => {
    expect(run('collapse', undefined, 'a\u200bb')).toBe('a\u200bb');
  });
});

describe('upper and lower', () => {
  it('use Unicode case mapping', () => {
    expect(run('upper', undefined, 'Siân Wałęsa')).toBe('SIÂN WAŁĘSA');
    expect(run('upper', undefined, 'Straße')).toBe('STRASSE');
    expect(run('lower', undefined, 'ŶR ÉCOLE')).toBe('ŷr école');
  });
  it('stringify numbers', () => {
    expect(run('upper', undefined, 12.5)).toBe('12.5');
  });
  it('fail on objects with their own rule', () => {
    expect(failure('lower', undefined, {}).rule).toBe('lower');
  });
});

describe('toString', () => {
  it('stringifies scalars and keeps text', () => {
    expect(run('toString', undefined, 12.5)).toBe('12.5');
    expect(run('toString', undefined, false)).toBe('false');
    expect(run('toString', undefined, 'x')).toBe('x');
  });
  it('refuses lists', () => {
    expect(failure('toString', undefined, [1])).toEqual({ rule: 'toString', message: 'expected text but got a list' });
  });
});

describe('truncate', () => {
  it('keeps the first n characters (shorthand and object form)', () => {
    expect(run('truncate', 5, 'Abercrombie')).toBe('Aberc');
    expect(run('truncate', { length: 5 }, 'Abercrombie')).toBe('Aberc');
    expect(run('truncate', 35, 'short')).toBe('short');
  });
  it('counts code points, never splitting a surrogate pair', () => {
    expect(run('truncate', 3, 'a😀b😀c')).toBe('a😀b');
    expect(run('truncate', 2, '😀😀😀')).toBe('😀😀');
  });
  it('counts a precomposed accent as one character', () => {
    expect(run('truncate', 4, 'Siânwy')).toBe('Siân');
  });
  it('refuses a bad length when built', () => {
    expect(argError('truncate', 0)).toBe('argument "length" must be at least 1');
    expect(argError('truncate', '35')).toBe('argument "length" must be a whole number');
    expect(argError('truncate', { len: 3 })).toBe('unknown argument "len" (expected one of: length)');
  });
});

describe('pad', () => {
  it('pads on the right with spaces by default', () => {
    expect(run('pad', 6, 'AB')).toBe('AB    ');
    expect(run('pad', { length: 6 }, 'AB')).toBe('AB    ');
  });
  it('pads on the left with a given character', () => {
    expect(run('pad', { length: 6, char: '0', side: 'left' }, 42)).toBe('000042');
  });
  it('returns a value of exactly the length unchanged', () => {
    expect(run('pad', 3, 'ABC')).toBe('ABC');
  });
  it('counts code points', () => {
    expect(run('pad', { length: 3, char: '*' }, '😀')).toBe('😀**');
  });
  it('fails on a longer value with rule length', () => {
    expect(failure('pad', 3, 'ABCD')).toEqual({ rule: 'length', message: '"ABCD" has 4 characters, more than the 3 allowed' });
  });
  it('cuts a longer value when truncate is true', () => {
    expect(run('pad', { length: 3, truncate: true }, 'ABCD')).toBe('ABC');
  });
  it('refuses bad arguments', () => {
    expect(argError('pad', { length: 3, char: '00' })).toBe('argument "char" must be exactly one character');
    expect(argError('pad', { length: 3, side: 'centre' })).toBe('argument "side" must be one of: left, right');
    expect(argError('pad', { char: '0' })).toBe('argument "length" is required');
  });
});
