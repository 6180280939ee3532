/** A transform chain outside a mapping: steps as in a mapping's transform list, problems naming the step. */
import { describe, expect, it } from 'vitest';
import { compileTransformChain } from './chain.js';

describe('compileTransformChain', () => {
  it('applies the steps in order', () => {
    const chain = compileTransformChain(['trim', 'upper', { replace: { pattern: '\\s+', with: '' } }]);
    expect(chain(' ab12 cde ')).toBe('AB12CDE');
  });

  it('names the step of an unknown transform, refused arguments, a lookup', () => {
    expect(() => compileTransformChain(['upper', 'uper'])).toThrow('[1] unknown transform "uper"');
    expect(() => compileTransformChain([{ replace: { pattern: '(' } }])).toThrow(/^\[0\] replace: /);
    expect(() => compileTransformChain([{ lookup: 'TITLES' }])).toThrow('[0] lookup: lookups can only be used in a mapping');
    expect(() => compileTransformChain([{ upper: 1, lower: 2 }])).toThrow('[0] a transform step is a name (upper) or a single-key mapping ({ truncate: 35 })');
  });
});
