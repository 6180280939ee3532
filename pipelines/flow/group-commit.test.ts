import { describe, expect, it } from 'vitest';
import { GroupCommit, GroupCommitRefused } from './group-commit.js';

/** A write that records its batches and finishes each only when the test lets it. */
function gatedWrite() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const fails: (Error | undefined)[] = [];
  const write = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => gates.push(r));
    const fail = fails.shift();
    if (fail) throw fail;
    return items.map((i) => i * 10);
  };
  const release = async () => {
    while (!gates.length) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  /** Resolves once `n` writes have started. */
  const started = async (n: number) => {
    while (batches.length < n) await new Promise((r) => setImmediate(r));
  };
  return { batches, write, release, fails, started };
}

describe('group commit', () => {
  it('writes the items of one turn of the event loop together, gathers those arriving meanwhile into the next write, at most maxBatch each', async () => {
    const w = gatedWrite();
    const gc = new GroupCommit(w.write, { maxBatch: 4, maxPending: 100 });
    const answers = [1, 2].map((i) => gc.submit(i));
    await w.started(1);
    answers.push(...[3, 4, 5, 6, 7].map((i) => gc.submit(i)));
    await w.release();
    await w.release();
    await w.release();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(w.batches).toEqual([[1, 2], [3, 4, 5, 6], [7]]);
  });

  it('answers nobody before their write finished, and fails every caller of a failed write (and only those)', async () => {
    const w = gatedWrite();
    const gc = new GroupCommit(w.write, { maxBatch: 10, maxPending: 100 });
    const settled: string[] = [];
    const a = gc.submit(1).then((v) => settled.push(`a ${v}`), (e: Error) => settled.push(`a ${e.message}`));
    await w.started(1);
    const b = gc.submit(2).then((v) => settled.push(`b ${v}`), (e: Error) => settled.push(`b ${e.message}`));
    const c = gc.submit(3).then((v) => settled.push(`c ${v}`), (e: Error) => settled.push(`c ${e.message}`));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toEqual([]);
    await w.release();
    await a;
    expect(settled).toEqual(['a 10']);
    w.fails.push(new Error('disk gone'));
    await w.release();
    await Promise.all([b, c]);
    expect(settled).toEqual(['a 10', 'b disk gone', 'c disk gone']);
    const d = gc.submit(4);
    await w.release();
    expect(await d).toBe(40);
  });

  it('refuses at once when maxPending items wait, and after close; close waits for the writes in flight', async () => {
    const w = gatedWrite();
    const gc = new GroupCommit(w.write, { maxBatch: 10, maxPending: 2 });
    const first = gc.submit(1);
    await w.started(1);
    const queued = [gc.submit(2), gc.submit(3)];
    await expect(gc.submit(4)).rejects.toEqual(new GroupCommitRefused('full'));
    expect(gc.pending).toBe(2);
    let closed = false;
    const closing = gc.close().then(() => (closed = true));
    await expect(gc.submit(5)).rejects.toEqual(new GroupCommitRefused('closed'));
    await w.release();
    expect(await first).toBe(10);
    expect(closed).toBe(false);
    await w.release();
    expect(await Promise.all(queued)).toEqual([20, 30]);
    await closing;
    expect(closed).toBe(true);
    expect(w.batches).toEqual([[1], [2, 3]]);
  });
});
