import { describe, expect, it } from 'vitest';
import { TRANSFORMS } from './index.js';
import { meantTransform, TRANSFORM_SYNONYMS } from './synonyms.js';

const known = new Set(TRANSFORMS.keys());

describe('transform synonyms', () => {
  it('name only transforms that exist, and no synonym is a transform or listed twice', () => {
    for (const target of Object.keys(TRANSFORM_SYNONYMS)) expect(known.has(target), target).toBe(true);
    const all = Object.values(TRANSFORM_SYNONYMS).flat().map((s) => s.toLowerCase());
    const names = [...known].map((n) => n.toLowerCase());
    expect(all.filter((s) => names.includes(s))).toEqual([]);
    expect(all.filter((s, i) => all.indexOf(s) !== i)).toEqual([]);
  });

  it('answer a synonym in any case, else a near spelling, else nothing', () => {
    expect(meantTransform('UpperCase', known)).toBe('upper');
    expect(meantTransform('postalcode', known)).toBe('postcode');
    expect(meantTransform('uper', known)).toBe('upper');
    expect(meantTransform('frobnicate', known)).toBeUndefined();
  });

  it('refuse a table that names a transform that does not exist', () => {
    expect(() => meantTransform('uppercase', new Set(['lower']))).toThrow('transform synonyms name "trim", which is no transform');
  });
});
