import { describe, expect, it } from 'vitest';
import { allows, CodedError, codesOf, defineErrors, errorData, isCoded } from './errors.js';

const Sample = defineErrors({
  DOWN: { code: 'SAMPLE_DOWN', disposition: 'retry', means: 'The sample is down.', hint: 'Wait.', otherwise: { fatal: 'when it is gone for good' } },
  BAD: { code: 'SAMPLE_BAD', disposition: 'reject', means: 'The sample is bad.', hint: 'Fix it.' },
});

describe('lib/errors', () => {
  it('refuses a catalogue with a malformed code, a code given twice, or an entry without its sentences', () => {
    expect(() => defineErrors({ X: { code: 'lower_case', disposition: 'fatal', means: 'M.', hint: 'H.' } })).toThrow(/not UPPER_SNAKE_CASE/);
    expect(() => defineErrors({ X: { code: 'NOUNDERSCORE', disposition: 'fatal', means: 'M.', hint: 'H.' } })).toThrow(/not UPPER_SNAKE_CASE/);
    expect(() =>
      defineErrors({ A: { code: 'SAME_CODE', disposition: 'fatal', means: 'M.', hint: 'H.' }, B: { code: 'SAME_CODE', disposition: 'retry', means: 'M.', hint: 'H.' } }),
    ).toThrow(/SAME_CODE is defined twice/);
    expect(() => defineErrors({ X: { code: 'NO_HINT', disposition: 'fatal', means: 'M.', hint: ' ' } })).toThrow(/what to do/);
  });

  it('gives a coded error its entry’s code, disposition and hint, and plain data for a worker boundary', () => {
    const e = new CodedError(Sample.DOWN, 'the sample at /x is down', { data: { path: '/x' } });
    expect(e).toMatchObject({ code: 'SAMPLE_DOWN', disposition: 'retry', hint: 'Wait.', data: { path: '/x' }, message: 'the sample at /x is down' });
    expect(e.toData()).toEqual({ code: 'SAMPLE_DOWN', disposition: 'retry', message: 'the sample at /x is down' });
    expect(isCoded(e)).toBe(true);
    expect(isCoded(structuredClone(e.toData()))).toBe(true);
    expect(isCoded(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
  });

  it('allows another disposition only when the entry lists it', () => {
    expect(new CodedError(Sample.DOWN, 'gone', { disposition: 'fatal' }).disposition).toBe('fatal');
    expect(() => new CodedError(Sample.DOWN, 'bad', { disposition: 'reject' })).toThrow(/SAMPLE_DOWN is never reject/);
    expect(allows(Sample.BAD, 'reject')).toBe(true);
    expect(allows(Sample.BAD, 'retry')).toBe(false);
  });

  it('builds the plain error of one record, naming its field when given', () => {
    expect(errorData(Sample.BAD, 'SURNAME: too long', { field: 'SURNAME' })).toEqual({ code: 'SAMPLE_BAD', disposition: 'reject', message: 'SURNAME: too long', field: 'SURNAME' });
    expect(errorData(Sample.BAD, 'bad')).toEqual({ code: 'SAMPLE_BAD', disposition: 'reject', message: 'bad' });
    expect(codesOf(Sample)).toEqual({ DOWN: 'SAMPLE_DOWN', BAD: 'SAMPLE_BAD' });
  });
});
