import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, shouldRetry } from './retry.js';

const policy = { maxAttempts: 8, initialDelayMs: 30_000, maxDelayMs: 3_600_000, multiplier: 2, jitter: 0.2 };

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay without jitter', () => {
    const none = () => 0;
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy, a, none))).toEqual([30_000, 60_000, 120_000, 240_000]);
  });

  it('is capped at maxDelay, also for huge attempt numbers', () => {
    expect(backoffDelay(policy, 8, () => 0)).toBe(3_600_000);
    expect(backoffDelay(policy, 5000, () => 0)).toBe(3_600_000);
  });

  it('stays within [d × (1 − jitter), d] for every attempt and random value', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const d = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const delay = backoffDelay(policy, attempt, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(d * 0.8));
        expect(delay).toBeLessThanOrEqual(d);
      }
    }
    expect(backoffDelay(policy, 1, () => 0.5)).toBe(27_000);
  });

  it('treats attempts below 1 as the first', () => {
    expect(backoffDelay(policy, 0, () => 0)).toBe(30_000);
  });
});

describe('shouldRetry', () => {
  it('retries until maxAttempts attempts were made', () => {
    expect(shouldRetry(policy, 1)).toBe(true);
    expect(shouldRetry(policy, 7)).toBe(true);
    expect(shouldRetry(policy, 8)).toBe(false);
    expect(shouldRetry({ ...DEFAULT_RETRY, maxAttempts: 1 }, 1)).toBe(false);
  });
});
