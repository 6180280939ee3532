/**
 * The file-drop target's journal in the connector state: one entry per
 * data file, so that a crash never leaves a record in two files or a
 * partial file under its final name.
 *
 * - `open`: the file is being written under its temporary name (written
 *   when the file is opened, with the runner's host and process id).
 * - `pending`: the file is complete and fsynced; the SHA-256, the totals
 *   and the number of records are recorded; the rename comes next.
 *   (The totals, sums of record values, are dropped at publication.)
 * - `published`: renamed into place (with its manifest and trigger).
 *
 * The keys of a file's records, in record order, are in a row of their own
 * (`file-drop.keys.<seq>`), written just before the entry becomes
 * `pending`, so that listing the entries never loads them. A keys row
 * counts only while its entry is pending or published: with an `open`
 * entry (a crash between the two writes) it is deleted with the file.
 * Keys rows are kept after the legacy system's answer is applied: an
 * uncertain record is looked up in them. Entries written before keys had
 * their own row hold them inline (`keys`); connect moves them to a row.
 *
 * A published entry gets `answered` once the legacy system's answer file
 * has been applied to the ledger; its answers are not read again.
 *
 * On connect, entries left `open` or `pending` by a process that is gone
 * are settled: an open file is deleted (its records were never delivered,
 * they are delivered again); a pending file whose temporary file is still
 * there is deleted too (its entry first put back to `open`, so that a
 * crash while deleting it is settled the same way); a pending file whose
 * final name exists (or whose temporary file is gone: renamed, then taken
 * by the legacy system) is published, and its records are answered as
 * already present.
 */
import { hostname } from 'node:os';
import type { ConnectorState } from '../connector.types.js';
import { ConnectorFailure, FileDropErrors } from '../connector.errors.js';

/** Name of the sequence counter in the connector state. */
export const SEQ_COUNTER = 'file-drop.seq';
const PREFIX = 'file-drop.file.';
const KEYS_PREFIX = 'file-drop.keys.';

/** One data file in the journal. */
export interface JournalEntry {
  state: 'open' | 'pending' | 'published';
  name: string;
  seq: number;
  host: string;
  pid: number;
  openedAt: string;
  /** Number of records. Pending and published only. */
  records?: number;
  /** Entries written before keys had their own row: the keys in record order (record n is keys[n-1]). */
  keys?: string[];
  sha256?: string;
  bytes?: number;
  /** Lines of every record type. */
  lines?: number;
  /** Control totals as decimal text. Pending only: dropped once the file (and its manifest) is published. */
  totals?: Record<string, string>;
  /** Published with `sftp` only: the local staging copies (data file, manifest) have been emptied since the upload. */
  stagingEmptied?: boolean;
  /** Published only: when the legacy system's answer to the file was applied to the ledger (ISO time), and the answer file. */
  answered?: { at: string; ack: string };
}

/** The state name of a file's entry (sequence-ordered). */
export function entryName(seq: number): string {
  return PREFIX + String(seq).padStart(12, '0');
}

const FREE_PREFIX = 'file-drop.free.';

/**
 * Gives back the sequence number of a file that was never published (its
 * write failed, or a run stopped before the rename), for the next file to
 * take: a legacy system that checks the files' sequence sees no gap.
 */
export async function freeSeq(state: ConnectorState, seq: number): Promise<void> {
  await state.set(FREE_PREFIX + String(seq).padStart(12, '0'), String(seq));
}

/**
 * The sequence number of the next file: the lowest one given back (see
 * {@link freeSeq}) that no journal entry holds, else a new one from the
 * counter. `claim` records the file's entry under it; the number is taken
 * off the free list only after that, so a crash in between gives it back.
 */
export async function takeSeq(state: ConnectorState, claim: (seq: number) => Promise<void>): Promise<number> {
  for (const free of await state.list(FREE_PREFIX)) {
    const seq = Number(free.value);
    if ((await state.get(entryName(seq))) !== undefined) {
      await state.delete(free.name);
      continue;
    }
    await claim(seq);
    await state.delete(free.name);
    return seq;
  }
  const seq = await state.next(SEQ_COUNTER);
  await claim(seq);
  return seq;
}

/** The state name of a file's keys row. */
export function keysName(seq: number): string {
  return KEYS_PREFIX + String(seq).padStart(12, '0');
}

/** A new `open` entry for this process. */
export function openEntry(name: string, seq: number, at: Date): JournalEntry {
  return { state: 'open', name, seq, host: hostname(), pid: process.pid, openedAt: at.toISOString() };
}

/**
 * Writes an entry (committed on return). A published entry is written
 * without its control totals: they serve only to write the manifest, and
 * the total of a file of one record is that citizen's value, which rekey
 * does not keep in clear.
 */
export async function saveEntry(state: ConnectorState, e: JournalEntry): Promise<void> {
  const { totals: _totals, ...published } = e;
  await state.set(entryName(e.seq), JSON.stringify(e.state === 'published' ? published : e));
}

/** Every entry, in sequence order. */
export async function loadEntries(state: ConnectorState): Promise<JournalEntry[]> {
  return (await state.list(PREFIX)).map((r) => JSON.parse(r.value) as JournalEntry);
}

/** Writes a file's keys in record order (committed on return); done before its entry becomes `pending`. */
export async function saveKeys(state: ConnectorState, seq: number, keys: readonly string[]): Promise<void> {
  await state.set(keysName(seq), JSON.stringify(keys));
}

/**
 * The keys of a pending or published file in record order: inline in an
 * entry of the earlier layout, else its keys row. Throws
 * `FILE_DROP_JOURNAL` (fatal) when the row is missing.
 */
export async function loadKeys(state: ConnectorState, e: JournalEntry): Promise<string[]> {
  if (e.keys) return e.keys;
  const row = await state.get(keysName(e.seq));
  if (row === undefined) throw new ConnectorFailure(FileDropErrors.JOURNAL, `the journal has no keys for ${e.state} file ${e.name} (${keysName(e.seq)})`);
  return JSON.parse(row) as string[];
}

/** The number of records of a pending or published file. */
export function recordCount(e: JournalEntry): number {
  return e.records ?? e.keys?.length ?? 0;
}

/** Moves the inline keys of an entry of the earlier layout to its keys row: the row first, so that a crash between the two writes leaves the entry as it was. */
export async function moveKeys(state: ConnectorState, e: JournalEntry): Promise<void> {
  if (!e.keys) return;
  const { keys, ...rest } = e;
  await saveKeys(state, e.seq, keys);
  await saveEntry(state, { ...rest, records: keys.length });
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
