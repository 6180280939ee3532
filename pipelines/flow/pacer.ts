/**
 * Paces work to a rate towards a legacy system: each `take(n)` reserves the
 * next n/rate seconds of capacity and waits until its slot begins, so bursts
 * from concurrent batches are spread out, never exceeding the rate on average.
 */

/** Waits `ms`, or less if `signal` aborts (then it resolves early, without throwing). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A rate: `take(n)` resolves when n units may be used (early, without throwing, when `signal` aborts). */
export interface Pace {
  take(n: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The pace of pipeline `p` (its `ratePerSecond`; none without one): the
 * ledger's when it shares the rate across runners (`FlowLedger.pace`, on
 * PostgreSQL), else a `Pacer` of this pass alone.
 */
export function paceOf(p: { name: string; ratePerSecond?: number }, ledger: { pace?(pipeline: string, perSecond: number): Pace | undefined }): Pace | undefined {
  if (!p.ratePerSecond) return undefined;
  return ledger.pace?.(p.name, p.ratePerSecond) ?? new Pacer(p.ratePerSecond);
}

/** A rate of `perSecond` units, shared by every caller of one instance. */
export class Pacer implements Pace {
  private nextFree = 0;
  constructor(
    private readonly perSecond: number,
    private readonly clock: () => number = Date.now,
  ) {
    if (!(perSecond > 0)) throw new Error(`rate must be above 0, got ${perSecond}`);
  }

  /** Reserves `n` units and resolves when they may be used. */
  take(n: number, signal?: AbortSignal): Promise<void> {
    const now = this.clock();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (n / this.perSecond) * 1000;
    return sleep(start - now, signal);
  }
}
