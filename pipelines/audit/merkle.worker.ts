/**
 * The audit log's Merkle worker (see `merkle-thread.ts`): the root over
 * one batch's record texts, given joined by newlines (JSON text never
 * holds a raw newline), as hex.
 */
import { leafHash, merkleRoot } from './merkle.js';

/** The task: the record texts, joined by `\n`. */
export interface MerkleTask {
  joined: string;
}

export default function merkleTask(task: MerkleTask): string {
  return merkleRoot(task.joined.split('\n').map(leafHash)).toString('hex');
}
