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
 * A value holding the delimiter, the quote, CR or LF is always quoted,
 * whatever the line ending: csv-stringify stops quoting bare CR and LF once
 * a record delimiter is set, so `quote_record_delimiter` and `quoted_match`
 * force it back on; a line break inside a value can never start a row.
 *
 * Quoting is csv-stringify's: a record whose values need no quoting at all
 * (no delimiter, quote or line break in any value, quoting `needed`, a
 * one-character delimiter) is joined directly, as csv-stringify writes
 * such a record; every other record goes through csv-stringify.
 * csv-stringify costs about 4 µs per 13-field record even on batches (its
 * per-field checks), several times the cost of writing the line.
 */
import { stringify, type Options } from 'csv-stringify/sync';
import { FileDropErrors } from '../../connector.errors.js';
import { valueError } from '../file-drop.errors.js';
import { CSV_DEFAULTS, type CsvColumn, type CsvFormatConfig } from './csv.config.js';
import { describeChar, firstUnencodable, LINE_ENDINGS } from './encoding.js';
import { valueText, valueTypeMessage, type FileFormat, type FormatRecord, type Formatted } from './format.types.js';

export { csvFormatSchema, type CsvColumn, type CsvFormatConfig } from './csv.config.js';

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
  const encoding = config.encoding ?? CSV_DEFAULTS.encoding;
  const defuse = config.defuseFormulas ?? CSV_DEFAULTS.defuseFormulas;
  const all = (config.quoting ?? CSV_DEFAULTS.quoting) === 'all';
  const options: Options = {
    delimiter: config.delimiter ?? CSV_DEFAULTS.delimiter,
    quote: config.quote ?? CSV_DEFAULTS.quote,
    record_delimiter: LINE_ENDINGS[config.lineEnding ?? CSV_DEFAULTS.lineEnding],
    quoted: all,
    quoted_empty: all,
    quoted_string: false,
    quote_record_delimiter: true,
    quoted_match: /[\r\n]/,
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
    if (text === undefined) return { ok: false, error: valueError(FileDropErrors.VALUE, field, valueTypeMessage(value)) };
    const bad = firstUnencodable(text, encoding);
    if (bad !== undefined) return { ok: false, error: valueError(FileDropErrors.ENCODING, field, `character ${describeChar(bad)} cannot be written in ${encoding}`) };
    if (defuse && typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
    return text;
  }

  return {
    encoding,
    extension: 'csv',
    totals: [],
    begin() {
      if (!(config.header ?? CSV_DEFAULTS.header)) return '';
      const headers = columns.map((c) => c.header ?? c.field);
      for (const h of headers) {
        const bad = firstUnencodable(h, encoding);
        if (bad !== undefined) throw new Error(`csv format: header "${h}" has character ${describeChar(bad)}, which ${encoding} cannot represent`);
      }
      return stringify([headers], options);
    },
    format(r: FormatRecord): Formatted {
      const group = Object.keys(r.children).find((g) => (r.children[g]?.length ?? 0) > 0);
      if (group !== undefined) return { ok: false, error: valueError(FileDropErrors.VALUE, group, 'child rows cannot be written to a CSV file (one line per record); use a fixed-width child layout or XML') };
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
