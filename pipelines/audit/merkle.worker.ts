/**
 * The audit log's Merkle worker (see `merkle-thread.ts`): the root over
 * one batch's record texts, given as their UTF-8 bytes joined by commas
 * with each one's byte length, as hex.
 */
import { leafHash, merkleRoot } from './merkle.js';

/** The task: the records' texts joined by commas, as UTF-8, and each one's length in bytes. */
export interface MerkleTask {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

export default function merkleTask(task: MerkleTask): string {
  const leaves: Buffer[] = [];
  let at = 0;
  for (const n of task.lengths) {
    leaves.push(leafHash(task.bytes.subarray(at, at + n)));
    at += n + 1;
  }
  return merkleRoot(leaves).toString('hex');
}
