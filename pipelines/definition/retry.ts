/**
 * Retry timing for failed deliveries: exponential backoff, capped, with
 * jitter so that records failed together do not all come back at once.
 * Pure: randomness is handed in.
 */
import type { RetryPolicy } from './pipeline.types.js';

/** The policy used when a pipeline file has no `retry:` block. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = { maxAttempts: 5, initialDelayMs: 30_000, maxDelayMs: 3_600_000, multiplier: 2, jitter: 0.2 };

/**
 * Milliseconds to wait after failed attempt number `attempt` (1 for the
 * first) before the next: `initialDelay × multiplier^(attempt-1)`, capped at
 * `maxDelay`, then shortened by up to `jitter` of itself (`random` in
 * [0, 1)). The result lies in [d × (1 − jitter), d] for the capped delay d,
 * so it never exceeds `maxDelay`.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const grown = policy.initialDelayMs * Math.pow(policy.multiplier, n - 1);
  const capped = Math.min(policy.maxDelayMs, Number.isFinite(grown) ? grown : policy.maxDelayMs);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(capped * (1 - policy.jitter * r));
}

/** True when a record that has failed `attempts` times may be tried again; false means dead-letter it. */
export function shouldRetry(policy: RetryPolicy, attempts: number): boolean {
  return attempts < policy.maxAttempts;
}
