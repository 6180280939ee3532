/**
 * From the readers' items to a source's items, and the file-name matching
 * the file sources share.
 */
import type { ReadItem, SourceItem } from '../connector.types.js';
import { readerDisposition } from './readers/index.js';

/** A reader item as a {@link SourceItem}: an unreadable record keeps its reader code, with that code's disposition. */
export function toSourceItem(item: ReadItem): SourceItem {
  if (item.ok) return { ok: true, body: item.value, at: item.at };
  const { code, message } = item.error;
  return { ok: false, error: { code, disposition: readerDisposition(code), message }, at: item.at };
}

/** A matcher of whole file names for a pattern with `*`, `?` and `{a,b}` alternatives (no folders). */
export function namePattern(pattern: string): RegExp {
  let out = '';
  let depth = 0;
  for (const ch of pattern) {
    if (ch === '*') out += '[^/]*';
    else if (ch === '?') out += '[^/]';
    else if (ch === '{') {
      depth++;
      out += '(?:';
    } else if (ch === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (ch === ',' && depth > 0) out += '|';
    else out += ch.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
  }
  return new RegExp(`^${out}${')'.repeat(depth)}$`, 'u');
}
