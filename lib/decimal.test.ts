import { describe, expect, it } from 'vitest';
import { decimalOf, parseDecimal, roundDecimal } from './decimal.js';

describe('decimal helpers', () => {
  it('read numbers exactly, including exponent forms', () => {
    expect(decimalOf(1.5e-7)).toEqual({ neg: false, int: '0', frac: '00000015' });
    expect(decimalOf(-1.25e22)).toEqual({ neg: true, int: '12500000000000000000000', frac: '' });
    expect(decimalOf(100)).toEqual({ neg: false, int: '100', frac: '' });
  });
  it('keep digits beyond float precision from text', () => {
    const d = parseDecimal('12345678901234567890.125');
    expect(d).toEqual({ neg: false, int: '12345678901234567890', frac: '125' });
    expect(roundDecimal(d!, 2)).toEqual({ neg: false, int: '12345678901234567890', frac: '13' });
  });
  it('carry through all nines', () => {
    expect(roundDecimal({ neg: false, int: '999', frac: '95' }, 1)).toEqual({ neg: false, int: '1000', frac: '0' });
  });
});
