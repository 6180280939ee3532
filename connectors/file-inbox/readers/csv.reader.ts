/**
 * CSV input. Record boundaries come from {@link CsvSplitter}; fields are
 * split and unquoted by csv-parse, a chunk's worth of records per call, and
 * a batch that csv-parse refuses is parsed again record by record so only
 * the bad record fails. (csv-parse's own streaming parser, even with
 * `skip_records_with_error`, drops every record after a quoting error and
 * miscounts lines after a comment line in CRLF files, so it is not used
 * for framing.)
 */
import { parse, type Options as CsvParseOptions } from 'csv-parse/sync';
import type { ReadItem } from '../../connector.types.js';
import { CsvSplitter, type RawCsvRecord } from './csv-splitter.js';
import { UNDECODABLE_MARK } from './decode.js';
import { govukFormsPlan, govukFormsSubmission, type GovukFormsPlan } from './govuk-forms-csv.js';
import { ReaderCodes, failure, success, type ReaderCode } from './reader.errors.js';
import { tooLargeMessage } from './record-buffer.js';
import type { ResolvedOptions } from './read-options.js';

type Parsed = { fields: string[] } | { code: ReaderCode; message: string };

const CSV_MESSAGES: Readonly<Record<string, string>> = {
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by a character other than a delimiter',
  INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted field',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed',
};

function describeCsvError(err: unknown, line: number): string {
  const e = err as { code?: string; column?: number; lines?: number };
  const what = (e.code && CSV_MESSAGES[e.code]) ?? `not valid CSV (${e.code ?? 'unknown error'})`;
  const field = typeof e.column === 'number' ? ` in field ${e.column + 1}` : '';
  const at = typeof e.lines === 'number' ? line + e.lines - 1 : line;
  return `${what}${field} at line ${at}`;
}

/** A private-use character absent from `text`, or undefined when it holds every one. */
function standIn(text: string): string | undefined {
  for (let c = 0xe000; c <= 0xf8ff; c++) {
    const ch = String.fromCharCode(c);
    if (!text.includes(ch)) return ch;
  }
  return undefined;
}

/**
 * csv-parse on `text`, keeping {@link UNDECODABLE_MARK}: csv-parse works on
 * UTF-8 bytes, where that lone surrogate would become a U+FFFD that cannot
 * be told from a valid one, so a character the text lacks stands in for
 * it. A record holding every such character as well (none in practice)
 * is refused as not valid CSV rather than read with its marks lost.
 */
function parseKeepingMarks(text: string, options: CsvParseOptions): string[][] {
  if (!text.includes(UNDECODABLE_MARK)) return parse(text, options);
  const stand = standIn(text);
  if (stand === undefined) throw new Error('no stand-in for undecodable bytes');
  const rows: string[][] = parse(text.replaceAll(UNDECODABLE_MARK, stand), options);
  return rows.map((fields) => fields.map((f) => f.replaceAll(stand, UNDECODABLE_MARK)));
}

/** Reads rows of one file: header, column checks and output shape. */
class CsvRows {
  private header: string[] | undefined;
  private plan: GovukFormsPlan | undefined;
  private record = 0;
  stopped = false;
  private readonly parseOptions: CsvParseOptions;

  constructor(private readonly o: ResolvedOptions) {
    const { delimiter, quote, escape, relaxQuotes } = o.csv;
    this.parseOptions = { delimiter, quote, escape, record_delimiter: '\n', relax_column_count: true, relax_quotes: relaxQuotes, bom: false };
  }

  *take(raws: RawCsvRecord[]): Generator<ReadItem> {
    let batch: RawCsvRecord[] = [];
    for (const raw of raws) {
      if (this.stopped) return;
      if (raw.text !== null && !raw.unclosed && raw.text.trim() !== '') {
        batch.push(raw);
        continue;
      }
      yield* this.parseBatch(batch);
      batch = [];
      if (raw.text === null) {
        yield* this.row(raw, { code: ReaderCodes.RECORD_TOO_LARGE, message: tooLargeMessage(this.o.maxRecordBytes) });
      } else if (raw.unclosed) {
        const message = 'the file ends inside a quoted field of this record (truncated, or a stray quote)';
        yield* this.row(raw, { code: ReaderCodes.TRUNCATED, message });
      }
    }
    yield* this.parseBatch(batch);
  }

  private *parseBatch(batch: RawCsvRecord[]): Generator<ReadItem> {
    if (batch.length === 0) return;
    let rows: string[][] | undefined;
    try {
      const all = parseKeepingMarks(batch.map((r) => r.text).join('\n'), this.parseOptions);
      if (all.length === batch.length) rows = all;
    } catch {
      rows = undefined;
    }
    for (let i = 0; i < batch.length && !this.stopped; i++) {
      const raw = batch[i]!;
      yield* this.row(raw, rows ? { fields: rows[i]! } : this.parseOne(raw));
    }
  }

  private parseOne(raw: RawCsvRecord): Parsed {
    try {
      const rows = parseKeepingMarks(raw.text as string, this.parseOptions);
      if (rows.length === 1) return { fields: rows[0]! };
      return { code: ReaderCodes.MALFORMED_RECORD, message: `not valid CSV: the record splits into ${rows.length} rows at line ${raw.line}` };
    } catch (err) {
      return { code: ReaderCodes.MALFORMED_RECORD, message: describeCsvError(err, raw.line) };
    }
  }

  private *row(raw: RawCsvRecord, parsed: Parsed): Generator<ReadItem> {
    const { file, csv } = this.o;
    if (csv.columns && this.header === undefined) {
      yield* this.readHeader(raw, parsed);
      return;
    }
    if ('fields' in parsed && parsed.fields.every((f) => f === '')) return;
    this.record++;
    if ('code' in parsed) return yield failure(parsed.code, parsed.message, file, this.record, raw.line);
    const fields = parsed.fields;
    if (!this.header) return yield success(fields, file, this.record, raw.line);
    if (fields.length !== this.header.length) {
      const message = `the row has ${fields.length} fields but the header has ${this.header.length}`;
      return yield failure(ReaderCodes.COLUMN_COUNT, message, file, this.record, raw.line);
    }
    if (this.plan) {
      const result = govukFormsSubmission(this.plan, fields, csv.formName);
      if ('error' in result) return yield failure(ReaderCodes.MALFORMED_RECORD, result.error, file, this.record, raw.line);
      return yield success(result.value, file, this.record, raw.line);
    }
    yield success(this.toObject(fields), file, this.record, raw.line);
  }

  private *readHeader(raw: RawCsvRecord, parsed: Parsed): Generator<ReadItem> {
    const { file, csv } = this.o;
    const stop = (code: ReaderCode, message: string): ReadItem => {
      this.stopped = true;
      return failure(code, `header row: ${message}`, file, 1, raw.line);
    };
    if ('code' in parsed) {
      return yield stop(parsed.code === ReaderCodes.RECORD_TOO_LARGE ? parsed.code : ReaderCodes.MALFORMED_FILE, parsed.message);
    }
    const names = parsed.fields.map((f, i) => f.trim() || `column_${i + 1}`);
    if (csv.shape === 'govuk-forms') {
      const plan = govukFormsPlan(names);
      if ('error' in plan) return yield stop(ReaderCodes.MALFORMED_FILE, plan.error);
      this.plan = plan;
      this.header = names;
      return;
    }
    const seen = new Map<string, number>();
    const duplicates: string[] = [];
    this.header = names.map((name, i) => {
      const count = (seen.get(name) ?? 0) + 1;
      seen.set(name, count);
      if (count === 1) return name;
      duplicates.push(`"${name}" (column ${i + 1})`);
      return csv.duplicateColumns === 'suffix' ? `${name}_${count}` : name;
    });
    if (duplicates.length > 0 && csv.duplicateColumns === 'error') {
      const message = `duplicate column names ${duplicates.join(', ')}; rename them or set csv.duplicateColumns to "suffix" or "array"`;
      yield stop(ReaderCodes.DUPLICATE_COLUMN, message);
    }
  }

  private toObject(fields: string[]): Record<string, string | string[]> {
    const header = this.header as string[];
    if (this.o.csv.duplicateColumns !== 'array') return Object.fromEntries(header.map((key, i) => [key, fields[i]!]));
    const grouped = new Map<string, string | string[]>();
    header.forEach((key, i) => {
      const prior = grouped.get(key);
      const value = fields[i]!;
      grouped.set(key, prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]);
    });
    return Object.fromEntries(grouped);
  }
}

/**
 * Reads CSV records from decoded text. With a header row (default) yields
 * one object per row keyed by the trimmed header names (or, with
 * `csv.shape: 'govuk-forms'`, a GOV.UK Forms JSON submission); without one,
 * a string array per row. `record` counts data rows from 1; `line` is the
 * line the row starts on. Blank lines, comment lines and rows whose fields
 * are all empty are skipped. Per-row error items, after which reading goes
 * on: `INPUT_MALFORMED_RECORD` (bad quoting, or a bad `Submitted at`),
 * `INPUT_COLUMN_COUNT`, `INPUT_RECORD_TOO_LARGE`, and `INPUT_TRUNCATED` when
 * the file ends inside a quoted field. A bad header row is one
 * `INPUT_MALFORMED_FILE` or `INPUT_DUPLICATE_COLUMN` item and ends the file.
 */
export async function* readCsv(text: AsyncIterable<string>, o: ResolvedOptions): AsyncGenerator<ReadItem, void, undefined> {
  const splitter = new CsvSplitter(o.csv, o.maxRecordBytes);
  const rows = new CsvRows(o);
  for await (const chunk of text) {
    splitter.push(chunk);
    yield* rows.take(splitter.out.splice(0));
    if (rows.stopped) return;
  }
  splitter.end();
  yield* rows.take(splitter.out.splice(0));
}
