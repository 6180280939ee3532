/**
 * Where the keys of uncertain records are among the published files of the
 * journal, looked up on demand instead of loading every key at connect.
 */
import type { ConnectorState } from '../connector.types.js';
import { loadEntries, loadKeys, type JournalEntry } from './journal.js';

/**
 * One pass's lookup of keys in published files. Keys rows are read newest
 * file first, each at most once, and only until every key asked for is
 * found; the keys read are kept for the rest of the pass. Uncertain
 * records come after a crash around a publication, so they are nearly
 * always in the newest file or two and few rows are read. Keys in no file
 * (records of a file given up while being written) make one pass read
 * every row once, and hold them until the pass ends, instead of reading
 * them all again for every batch.
 */
export class PublishedKeys {
  /** Published files not read yet, newest first; listed at the first lookup. */
  private unread?: JournalEntry[];
  /** Key to `file#record` in the newest file read that holds it. */
  private readonly refs = new Map<string, string>();

  constructor(private readonly state: ConnectorState) {}

  /** The reference (`file#record`) of each of `keys` in a published file (the newest holding it); keys in no published file are left out. */
  async find(keys: readonly string[]): Promise<Map<string, string>> {
    this.unread ??= (await loadEntries(this.state)).filter((e) => e.state === 'published').reverse();
    let missing = keys.filter((k) => !this.refs.has(k));
    while (missing.length && this.unread.length) {
      const e = this.unread.shift()!;
      (await loadKeys(this.state, e)).forEach((k, i) => {
        if (!this.refs.has(k)) this.refs.set(k, `${e.name}#${i + 1}`);
      });
      missing = missing.filter((k) => !this.refs.has(k));
    }
    const found = new Map<string, string>();
    for (const k of keys) {
      const ref = this.refs.get(k);
      if (ref !== undefined) found.set(k, ref);
    }
    return found;
  }

  /** A file published by this pass after the first lookup: newer than every file read, so its references win. */
  published(name: string, keys: readonly string[]): void {
    if (this.unread) keys.forEach((k, i) => this.refs.set(k, `${name}#${i + 1}`));
  }
}
