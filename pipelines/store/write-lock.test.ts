/**
 * The write lock the threads of one process take before writing one
 * SQLite file: writes take turns, a lock an ended thread held is freed,
 * and a holder that never lets go delays writes but cannot stop them.
 */
import { describe, expect, it } from 'vitest';
import { WriteLock } from './write-lock.js';

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((ok) => (open = ok));
  return { open, opened };
}

describe('WriteLock', () => {
  it('lets one write run at a time among locks on one buffer, the next when the first ends', async () => {
    const a = new WriteLock();
    const b = new WriteLock(a.buffer);
    const order: string[] = [];
    const first = gate();
    const one = a.run(async () => {
      order.push('a starts');
      await first.opened;
      order.push('a ends');
    });
    const two = b.run(async () => {
      order.push('b starts');
    });
    await new Promise((ok) => setTimeout(ok, 20));
    expect(order).toEqual(['a starts']);
    expect(a.heldBy).toBe(a.holder);
    first.open();
    await Promise.all([one, two]);
    expect(order).toEqual(['a starts', 'a ends', 'b starts']);
    expect(a.heldBy).toBe(0);
  });

  it('frees the lock when the write throws', async () => {
    const lock = new WriteLock();
    await expect(lock.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(lock.heldBy).toBe(0);
    expect(await lock.run(async () => 'next')).toBe('next');
  });

  it('wakes a waiting write when a holder that ended is cleared', async () => {
    const lock = new WriteLock();
    const word = new Int32Array(lock.buffer);
    Atomics.store(word, 0, 99);
    let ran = false;
    const waiting = lock.run(async () => {
      ran = true;
    });
    await new Promise((ok) => setTimeout(ok, 20));
    expect(ran).toBe(false);
    lock.releaseIfHeldBy(7);
    expect(lock.heldBy).toBe(99);
    lock.releaseIfHeldBy(99);
    await waiting;
    expect(ran).toBe(true);
    expect(lock.heldBy).toBe(0);
  });

  it('runs a write without the lock once the wait limit passed, leaving the holder\'s claim alone', async () => {
    const lock = new WriteLock(new SharedArrayBuffer(4), 50);
    Atomics.store(new Int32Array(lock.buffer), 0, 99);
    expect(await lock.run(async () => 'ran')).toBe('ran');
    expect(lock.heldBy).toBe(99);
  });
});
