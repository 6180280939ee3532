/**
 * Options of the input readers, their defaults, and the one place that
 * checks them. Pure: no I/O.
 */
import type { InputFormat } from '../../connector.types.js';
import type { FileReadConfig } from '../file.config.js';
import { DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING } from '../../../lib/json-depth.js';
import { ReaderOptionsError } from './reader.errors.js';

export { DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING };

/** Character encodings the readers decode. A byte order mark in the file overrides this choice. */
export type ReadEncoding = NonNullable<FileReadConfig['encoding']>;

/**
 * CSV options: `delimiter`, `quote` and `escape` (one character each;
 * default `,`, `"`, and the quote as in RFC 4180 `""`), `comment` (lines
 * starting with it are skipped), `columns` (default true: the first row
 * names the columns, else each record is a string array), `shape` (`rows`,
 * or `govuk-forms` for the rows of a GOV.UK Forms CSV export turned into
 * its JSON submission shape, with `formName` as each `form_name`), and
 * `duplicateColumns` for a header naming a column twice: `error` (default,
 * one `INPUT_DUPLICATE_COLUMN` item for the file), `suffix` (`Name_2`,
 * `Name_3`) or `array` (the values in column order); `govuk-forms` reads
 * columns by position and ignores it. `relaxQuotes` (default false): a
 * quote inside an unquoted field (`a,b"c,d`), or text after a closing
 * quote (`"a"b`), is kept as it stands instead of failing the record
 * (csv-parse's `relax_quotes`).
 */
export type CsvReadOptions = NonNullable<FileReadConfig['csv']>;

/**
 * XML options: `recordPath` (dotted local element names from the root to
 * the repeating record element, e.g. `submissions.submission`),
 * `maxRecordBytes` (default the top-level one), `maxDepth` (element
 * nesting from the root = 1; default 64), `attributePrefix` (default
 * `@_`) and `arrays`: dotted paths below the record element (e.g.
 * `answers.answer`) whose elements are always arrays; elsewhere an element
 * that occurs once in its parent is a value and one that repeats an array.
 */
export type XmlReadOptions = NonNullable<FileReadConfig['xml']>;

/**
 * JSON options: `recordsPath`, the dotted key path to the array of records
 * (`submissions` for `{"submissions":[...]}`). Without it a top-level
 * array's elements are the records and any other top-level value is one
 * record; a non-array value at the path is one record. `maxDepth` (JSON
 * and NDJSON; default 64, at most 1000): the deepest nesting of arrays
 * and objects one record may have (`{}` is 1 deep, counted from the
 * record, not the file); a deeper record is one `INPUT_TOO_DEEP` item.
 */
export type JsonReadOptions = NonNullable<FileReadConfig['json']>;

/**
 * How to read one input: a file-reading source's read settings
 * ({@link FileReadConfig} but `pattern`, declared once in its schema) and
 * `file`, which names the input in every location and message. `format`
 * defaults from the file name's extension (`.json`, `.ndjson`/`.jsonl`,
 * `.csv`, `.xml`); `encoding` to UTF-8 (for XML, the declaration's when it
 * names one; a byte order mark overrides both); `maxRecordBytes` (of a
 * record's decoded UTF-8 text) to 10 MiB: a larger record becomes one
 * `INPUT_RECORD_TOO_LARGE` item and is never held whole.
 */
export type ReadOptions = Omit<FileReadConfig, 'pattern'> & { file: string };

/** Default record size limit: 10 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 10 * 1024 * 1024;

/** Options after defaults, as the format readers receive them. */
export interface ResolvedOptions {
  file: string;
  format: InputFormat;
  /** Undefined when not given: UTF-8, or what an XML declaration names. */
  encoding: ReadEncoding | undefined;
  maxRecordBytes: number;
  csv: Required<Omit<CsvReadOptions, 'comment' | 'formName'>> & { comment?: string; formName?: string };
  xml: Required<Omit<XmlReadOptions, 'recordPath'>> & { recordPath: string[] };
  json: { recordsPath: string[]; maxDepth: number };
}

const extensions: Record<string, InputFormat> = { json: 'json', ndjson: 'ndjson', jsonl: 'ndjson', csv: 'csv', xml: 'xml' };
const encodings: readonly ReadEncoding[] = ['utf-8', 'windows-1252', 'latin1'];

/** The format a file name implies by its extension (case-insensitive), or undefined. */
export function formatFromName(file: string): InputFormat | undefined {
  const dot = file.lastIndexOf('.');
  return dot < 0 ? undefined : extensions[file.slice(dot + 1).toLowerCase()];
}

function localNames(path: string): string[] {
  return path.split('.').map((s) => s.slice(s.indexOf(':') + 1).trim());
}

function isOneChar(s: string | undefined): boolean {
  return s === undefined || [...s].length === 1;
}

function isPositiveInt(n: number | undefined): boolean {
  return n === undefined || (Number.isInteger(n) && n > 0);
}

function isDepthLimit(n: number | undefined): boolean {
  return isPositiveInt(n) && (n === undefined || n <= MAX_DEPTH_CEILING);
}

/**
 * Applies defaults and checks every option at once. Called by `readRecords`
 * before reading; throws {@link ReaderOptionsError} listing all problems.
 */
export function resolveOptions(opts: ReadOptions): ResolvedOptions {
  const problems: string[] = [];
  const format = opts.format ?? formatFromName(opts.file);
  if (!format) problems.push(`cannot tell the format from the name "${opts.file}": set format to json, ndjson, csv or xml`);
  else if (!Object.values(extensions).includes(format)) problems.push(`unknown format "${String(format)}"`);
  const encoding = opts.encoding;
  if (encoding !== undefined && !encodings.includes(encoding)) problems.push(`unknown encoding "${String(encoding)}": use ${encodings.join(', ')}`);
  if (!isPositiveInt(opts.maxRecordBytes)) problems.push('maxRecordBytes must be a positive integer');
  const maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;

  const csv = opts.csv ?? {};
  for (const key of ['delimiter', 'quote', 'escape', 'comment'] as const) {
    if (!isOneChar(csv[key])) problems.push(`csv.${key} must be one character`);
  }
  const delimiter = csv.delimiter ?? ',';
  const quote = csv.quote ?? '"';
  if (delimiter === quote) problems.push('csv.delimiter and csv.quote must differ');
  if (csv.comment !== undefined && (csv.comment === delimiter || csv.comment === quote)) {
    problems.push('csv.comment must differ from csv.delimiter and csv.quote');
  }
  const shape = csv.shape ?? 'rows';
  if (shape !== 'rows' && shape !== 'govuk-forms') problems.push(`unknown csv.shape "${String(shape)}"`);
  if (shape === 'govuk-forms' && csv.columns === false) problems.push('csv.shape govuk-forms needs the header row (csv.columns: true)');
  const duplicateColumns = csv.duplicateColumns ?? 'error';
  if (!['error', 'suffix', 'array'].includes(duplicateColumns)) problems.push(`unknown csv.duplicateColumns "${duplicateColumns}"`);

  const xml = opts.xml;
  const recordPath = xml?.recordPath ? localNames(xml.recordPath) : [];
  if (format === 'xml' && (recordPath.length === 0 || recordPath.some((s) => s === ''))) {
    problems.push('xml.recordPath is required, e.g. "submissions.submission"');
  }
  if (!isPositiveInt(xml?.maxRecordBytes)) problems.push('xml.maxRecordBytes must be a positive integer');
  if (!isDepthLimit(xml?.maxDepth)) problems.push(`xml.maxDepth must be a whole number from 1 to ${MAX_DEPTH_CEILING}`);
  if (format === 'xml' && recordPath.length > (xml?.maxDepth ?? DEFAULT_MAX_DEPTH)) problems.push('xml.recordPath is deeper than xml.maxDepth');

  const recordsPath = opts.json?.recordsPath ? opts.json.recordsPath.split('.') : [];
  if (recordsPath.some((s) => s === '')) problems.push(`json.recordsPath "${opts.json?.recordsPath}" has an empty key`);
  if (!isDepthLimit(opts.json?.maxDepth)) problems.push(`json.maxDepth must be a whole number from 1 to ${MAX_DEPTH_CEILING}`);

  if (problems.length > 0 || !format) throw new ReaderOptionsError(opts.file, problems);
  return {
    file: opts.file,
    format,
    encoding,
    maxRecordBytes,
    csv: {
      delimiter,
      quote,
      escape: csv.escape ?? quote,
      columns: csv.columns ?? true,
      shape,
      duplicateColumns,
      relaxQuotes: csv.relaxQuotes === true,
      ...(csv.comment !== undefined && { comment: csv.comment }),
      ...(csv.formName !== undefined && { formName: csv.formName }),
    },
    xml: {
      recordPath,
      maxRecordBytes: xml?.maxRecordBytes ?? maxRecordBytes,
      maxDepth: xml?.maxDepth ?? DEFAULT_MAX_DEPTH,
      attributePrefix: xml?.attributePrefix ?? '@_',
      arrays: xml?.arrays ?? [],
    },
    json: { recordsPath, maxDepth: opts.json?.maxDepth ?? DEFAULT_MAX_DEPTH },
  };
}
