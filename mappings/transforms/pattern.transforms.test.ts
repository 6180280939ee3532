import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

describe('replace', () => {
  it('replaces every regex match', () => {
    expect(run('replace', { pattern: '[^A-Za-z0-9 ]', with: '' }, "O'Neil-Smith, J.")).toBe('ONeilSmith J');
  });
  it('supports group references in the replacement', () => {
    expect(run('replace', { pattern: '(\\d{2})/(\\d{2})', with: '$2-$1' }, '01/02 and 03/04')).toBe('02-01 and 04-03');
    expect(run('replace', { pattern: '(?<w>[a-z]+)', with: '[$<w>]' }, 'ab 12')).toBe('[ab] 12');
  });
  it('honours flags and ignores an explicit g', () => {
    expect(run('replace', { pattern: 'street', with: 'St', flags: 'gi' }, 'High STREET, Street Lane')).toBe('High St, St Lane');
  });
  it('removes matches when with is absent', () => {
    expect(run('replace', { pattern: '\\s+' }, ' a b ')).toBe('ab');
  });
  it('replaces a literal find everywhere, without $ patterns', () => {
    expect(run('replace', { find: '.', with: '' }, 'J.R.R. Tolkien')).toBe('JRR Tolkien');
    expect(run('replace', { find: '$', with: '$&' }, 'a$b$')).toBe('a$&b$&');
  });
  it('is stable across calls (no lastIndex leaks)', () => {
    const args = { pattern: 'a', with: 'b' };
    expect(run('replace', args, 'aaa')).toBe('bbb');
    expect(run('replace', args, 'aaa')).toBe('bbb');
  });
  it('stringifies numbers', () => {
    expect(run('replace', { pattern: '\\.', with: ',' }, 1.5)).toBe('1,5');
  });
  it('refuses bad arguments', () => {
    expect(argError('replace', { pattern: '(' })).toMatch(/^argument "pattern" is not a valid regular expression: /);
    expect(argError('replace', { pattern: 'a', flags: 'x' })).toBe('argument "flags" must be letters among i, m, s, u (got "x")');
    expect(argError('replace', { find: 'a', pattern: 'b' })).toBe('argument "find" cannot be combined with "pattern" or "flags"');
    expect(argError('replace', 'a')).toBe('expects an object of arguments (pattern, find, with, flags)');
  });
});

describe('extract', () => {
  it('returns group 1 by default when the pattern has groups', () => {
    expect(run('extract', { pattern: '^(\\d{4})-(\\d{2})' }, '2024-06-30')).toBe('2024');
  });
  it('returns the whole match when the pattern has no groups', () => {
    expect(run('extract', '\\d+', 'Flat 12b')).toBe('12');
  });
  it('returns a numbered or named group', () => {
    expect(run('extract', { pattern: '^(\\d{4})-(\\d{2})', group: 2 }, '2024-06-30')).toBe('06');
    expect(run('extract', { pattern: '(?<area>[A-Z]{1,2})\\d', group: 'area' }, 'SW1A 1AA')).toBe('SW');
    expect(run('extract', { pattern: '(\\d+)', group: 0 }, 'ab12')).toBe('12');
  });
  it('fails with rule regex when nothing matches', () => {
    expect(failure('extract', '\\d+', 'none')).toEqual({ rule: 'regex', message: '"none" does not match the pattern /\\d+/' });
  });
  it('fails when the chosen group did not take part in the match', () => {
    expect(failure('extract', { pattern: '(a)|(b)', group: 1 }, 'b').rule).toBe('regex');
  });
  it('gives an absent value when optional', () => {
    expect(run('extract', { pattern: '\\d+', optional: true }, 'none')).toBeUndefined();
  });
  it('honours flags', () => {
    expect(run('extract', { pattern: 'ref:(\\w+)', flags: 'i' }, 'REF:ab12')).toBe('ab12');
  });
  it('refuses a group the pattern does not have', () => {
    expect(argError('extract', { pattern: '(a)', group: 2 })).toBe('argument "group" must be at most 1');
    expect(argError('extract', { pattern: '(?<x>a)', group: 'y' })).toBe('argument "group" names no group of the pattern (it has: x)');
    expect(argError('extract', { pattern: '[' })).toMatch(/argument "pattern" is not a valid regular expression/);
  });
});
