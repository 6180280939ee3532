/**
 * What every benchmark's runner pass shares: a fixed PII key (so runs are
 * comparable), one runner identity, a warn-level log, no wait for retries.
 */
import pino from 'pino';
import type { PassOptions } from '../pipelines/flow/flow.types.js';
import { piiHasher } from '../runner/runtime.js';

/** The PII key of every benchmark. */
export const BENCH_PII_KEY = Buffer.alloc(16, 7);

/** Pass options of a benchmark run; spread the mapping pool's options after them where one maps. */
export function benchPassOptions(leaseMs = 600_000): PassOptions {
  return {
    owner: 'runner:bench:1',
    actor: 'runner:bench:1',
    log: pino({ level: 'warn' }),
    signal: new AbortController().signal,
    leaseMs,
    retryWaitMs: 0,
    piiHash: piiHasher(BENCH_PII_KEY),
  };
}
