/**
 * Taking back work from runners that died. A lease normally expires on its
 * own; a runner that died on this host (kill -9, power cut of a container)
 * is known dead at once by its process id, so its leases are released at the
 * start of the next pass instead of waiting for them to expire.
 */
import { hostname } from 'node:os';
import { processAlive } from '../../connectors/local-process.js';
import type { Logger } from 'pino';

/** What this needs from the ledger. */
export interface LeaseLedger {
  leaseOwners(pipeline: string): Promise<string[]>;
  release(pipeline: string, owner: string): Promise<number | void>;
}


/**
 * Releases the leases of runners on this host whose process is gone. A
 * process id reused by another program only delays the release until the
 * lease expires; it never releases a live runner's work.
 */
export async function releaseDeadLocalRunners(pipeline: string, ledger: LeaseLedger, self: string, log: Logger): Promise<string[]> {
  const host = hostname();
  const released: string[] = [];
  for (const owner of await ledger.leaseOwners(pipeline)) {
    const m = /^runner:(.+):(\d+)$/.exec(owner);
    if (!m || m[1] !== host || owner === self || processAlive(Number(m[2]))) continue;
    await ledger.release(pipeline, owner);
    released.push(owner);
  }
  if (released.length) log.warn({ pipeline, runners: released }, 'took back the work of runners that died on this host; their deliveries are checked before keying again');
  return released;
}
