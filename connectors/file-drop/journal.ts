/**
 * The file-drop target's journal in the connector state: one entry per
 * data file, so that a crash never leaves a record in two files or a
 * partial file under its final name.
 *
 * - `open`: the file is being written under its temporary name (written
 *   when the file is opened, with the runner's host and process id).
 * - `pending`: the file is complete and fsynced; the keys in record order,
 *   the SHA-256 and the totals are recorded; the rename comes next.
 * - `published`: renamed into place (with its manifest and trigger).
 *
 * A published entry gets `answered` once the legacy system's answer file
 * has been applied to the ledger; its answers are not read again.
 *
 * On connect, entries left `open` or `pending` by a process that is gone
 * are settled: an open file is deleted (its records were never delivered,
 * they are delivered again); a pending file whose temporary file is still
 * there is deleted too; a pending file whose final name exists (or whose
 * temporary file is gone: renamed, then taken by the legacy system) is
 * published, and its records are answered as already present.
 */
import { hostname } from 'node:os';
import type { ConnectorState } from '../connector.types.js';

/** Name of the sequence counter in the connector state. */
export const SEQ_COUNTER = 'file-drop.seq';
const PREFIX = 'file-drop.file.';

/** One data file in the journal. */
export interface JournalEntry {
  state: 'open' | 'pending' | 'published';
  name: string;
  seq: number;
  host: string;
  pid: number;
  openedAt: string;
  /** Keys of the records, in record order (record n is keys[n-1]). Pending and published only. */
  keys?: string[];
  sha256?: string;
  bytes?: number;
  /** Lines of every record type. */
  lines?: number;
  /** Control totals as decimal text. */
  totals?: Record<string, string>;
  /** Published only: when the legacy system's answer to the file was applied to the ledger (ISO time), and the answer file. */
  answered?: { at: string; ack: string };
}

/** The state name of a file's entry (sequence-ordered). */
export function entryName(seq: number): string {
  return PREFIX + String(seq).padStart(12, '0');
}

/** A new `open` entry for this process. */
export function openEntry(name: string, seq: number, at: Date): JournalEntry {
  return { state: 'open', name, seq, host: hostname(), pid: process.pid, openedAt: at.toISOString() };
}

/** Writes an entry (committed on return). */
export async function saveEntry(state: ConnectorState, e: JournalEntry): Promise<void> {
  await state.set(entryName(e.seq), JSON.stringify(e));
}

/** Every entry, in sequence order. */
export async function loadEntries(state: ConnectorState): Promise<JournalEntry[]> {
  return (await state.list(PREFIX)).map((r) => JSON.parse(r.value) as JournalEntry);
}

/** True when the entry's writer may still be running (another host, or a live process here other than this one). */
export function ownerMayBeAlive(e: JournalEntry): boolean {
  if (e.host !== hostname()) return true;
  if (e.pid === process.pid) return false;
  try {
    process.kill(e.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
