import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, shouldRetry } from './retry.js';
import { formatDuration, parseDuration } from './duration.js';

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

describe('durations', () => {
  it('reads units and combinations', () => {
    expect(['30s', '5m', '1h', '2d', '250ms', '1h30m', '1.5s', '0s'].map(parseDuration)).toEqual([30_000, 300_000, 3_600_000, 172_800_000, 250, 5_400_000, 1500, 0]);
  });

  it('refuses bare numbers, spaces and unknown units', () => {
    expect(['30', '30 s', '5min', '', '1h 30m', 'h', '-5s'].map(parseDuration)).toEqual(Array(7).fill(undefined));
  });

  it('writes what it reads', () => {
    expect([5_400_000, 250, 0, 90_061_001].map(formatDuration)).toEqual(['1h30m', '250ms', '0s', '1d1h1m1s1ms']);
  });
});
