/**
 * One writer at a time among the threads of this process that write one
 * SQLite file (the main thread and the ledger thread, see
 * `runner/pool/ledger-thread.ts`), taken before SQLite's own lock.
 *
 * SQLite lets one connection write at a time; another that asks meanwhile
 * is told busy and its busy handler sleeps, blocking its thread, and
 * polls. On the main thread that sleep stopped the webhook intake, the
 * console and the pass for its length, and a poll could wake well after
 * the lock was free (BENCHMARKS.md, "The ledger on a thread of its own").
 * Here a thread waits for the other's write without blocking
 * (`Atomics.waitAsync`) and is woken when it ends. The lock word holds
 * the holder's thread id plus one, so a thread that ended holding it can
 * be cleared (`releaseIfHeldBy`). Other processes are not concerned:
 * SQLite's lock still orders them.
 */
import { threadId } from 'node:worker_threads';

/** How long a thread waits for the other's write before it goes on to SQLite's own lock (and its busy handling) regardless: SQLite's busy timeout. */
const WAIT_LIMIT_MS = 5_000;

/** A write lock shared by the threads of one process, over a `SharedArrayBuffer` handed from one to the other. */
export class WriteLock {
  private readonly word: Int32Array;
  /** This thread as a holder: its id plus one (0 is free). */
  readonly holder = threadId + 1;

  constructor(
    readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4),
    private readonly waitLimitMs = WAIT_LIMIT_MS,
  ) {
    this.word = new Int32Array(buffer);
  }

  /** Who holds the lock: a thread id plus one, or 0 when it is free. */
  get heldBy(): number {
    return Atomics.load(this.word, 0);
  }

  /**
   * Runs `fn` holding the lock: at once when it is free, else once the
   * holder lets it go. After `waitLimitMs` (default {@link WAIT_LIMIT_MS}) of waiting `fn` runs
   * without it, as before this lock (SQLite's lock still orders writes),
   * so a holder that never lets go delays writes but cannot stop them.
   */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const held = await this.acquire();
    try {
      return await fn();
    } finally {
      if (held) this.releaseIfHeldBy(this.holder);
    }
  }

  /** Frees the lock if `holder` holds it (a thread that ended holding it), waking the threads that wait. */
  releaseIfHeldBy(holder: number): void {
    if (Atomics.compareExchange(this.word, 0, holder, 0) === holder) Atomics.notify(this.word, 0);
  }

  private async acquire(): Promise<boolean> {
    const until = Date.now() + this.waitLimitMs;
    for (;;) {
      const seen = Atomics.compareExchange(this.word, 0, 0, this.holder);
      if (seen === 0) return true;
      const left = until - Date.now();
      if (left <= 0) return false;
      const wait = Atomics.waitAsync(this.word, 0, seen, left);
      if (wait.async) await wait.value;
    }
  }
}
