/** Streaming export of the audit log as CSV (csv-stringify) or JSON. */
import { stringify } from 'csv-stringify/sync';
import type { StateStore } from '../store/state-store.js';
import { auditPages, rowToEntry, type AuditRange } from './audit.rows.js';

/** What `exportAudit` writes. */
export interface AuditExportOptions extends AuditRange {
  format: 'csv' | 'json';
}

/** CSV columns, in order. `keys` is the entry's submission keys separated by spaces; `detail` the stored JSON. */
export const CSV_COLUMNS = ['seq', 'at', 'pipeline', 'event', 'actor', 'keys', 'mapping_version', 'target', 'legacy_ref', 'detail', 'hash'] as const;

/**
 * Yields the selected entries as text chunks, one page of entries per chunk,
 * so memory stays bounded however long the log. CSV has a header row; JSON
 * is one array with one entry per line (with `prevHash` and `hash`, enough to
 * re-verify the exported range).
 */
export async function* exportAudit(store: StateStore, opts: AuditExportOptions): AsyncGenerator<string> {
  let first = true;
  if (opts.format === 'json') yield '[';
  for await (const page of auditPages(store, opts)) {
    if (opts.format === 'csv') {
      const records = page.map((r) => {
        const e = rowToEntry(r);
        return [e.seq, e.at.toISOString(), e.pipeline, e.event, e.actor, e.detail.keys.join(' '), e.mappingVersion, e.target, e.legacyRef, r.detail, e.hash];
      });
      yield stringify(records, { header: first, columns: [...CSV_COLUMNS] });
    } else {
      yield page.map((r, i) => `${first && i === 0 ? '\n' : ',\n'}${JSON.stringify(rowToEntry(r))}`).join('');
    }
    first = false;
  }
  if (opts.format === 'csv' && first) yield stringify([], { header: true, columns: [...CSV_COLUMNS] });
  if (opts.format === 'json') yield '\n]\n';
}
