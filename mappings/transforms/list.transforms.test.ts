import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

describe('split', () => {
  it('splits on a literal separator (shorthand)', () => {
    expect(run('split', ',', 'a,b,,c')).toEqual(['a', 'b', '', 'c']);
  });
  it('trims parts and skips empty ones when asked', () => {
    expect(run('split', { separator: ',', trim: true, skipEmpty: true }, ' a , b ,, c ,')).toEqual(['a', 'b', 'c']);
  });
  it('returns one part by index, negative from the end, absent when out of range', () => {
    expect(run('split', { separator: ' ', index: 0 }, 'Jane Ann Doe')).toBe('Jane');
    expect(run('split', { separator: ' ', index: -1 }, 'Jane Ann Doe')).toBe('Doe');
    expect(run('split', { separator: ' ', index: 5 }, 'Jane Ann Doe')).toBeUndefined();
  });
  it('keeps the rest in the last part with limit', () => {
    expect(run('split', { separator: ' ', limit: 2 }, 'Jane Ann Doe')).toEqual(['Jane', 'Ann Doe']);
    expect(run('split', { separator: ' ', limit: 1 }, 'Jane Ann Doe')).toEqual(['Jane Ann Doe']);
  });
  it('splits on a regular expression, dropping the separators', () => {
    expect(run('split', { pattern: '\\s*[,;]\\s*' }, 'a , b;c')).toEqual(['a', 'b', 'c']);
    expect(run('split', { pattern: '\\r?\\n', limit: 2 }, 'line 1\r\nline 2\nline 3')).toEqual(['line 1', 'line 2\nline 3']);
  });
  it('ignores empty regex matches', () => {
    expect(run('split', { pattern: ',*' }, 'a,,b')).toEqual(['a', 'b']);
  });
  it('refuses bad arguments', () => {
    expect(argError('split', {})).toBe('argument "separator" is required (or give "pattern")');
    expect(argError('split', { separator: ',', pattern: ';' })).toBe('argument "pattern" cannot be combined with "separator"');
    expect(argError('split', { separator: ',', flags: 'i' })).toBe('argument "flags" only applies to "pattern"');
    expect(argError('split', { separator: ',', limit: 0 })).toBe('argument "limit" must be at least 1');
  });
  it('refuses lists as input', () => {
    expect(failure('split', ',', ['a,b'])).toEqual({ rule: 'split', message: 'expected text but got a list' });
  });
});

describe('join', () => {
  it('joins with the separator, skipping absent items', () => {
    expect(run('join', ', ', ['1 High St', null, '', 'Leeds', undefined])).toBe('1 High St, Leeds');
  });
  it('stringifies numbers and booleans', () => {
    expect(run('join', { separator: '-' }, [1, 2.5, true])).toBe('1-2.5-true');
  });
  it('keeps empty items when skipEmpty is false', () => {
    expect(run('join', { separator: ',', skipEmpty: false }, ['a', '', null, 'b'])).toBe('a,,,b');
  });
  it('passes values that are not lists through', () => {
    expect(run('join', ', ', 'already text')).toBe('already text');
    expect(run('join', ', ', 7)).toBe(7);
  });
  it('fails on nested lists and objects', () => {
    expect(failure('join', ', ', ['a', { b: 1 }])).toEqual({ rule: 'join', message: 'expected a list of text but item 2 is an object' });
  });
  it('requires a separator', () => {
    expect(argError('join', undefined)).toBe('argument "separator" is required');
  });
});

describe('first, last, count', () => {
  it('pick items of a list', () => {
    expect(run('first', undefined, ['a', 'b'])).toBe('a');
    expect(run('last', undefined, ['a', 'b'])).toBe('b');
  });
  it('pass other values through', () => {
    expect(run('first', undefined, 'x')).toBe('x');
    expect(run('last', undefined, 3)).toBe(3);
  });
  it('count items, a single value counting as one', () => {
    expect(run('count', undefined, ['a', 'b', 'c'])).toBe(3);
    expect(run('count', undefined, 'x')).toBe(1);
  });
});
