/**
 * The I/O half of acknowledgement handling: finds the answer files in the
 * answers folder for the published files of the journal and reconciles
 * each (see ack.reconcile.ts). Reads only; what to do with the results
 * (confirm accepted records, dead-letter rejected ones) is the ledger's.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ConnectorState } from '../../connector.types.js';
import { loadEntries, loadKeys } from '../journal.js';
import type { AckConfig } from './ack.config.js';
import { decodeAck, matchAcks, reconcileAck, type Reconciliation } from './ack.reconcile.js';

/**
 * Reconciles every published file of the journal in `state` whose answer
 * is in `folder`, that is not listed in `done` and whose answer was not
 * applied yet (`answered`); reads the keys of those files only.
 * A missing folder means no answers yet.
 */
export async function readAnswers(folder: string, state: ConnectorState, config: AckConfig, done: ReadonlySet<string> = new Set()): Promise<Reconciliation[]> {
  let found: string[];
  try {
    found = await readdir(folder);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const waiting = (await loadEntries(state)).filter((e) => e.state === 'published' && !e.answered && !done.has(e.name));
  const out: Reconciliation[] = [];
  for (const { file, ack } of matchAcks(config.match, waiting, found)) {
    const keys = await loadKeys(state, file);
    out.push(reconcileAck({ name: file.name, seq: file.seq, keys }, ack, decodeAck(await readFile(`${folder}/${ack}`), config), config));
  }
  return out;
}
