/**
 * Merkle roots of large batches, computed on a thread of their own. A
 * tree of n records takes 2n - 1 SHA-256 calls, about 1 µs a record of
 * 500 bytes even as `merkleRootOfJoined` makes them (4.8 µs with a `Hash`
 * object and a Buffer per node), where hashing the batch's text in one
 * call cost 0.3. The thread takes that work while the calling thread goes
 * on with the next chunk; what the caller keeps is serialising the
 * records, which the stored text needs anyway, and encoding their text as
 * UTF-8 bytes, which are shared or handed over, not copied.
 * Batches under `INLINE_BELOW` records are hashed in place: handing them
 * over costs more than it saves. The pool (piscina, one thread) starts on
 * first use and lets its thread go after a short idle time, so it never
 * holds a process open.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { joinedBytes, merkleRootOfJoined, merkleRootOfTexts } from './merkle.js';
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

/**
 * The Merkle root (hex) over record texts joined by commas, off the
 * calling thread for a large batch: given as text, with each one's length
 * in characters (`rekey audit verify` reads them so), or as UTF-8 bytes,
 * with each one's length in bytes (the log's writer encodes them so, in
 * shared memory, which the thread then reads where it lies).
 */
export async function merkleRootOf(joined: string | Uint8Array, lengths: Uint32Array): Promise<string> {
  if (lengths.length < INLINE_BELOW) return typeof joined === 'string' ? merkleRootOfTexts(joined, lengths) : merkleRootOfJoined(joined, lengths).toString('hex');
  // Bytes, not a string, go to the thread: a string is copied there at about 2 ns a byte of this thread's time, where encoding it costs less and the bytes are then handed over whole.
  const task: MerkleTask = typeof joined === 'string' ? joinedBytes(joined, lengths) : { bytes: joined, lengths };
  // Bytes in shared memory are shared, not copied; a buffer of their own (not a slice of Node's pool) is handed over; any other is copied.
  const shared = task.bytes.buffer instanceof SharedArrayBuffer;
  const whole = !shared && task.bytes.byteOffset === 0 && task.bytes.byteLength === task.bytes.buffer.byteLength;
  return (await thread().run(task, { transferList: whole ? [task.bytes.buffer as ArrayBuffer] : [] })) as string;
}
