/**
 * Mapping workers run below the thread that started them (Linux nice
 * values are per thread), so that on busy cores the ledger's thread and the
 * main thread go first. Its own file, so that no other test's threads are
 * about.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MappingPool } from './mapping-pool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mappingFile = `${root}examples/mappings/change-of-address.yaml`;

/** The nice value of each JavaScript worker thread of this process, from /proc. */
function workerNices(): number[] {
  const nices: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'WorkerThread') continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After the command name: the nice value is field 19.
      nices.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nices.sort((a, b) => a - b);
}

describe.skipIf(!existsSync('/proc/self/task'))('mapping workers\' priority', () => {
  let pool: MappingPool | undefined;
  afterAll(() => pool?.close());

  it('runs each mapping worker 10 nice levels below the thread that started it, and maps as before', async () => {
    const mine = getPriority();
    const lowered = Math.min(19, mine + 10);
    // Threads already here (a loader's) run at this thread's priority; run from TypeScript, each worker also has a loader thread of its own, also at it.
    expect(workerNices().filter((n) => n !== mine)).toEqual([]);
    pool = new MappingPool(mappingFile, 2);
    const results = await Promise.all([1, 2, 3, 4].map(() => pool!.mapMany([{ submission_reference: 'X' }])));
    expect(results.map((r) => r.length)).toEqual([1, 1, 1, 1]);
    await expect.poll(() => workerNices().filter((n) => n === lowered), { timeout: 10_000 }).toEqual([lowered, lowered]);
    expect(workerNices().filter((n) => n !== lowered && n !== mine)).toEqual([]);
    expect(getPriority()).toBe(mine);
  });
});
