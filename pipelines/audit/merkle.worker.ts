/**
 * The audit log's Merkle worker (see `merkle-thread.ts`): the root over
 * one batch's record texts, given as their UTF-8 bytes joined by commas
 * with each one's byte length, as hex.
 */
import { merkleRootOfJoined } from './merkle.js';

/** The task: the records' texts joined by commas, as UTF-8, and each one's length in bytes. */
export interface MerkleTask {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

export default function merkleTask(task: MerkleTask): string {
  return merkleRootOfJoined(task.bytes, task.lengths).toString('hex');
}
