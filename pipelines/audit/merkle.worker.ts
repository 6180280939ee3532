/**
 * The audit log's Merkle worker (see `merkle-thread.ts`): the root over
 * one batch's record texts, as hex.
 */
import { recordTexts } from './audit.hash.js';
import { leafHash, merkleRoot } from './merkle.js';

/** The task: the record texts joined by commas, and each one's length. */
export interface MerkleTask {
  joined: string;
  lengths: Uint32Array;
}

export default function merkleTask(task: MerkleTask): string {
  return merkleRoot(recordTexts(task.joined, task.lengths).map(leafHash)).toString('hex');
}
