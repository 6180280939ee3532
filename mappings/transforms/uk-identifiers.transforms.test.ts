import { describe, expect, it } from 'vitest';
import { argError, failure, run } from './test-support.js';

describe('postcode', () => {
  it.each([
    ['m1 1ae', 'M1 1AE'],
    ['B338TH', 'B33 8TH'],
    ['w1a0ax', 'W1A 0AX'],
    [' cr2  6xh ', 'CR2 6XH'],
    ['DN55 1PT', 'DN55 1PT'],
    ['ec1a1bb', 'EC1A 1BB'],
    [' sw1a1aa', 'SW1A 1AA'],
  ])('normalises %j to %j', (input, expected) => {
    expect(run('postcode', undefined, input)).toBe(expected);
  });
  it('writes the compact, outward and inward forms', () => {
    expect(run('postcode', 'compact', 'sw1a 1aa')).toBe('SW1A1AA');
    expect(run('postcode', { format: 'outward' }, 'sw1a 1aa')).toBe('SW1A');
    expect(run('postcode', { format: 'inward' }, 'sw1a 1aa')).toBe('1AA');
  });
  it.each(['SW1A 1ZZZ', 'GIR 0AA', 'BFPO 1234', 'SW1A', 'SW1A-1AA', '1AA SW1A', 'Q'])('refuses %j', (input) => {
    expect(failure('postcode', undefined, input)).toEqual({ rule: 'postcode', message: `"${input}" is not a valid UK postcode` });
  });
  it('refuses numbers and objects', () => {
    expect(failure('postcode', undefined, 12345)).toEqual({ rule: 'postcode', message: '"12345" is not a valid UK postcode' });
    expect(failure('postcode', undefined, { postcode: 'SW1A 1AA' })).toEqual({ rule: 'postcode', message: 'expected text but got an object' });
  });
  it('refuses an unknown format', () => {
    expect(argError('postcode', 'lower')).toBe('argument "format" must be one of: spaced, compact, outward, inward');
  });
});

describe('nino', () => {
  it('normalises case and spacing', () => {
    expect(run('nino', undefined, 'ab 12 34 56 c')).toBe('AB123456C');
    expect(run('nino', undefined, ' AB123456C ')).toBe('AB123456C');
    expect(run('nino', 'spaced', 'ab123456c')).toBe('AB 12 34 56 C');
    expect(run('nino', { format: 'spaced' }, 'OA 12 34 56 D')).toBe('OA 12 34 56 D');
  });
  const message = (input: string, problem: string): { rule: string; message: string } => ({
    rule: 'nino',
    message: `"${input}" is not a valid National Insurance number: ${problem}`,
  });
  it.each(['DA123456A', 'FA123456A', 'IA123456A', 'QQ123456C', 'UA123456A', 'VA123456A'])('refuses the first letter of %s', (input) => {
    expect(failure('nino', undefined, input)).toEqual(message(input, 'the first letter cannot be D, F, I, Q, U or V'));
  });
  it.each(['AD123456A', 'AF123456A', 'AI123456A', 'AO123456A', 'AQ123456A', 'AU123456A', 'AV123456A'])('refuses the second letter of %s', (input) => {
    expect(failure('nino', undefined, input)).toEqual(message(input, 'the second letter cannot be D, F, I, O, Q, U or V'));
  });
  it.each(['BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'])('refuses the prefix %s', (prefix) => {
    expect(failure('nino', undefined, `${prefix}123456A`)).toEqual(message(`${prefix}123456A`, `the prefix ${prefix} is never issued`));
  });
  it('refuses a bad suffix', () => {
    expect(failure('nino', undefined, 'AB123456E')).toEqual(message('AB123456E', 'the last letter must be A, B, C or D'));
  });
  it.each(['AB12345C', 'AB1234567C', 'AB123456', '12AB3456C', 'AB12 34 5X C'])('refuses the shape of %j', (input) => {
    expect(failure('nino', undefined, input)).toEqual(message(input, 'expected two letters, six digits and a letter A to D, like AB123456C'));
  });
});

describe('phone', () => {
  it('writes E.164 by default', () => {
    expect(run('phone', undefined, '07700 900123')).toBe('+447700900123');
    expect(run('phone', undefined, '+44 7700 900123')).toBe('+447700900123');
    expect(run('phone', undefined, '020 7946 0000')).toBe('+442079460000');
    expect(run('phone', undefined, '+44 (0)20 7946 0000')).toBe('+442079460000');
    expect(run('phone', undefined, 7700900123)).toBe('+447700900123');
  });
  it('writes national, international and digits formats', () => {
    expect(run('phone', 'national', '+44 7700 900123')).toBe('07700 900123');
    expect(run('phone', 'international', '07700 900123')).toBe('+44 7700 900123');
    expect(run('phone', 'international', '020 7946 0000')).toBe('+44 20 7946 0000');
    expect(run('phone', { format: 'digits' }, '020 7946 0000')).toBe('02079460000');
    expect(run('phone', { format: 'digits' }, '+44 7700 900123')).toBe('07700900123');
  });
  it('keeps foreign numbers international, with 00 in digits', () => {
    expect(run('phone', 'digits', '+33 6 12 34 56 78')).toBe('0033612345678');
    expect(run('phone', 'national', '+33 6 12 34 56 78')).toBe('06 12 34 56 78');
  });
  it('reads numbers national to another region', () => {
    expect(run('phone', { region: 'US', format: 'international' }, '(213) 373-4253')).toBe('+1 213 373 4253');
  });
  it('accepts Ofcom drama numbers unless validation is valid', () => {
    expect(failure('phone', { validation: 'valid' }, '07700 900123')).toEqual({ rule: 'phone', message: '"07700 900123" is not a valid phone number' });
    expect(run('phone', { validation: 'valid' }, '020 7946 0000')).toBe('+442079460000');
  });
  it.each(['123', 'abc', '02079460000000', '+44'])('refuses %j', (input) => {
    expect(failure('phone', undefined, input)).toEqual({ rule: 'phone', message: `"${input}" is not a valid phone number` });
  });
  it('refuses an extension where the format cannot hold it', () => {
    expect(failure('phone', undefined, '020 7946 0000 ext 123')).toEqual({
      rule: 'phone',
      message: '"020 7946 0000 ext 123" has an extension, which the E.164 format cannot hold',
    });
    expect(run('phone', 'national', '020 7946 0000 ext 123')).toBe('020 7946 0000 x123');
  });
  it('refuses bad arguments', () => {
    expect(argError('phone', { region: 'XX' })).toBe('argument "region" "XX" is not a supported country code (use ISO 3166 codes such as GB)');
    expect(argError('phone', 'e164')).toBe('argument "format" must be one of: E.164, national, international, digits');
  });
});
