/**
 * Group commit: callers hand in one item each and wait; items that arrive
 * in the same turn of the event loop, or while a write is in flight, are
 * collected and written together by the next write (one transaction for
 * many requests). Each caller is answered when the write holding its item
 * has finished, never before. Bounded: at most `maxBatch` items per write
 * and `maxPending` waiting.
 */

/** Thrown by `submit` when `maxPending` items are already waiting, or after `close`. */
export class GroupCommitRefused extends Error {
  constructor(readonly reason: 'full' | 'closed') {
    super(reason === 'full' ? 'too many items are waiting to be written' : 'no longer accepting items');
    this.name = 'GroupCommitRefused';
  }
}

interface Waiting<I, O> {
  item: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

/** Limits of a {@link GroupCommit}. */
export interface GroupCommitLimits {
  maxBatch: number;
  maxPending: number;
}

/** Writes items in batches with `write`, one write at a time. */
export class GroupCommit<I, O> {
  private queue: Waiting<I, O>[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

  /**
   * `write` gets a batch and must resolve one result per item, in order, only
   * once the batch is durable; if it throws, every caller in that batch gets
   * the error.
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly limits: GroupCommitLimits,
  ) {}

  /** True once {@link close} was called: `submit` refuses from then on. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Items waiting for a write (not counting the one in flight). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues `item` and resolves with its result once written. Rejects with
   * {@link GroupCommitRefused} at once when full or closed (nothing queued).
   */
  submit(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new GroupCommitRefused('closed'));
    if (this.queue.length >= this.limits.maxPending) return Promise.reject(new GroupCommitRefused('full'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      // A turn of the event loop first, so that the requests read in this turn join the batch: a write that
      // finishes without leaving the thread (the SQLite state store's) would otherwise write one item at a time.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = this.queue.splice(0, this.limits.maxBatch);
      try {
        const out = await this.write(batch.map((w) => w.item));
        if (out.length !== batch.length) throw new Error(`write returned ${out.length} results for ${batch.length} items`);
        batch.forEach((w, i) => w.resolve(out[i] as O));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.writing = undefined;
  }

  /** Refuses new items and resolves once everything queued has been written (or failed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
  }
}
