import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('spreads reservations so the rate is never exceeded on average', () => {
    let now = 1_000;
    const waits: number[] = [];
    const pacer = new Pacer(50, () => now);
    const take = (n: number) => {
      const before = (pacer as unknown as { nextFree: number }).nextFree;
      void pacer.take(n);
      waits.push(Math.max(0, Math.max(now, before) - now));
    };
    take(50);
    take(25);
    take(25);
    now += 3_000;
    take(10);
    expect(waits).toEqual([0, 1_000, 1_500, 0]);
  });

  it('refuses a rate that is not above zero', () => {
    expect(() => new Pacer(0)).toThrow('rate must be above 0, got 0');
  });
});
