/**
 * Options of the input readers, their defaults, and the one place that
 * checks them. Pure: no I/O.
 */
import type { InputFormat } from '../../connector.types.js';
import { ReaderOptionsError } from './reader.errors.js';

/** Character encodings the readers decode. A byte order mark in the file overrides this choice. */
export type ReadEncoding = 'utf-8' | 'windows-1252' | 'latin1';

/** CSV options. */
export interface CsvReadOptions {
  /** Field delimiter, one character; default `,`. */
  delimiter?: string;
  /** Quote character, one character; default `"`. */
  quote?: string;
  /** Escape character inside quoted fields, one character; default the quote (RFC 4180 `""`). */
  escape?: string;
  /** Lines starting with this character (outside quoted fields) are skipped; default none. */
  comment?: string;
  /** The first row names the columns and each record is an object; default true. When false each record is a string array. */
  columns?: boolean;
  /** `rows`: one object per row (default). `govuk-forms`: rows of a GOV.UK Forms CSV export turned into its JSON submission shape. */
  shape?: 'rows' | 'govuk-forms';
  /** `form_name` to put on each `govuk-forms` submission (the CSV export does not carry it). */
  formName?: string;
  /**
   * A header naming a column twice: `error` (default) fails the file with one
   * `INPUT_DUPLICATE_COLUMN` item; `suffix` names the later ones `Name_2`,
   * `Name_3`; `array` gives that key an array of the values in column order.
   * Ignored by `govuk-forms`, where columns are read by position.
   */
  duplicateColumns?: 'error' | 'suffix' | 'array';
}

/** XML options. */
export interface XmlReadOptions {
  /** Dotted path of local element names from the root to the repeating record element, e.g. `submissions.submission`. */
  recordPath: string;
  /** Largest record, in UTF-8 bytes of its text; default the top-level `maxRecordBytes`. */
  maxRecordBytes?: number;
  /** Deepest element nesting, counted from the document root (root = 1); default 64. */
  maxDepth?: number;
  /** Prefix of attribute keys; default `@_`. */
  attributePrefix?: string;
  /**
   * Dotted paths inside a record (starting below the record element, e.g.
   * `answers.answer`) whose elements are always arrays. Elsewhere an element
   * that occurs once in its parent is a value and one that repeats is an array.
   */
  arrays?: string[];
}

/** JSON options. */
export interface JsonReadOptions {
  /**
   * Dotted key path to the array of records, e.g. `submissions` for
   * `{"submissions":[...]}`. Default: a top-level array's elements are the
   * records, any other top-level value is one record. A non-array value at
   * the path is one record.
   */
  recordsPath?: string;
}

/** How to read one input. Only `file` is required; it names the input in every location and message. */
export interface ReadOptions {
  file: string;
  /** Default: from the file name's extension (`.json`, `.ndjson`/`.jsonl`, `.csv`, `.xml`). */
  format?: InputFormat;
  /** Default `utf-8`; for XML, the XML declaration's encoding when it names one. A byte order mark overrides both. */
  encoding?: ReadEncoding;
  csv?: CsvReadOptions;
  xml?: XmlReadOptions;
  json?: JsonReadOptions;
  /** Largest record, in UTF-8 bytes of its decoded text; default 10 MiB. A larger record becomes one `INPUT_RECORD_TOO_LARGE` item and is never held whole. */
  maxRecordBytes?: number;
}

/** Default record size limit: 10 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 10 * 1024 * 1024;
/** Default XML nesting limit. */
export const DEFAULT_MAX_DEPTH = 64;

/** Options after defaults, as the format readers receive them. */
export interface ResolvedOptions {
  file: string;
  format: InputFormat;
  /** Undefined when not given: UTF-8, or what an XML declaration names. */
  encoding: ReadEncoding | undefined;
  maxRecordBytes: number;
  csv: Required<Omit<CsvReadOptions, 'comment' | 'formName'>> & { comment?: string; formName?: string };
  xml: Required<Omit<XmlReadOptions, 'recordPath'>> & { recordPath: string[] };
  json: { recordsPath: string[] };
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
  if (!isPositiveInt(xml?.maxDepth)) problems.push('xml.maxDepth must be a positive integer');
  if (format === 'xml' && recordPath.length > (xml?.maxDepth ?? DEFAULT_MAX_DEPTH)) problems.push('xml.recordPath is deeper than xml.maxDepth');

  const recordsPath = opts.json?.recordsPath ? opts.json.recordsPath.split('.') : [];
  if (recordsPath.some((s) => s === '')) problems.push(`json.recordsPath "${opts.json?.recordsPath}" has an empty key`);

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
    json: { recordsPath },
  };
}
