/**
 * Who holds a claim: `runner:<host>:<pid>:<instance>`. A claim whose owner
 * ran on this host and is gone can be taken back at once instead of
 * waiting for the claim timeout. Gone means: its process has ended, or it
 * names this very process id (a restart that got the same id, as pid 1 in a
 * container does) with an instance this process never opened or has
 * closed.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive } from '../local-process.js';

const open = new Set<string>();

/** A new owner id for one source instance, known as live until {@link retireOwnerId}. */
export function newOwnerId(): string {
  const id = `runner:${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  open.add(id);
  return id;
}

/** Marks `id` closed: its leftover claims may be taken back at once. */
export function retireOwnerId(id: string): void {
  open.delete(id);
}


/**
 * True when `owner` names a runner on this host that is gone (see the file
 * comment). A process id since reused by another program reads as alive:
 * that claim then waits for its timeout; it is never taken from a live
 * runner.
 */
export function isDeadLocalOwner(owner: string): boolean {
  const m = /^runner:(.+):(\d+):[0-9a-f]+$/.exec(owner);
  if (m === null || m[1] !== hostname()) return false;
  const pid = Number(m[2]);
  return pid === process.pid ? !open.has(owner) : !processAlive(pid);
}
