import { describe, expect, it } from 'vitest';
import { killPoints, LONG_TESTS, sized } from './test-tier.test-helpers.js';

describe.skipIf(LONG_TESTS)('the bounded form of the test suite', () => {
  it('keeps the first kill point of each kind, in order, as strings or cases', () => {
    expect(killPoints(['after-receive:1', 'after-receive:2', 'after-delivering:4', 'after-target-commit:12', 'file-drop-before-rename:2', 'after-target-commit:5'])).toEqual([
      'after-receive:1',
      'after-delivering:4',
      'after-target-commit:12',
      'file-drop-before-rename:2',
    ]);
    expect(killPoints([{ at: 'after-delivering:2', reached: 10 }, { at: 'after-delivering:3' }, { at: 'after-ledger-delivered:2' }])).toEqual([{ at: 'after-delivering:2', reached: 10 }, { at: 'after-ledger-delivered:2' }]);
  });

  it('sizes to the bounded count unless an override is a positive whole number', () => {
    expect(sized(12, 50)).toBe(12);
    expect(sized(12, 50, '30')).toBe(30);
    expect(sized(12, 50, '0')).toBe(12);
    expect(sized(12, 50, 'many')).toBe(12);
    expect(sized(12, 50, '')).toBe(12);
  });
});
