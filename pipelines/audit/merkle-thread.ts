/**
 * Merkle roots of large batches, computed on a thread of their own. A
 * SHA-256 call costs about 2 µs in Node whatever its size, and a tree of n
 * records takes 2n - 1 of them: on the main thread that would be about 4 µs
 * of every submission's time per entry, where hashing the batch's text in
 * one call cost 0.3. The thread takes that work while the main thread goes
 * on with the next chunk; what the main thread keeps is serialising the
 * records, which the stored text needs anyway, and one copy of their text.
 * Batches under `INLINE_BELOW` records are hashed in place: handing them
 * over costs more than it saves. The pool (piscina, one thread) starts on
 * first use and lets its thread go after a short idle time, so it never
 * holds a process open.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { recordTexts } from './audit.hash.js';
import { leafHash, merkleRoot } from './merkle.js';
import type { MerkleTask } from './merkle.worker.js';

/** Batches with fewer records than this are hashed on the calling thread. */
export const INLINE_BELOW = 256;

let pool: Piscina | undefined;

function thread(): Piscina {
  if (!pool) {
    const ts = import.meta.url.endsWith('.ts');
    const filename = fileURLToPath(new URL(ts ? './merkle.worker.ts' : './merkle.worker.js', import.meta.url));
    pool = new Piscina({ filename, minThreads: 0, maxThreads: 1, idleTimeout: 2_000, execArgv: ts ? ['--import', 'tsx'] : [] });
  }
  return pool;
}

/** The Merkle root (hex) over record texts given joined by commas with each one's length, off the calling thread for a large batch. */
export async function merkleRootOf(joined: string, lengths: Uint32Array): Promise<string> {
  if (lengths.length < INLINE_BELOW) return merkleRoot(recordTexts(joined, lengths).map(leafHash)).toString('hex');
  return (await thread().run({ joined, lengths } satisfies MerkleTask)) as string;
}
