import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

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
