/**
 * A whole file in memory from a format and records: the pure counterpart of
 * the drop writer, for golden tests, previews and small files.
 */
import { encodeText, fileStartBytes } from './encoding.js';
import type { FileFacts, FileFormat, FileTotals, FormatRecord, Formatted } from './format.types.js';

/** The bytes of a file holding the records the format accepted, each record's result, and the totals. */
export interface RenderedFile {
  bytes: Buffer;
  results: Formatted[];
  totals: FileTotals;
}

/** Adds one accepted record's lines and amounts to `totals`. */
export function addToTotals(totals: FileTotals, f: { lines: number; amounts: Record<string, bigint> | undefined }): void {
  totals.records += 1;
  totals.lines += f.lines;
  if (f.amounts) for (const [k, v] of Object.entries(f.amounts)) totals.sums[k] = (totals.sums[k] ?? 0n) + v;
}

/** Renders `records` as one file; refused records are left out (their results say why). */
export function renderFile(format: FileFormat, records: FormatRecord[], file: FileFacts): RenderedFile {
  const totals: FileTotals = { records: 0, lines: 0, sums: {} };
  for (const t of format.totals) totals.sums[t.field] = 0n;
  const begin = format.begin(file);
  let body = '';
  const results = records.map((r) => {
    const f = format.format(r);
    if (f.ok) {
      body += f.text;
      addToTotals(totals, f);
    }
    return f;
  });
  const { head, tail } = format.end(file, totals);
  const bytes = Buffer.concat([fileStartBytes(format.encoding), encodeText((head ?? begin) + body + tail, format.encoding)]);
  return { bytes, results, totals };
}
