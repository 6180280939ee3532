/**
 * Row injection: a value holding a line break, the delimiter or the quote
 * must never start a new row or field, whatever line ending is configured.
 * The CSV output is read back by an RFC 4180 reader written here that ends
 * a row at any CR, LF or CRLF outside quotes, so it knows nothing of the
 * configured line ending (unlike csv-parse given `record_delimiter`).
 */
import { describe, expect, it } from 'vitest';
import { csvFormat } from './csv.format.js';
import type { LineEnding } from './encoding.js';
import { fixedWidthFormat } from './fixed-width.format.js';
import { renderFile } from './render.js';
import { FACTS, GOLDEN_LAYOUT, RECORDS } from './formats.test-support.js';
import type { FormatRecord } from './format.types.js';

/** Rows of `text`: fields split at `delimiter` outside quotes, rows ended by CR, LF or CRLF outside quotes. Throws on a stray quote. */
function readRfc4180(text: string, delimiter: string, quote: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === quote) {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === quote) {
          if (text[i + 1] === quote) {
            field += quote;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && !text.startsWith(delimiter, i) && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === quote) throw new Error(`stray quote at ${i}`);
        field += text[i++];
      }
    }
    row.push(field);
    if (text.startsWith(delimiter, i)) {
      i += delimiter.length;
      continue;
    }
    if (i < text.length && text[i] !== '\r' && text[i] !== '\n') throw new Error(`text after a closing quote at ${i}`);
    i += text.startsWith('\r\n', i) ? 2 : 1;
    rows.push(row);
    row = [];
  }
  return rows;
}

const COLUMNS = ['A', 'B', 'C'];
const HOSTILE = ['x\n=HYPERLINK("http://evil")', 'y\r+1+1', 'z\r\n-2', '\n@SUM(A1)', 'a "quoted" b', '"', 'p,q;r|~s', '\r\n', 'tail\n', '=cmd|calc'];
const records: FormatRecord[] = [];
for (let i = 0; i < 20; i++) {
  records.push({ record: { A: HOSTILE[i % HOSTILE.length]!, B: `plain ${i}`, C: HOSTILE[(i * 3 + 1) % HOSTILE.length]! }, children: {} });
}
const defused = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);

describe('line breaks, delimiters and quotes in values', () => {
  for (const lineEnding of ['lf', 'crlf', 'cr'] as LineEnding[]) {
    for (const delimiter of [',', ';', '|~']) {
      it(`csv (${lineEnding}, "${delimiter}"): one row per record, every value back whole, no formula at a field start`, () => {
        const out = renderFile(csvFormat({ kind: 'csv', columns: COLUMNS, lineEnding, delimiter }), records, FACTS);
        expect(out.results.every((r) => r.ok)).toBe(true);
        const rows = readRfc4180(out.bytes.toString('utf8'), delimiter, '"');
        expect(rows).toHaveLength(records.length + 1);
        expect(rows[0]).toEqual(COLUMNS);
        records.forEach((r, i) => {
          expect(rows[i + 1], `record ${i + 1}`).toEqual(COLUMNS.map((c) => defused(r.record[c] as string)));
        });
        for (const field of rows.flat()) expect(field).not.toMatch(/^[=+\-@\t\r]/);
      });
    }
  }

  for (const lineEnding of ['lf', 'crlf', 'cr', 'none'] as const) {
    it(`fixed-width (${lineEnding}): a line break in a value rejects the record, naming the field, never showing the value`, () => {
      const format = fixedWidthFormat(GOLDEN_LAYOUT({ lineEnding }));
      const base = RECORDS[0]!.record;
      for (const brk of ['\n', '\r', '\r\n']) {
        const bad: FormatRecord = { record: { ...base, SURNAME: `AB${brk}=X` }, children: {} };
        const expected = { ok: false, error: { code: 'FILE_DROP_VALUE', disposition: 'reject', field: 'SURNAME', message: 'SURNAME: holds a line break, which would split the record' } };
        expect(format.format(bad)).toEqual(expected);
        if (format.encode) expect(format.encode(bad)).toEqual(expected);
        const out = renderFile(format, [{ record: base, children: {} }, bad], FACTS);
        expect(out.totals.records).toBe(1);
        expect(out.bytes.toString('latin1')).not.toContain('=X');
      }
    });
  }
});
