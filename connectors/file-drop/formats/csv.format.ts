/**
 * CSV through csv-stringify: one line per mapped record, columns in a
 * declared order, optional header line, delimiter, quoting, line ending and
 * encoding as configured. Spreadsheet formula injection is defused by
 * default: a text value whose first character is `=`, `+`, `-`, `@`, tab
 * or carriage return gets a single quote (`'`) in front of it, so a
 * spreadsheet shows it as text instead of running it. Numbers (JavaScript
 * numbers, not numeric text) are never changed. `defuseFormulas: false`
 * turns this off for systems that are not spreadsheets.
 *
 * Quoting is csv-stringify's: a record whose values need no quoting at all
 * (no delimiter, quote or line break in any value, quoting `needed`, a
 * one-character delimiter) is joined directly, as csv-stringify writes
 * such a record; every other record goes through csv-stringify.
 * csv-stringify costs about 4 µs per 13-field record even on batches (its
 * per-field checks), several times the cost of writing the line.
 */
import { stringify, type Options } from 'csv-stringify/sync';
import { FileDropCodes, valueError } from '../file-drop.errors.js';
import { describeChar, firstUnencodable, LINE_ENDINGS, OUTPUT_ENCODINGS, type LineEnding, type OutputEncoding } from './encoding.js';
import { valueText, valueTypeMessage, type FileFormat, type FormatRecord, type Formatted } from './format.types.js';

/** One CSV column: a record field and the header text (default: the field name). */
export interface CsvColumn {
  field: string;
  header?: string;
}

/** `format:` of kind `csv`. */
export interface CsvFormatConfig {
  kind: 'csv';
  /** Default `,`. */
  delimiter?: string;
  /** Default `"`. */
  quote?: string;
  /** `needed` (default) quotes a value only when it holds the delimiter, the quote or a line break; `all` quotes every value. */
  quoting?: 'needed' | 'all';
  /** Default `crlf`. */
  lineEnding?: LineEnding;
  /** A first line with the column headers; default true. */
  header?: boolean;
  /** Default `utf-8`. */
  encoding?: OutputEncoding;
  /** Columns in order; default: the mapping's fields in order. */
  columns?: (string | CsvColumn)[];
  /** Default true: see the module documentation. */
  defuseFormulas?: boolean;
}

/** JSON Schema (draft-07) of {@link CsvFormatConfig}. */
export const csvFormatSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { const: 'csv' },
    delimiter: { type: 'string', minLength: 1, maxLength: 4, not: { pattern: '[\\r\\n"]' }, description: 'Field separator; default ",".' },
    quote: { type: 'string', minLength: 1, maxLength: 1, not: { pattern: '[\\r\\n]' }, description: 'Quote character; default ".' },
    quoting: { enum: ['needed', 'all'], description: 'needed (default): only values holding the delimiter, a quote or a line break; all: every value.' },
    lineEnding: { enum: Object.keys(LINE_ENDINGS), description: 'crlf (default), lf or cr.' },
    header: { type: 'boolean', description: 'Write a header line; default true.' },
    encoding: { enum: OUTPUT_ENCODINGS, description: 'utf-8 (default), utf-8-bom, windows-1252 or latin1. A character the encoding lacks rejects the record.' },
    columns: {
      type: 'array',
      minItems: 1,
      items: {
        oneOf: [
          { type: 'string', minLength: 1 },
          { type: 'object', additionalProperties: false, required: ['field'], properties: { field: { type: 'string', minLength: 1 }, header: { type: 'string' } } },
        ],
      },
      description: 'Columns in order (a field name, or {field, header}); default: the mapping’s fields.',
    },
    defuseFormulas: { type: 'boolean', description: 'Prefix a single quote to text starting with = + - @ tab or CR so spreadsheets do not run it; default true.' },
  },
};

const FORMULA_START = /^[=+\-@\t\r]/;

const regexChar = (c: string) => c.replace(/[\\\]^-]/g, (m) => `\\${m}`);

/**
 * Builds the CSV format; `defaultColumns` (the mapping's fields) apply when
 * the config lists none. Throws when there are no columns. `opts.library`
 * writes every record through csv-stringify (for comparison in tests).
 */
export function csvFormat(config: CsvFormatConfig, defaultColumns: readonly string[] = [], opts: { library?: boolean } = {}): FileFormat {
  const columns: CsvColumn[] = (config.columns ?? defaultColumns.map((field) => ({ field }))).map((c) => (typeof c === 'string' ? { field: c } : c));
  if (columns.length === 0) throw new Error('csv format: no columns: list them under format.columns (the mapping’s fields are used when known)');
  const encoding = config.encoding ?? 'utf-8';
  const defuse = config.defuseFormulas !== false;
  const all = config.quoting === 'all';
  const options: Options = {
    delimiter: config.delimiter ?? ',',
    quote: config.quote ?? '"',
    record_delimiter: LINE_ENDINGS[config.lineEnding ?? 'crlf'],
    quoted: all,
    quoted_empty: all,
    quoted_string: false,
    eof: true,
  };
  const fields = columns.map((c) => c.field);
  const delimiter = options.delimiter as string;
  const eol = options.record_delimiter as string;
  const quoteClass = `${regexChar(delimiter)}${regexChar(options.quote as string)}\\r\\n`;
  const needsQuoting = !all && delimiter.length === 1 && !opts.library ? new RegExp(`[${quoteClass}]`) : undefined;
  /** Text values this does not match are written as they are, unquoted: encodable for certain, no formula start, nothing to quote. */
  const asIs = needsQuoting && new RegExp(`[${encoding.startsWith('utf-8') ? '\\uD800-\\uDFFF' : '\\u0080-\\uFFFF'}${quoteClass}]${defuse ? '|^[=+\\-@\\t]' : ''}`);

  function cell(record: Record<string, unknown>, field: string): string | Formatted {
    const value = record[field];
    let text = valueText(value);
    if (text === undefined) return { ok: false, error: valueError(FileDropCodes.VALUE, field, valueTypeMessage(value)) };
    const bad = firstUnencodable(text, encoding);
    if (bad !== undefined) return { ok: false, error: valueError(FileDropCodes.ENCODING, field, `character ${describeChar(bad)} cannot be written in ${encoding}`) };
    if (defuse && typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
    return text;
  }

  return {
    encoding,
    extension: 'csv',
    totals: [],
    begin() {
      if (config.header === false) return '';
      const headers = columns.map((c) => c.header ?? c.field);
      for (const h of headers) {
        const bad = firstUnencodable(h, encoding);
        if (bad !== undefined) throw new Error(`csv format: header "${h}" has character ${describeChar(bad)}, which ${encoding} cannot represent`);
      }
      return stringify([headers], options);
    },
    format(r: FormatRecord): Formatted {
      const group = Object.keys(r.children).find((g) => (r.children[g]?.length ?? 0) > 0);
      if (group !== undefined) return { ok: false, error: valueError(FileDropCodes.VALUE, group, 'child rows cannot be written to a CSV file (one line per record); use a fixed-width child layout or XML') };
      const row: string[] = new Array<string>(fields.length);
      let plain = needsQuoting !== undefined;
      for (let i = 0; i < fields.length; i++) {
        const v = r.record[fields[i]!];
        if (asIs && typeof v === 'string' && !asIs.test(v)) {
          row[i] = v;
          continue;
        }
        const c = cell(r.record, fields[i]!);
        if (typeof c !== 'string') return c;
        row[i] = c;
        if (plain && needsQuoting!.test(c)) plain = false;
      }
      return { ok: true, text: plain ? row.join(delimiter) + eol : stringify([row], options), lines: 1, amounts: undefined };
    },
    end() {
      return { tail: '' };
    },
  };
}
