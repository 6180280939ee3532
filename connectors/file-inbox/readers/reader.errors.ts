/**
 * The input readers' error catalogue. Readers never throw for a bad record:
 * they yield `{ ok: false, error: { code, message }, at }` and go on. Only
 * bad options (a programming or configuration mistake) and I/O failures of
 * the underlying stream are thrown.
 */
import type { ReadItem, RecordLocation } from '../../connector.types.js';

/** What the runner must do with an error (same meaning as in every layer). */
export type Disposition = 'retry' | 'reject' | 'fatal';

/** Stable codes of the readers. */
export const ReaderCodes = {
  /** One record is not valid in its format (JSON syntax, CSV quoting, XML well-formedness). */
  MALFORMED_RECORD: 'INPUT_MALFORMED_RECORD',
  /** The file ended inside a record or before its top-level structure was closed. */
  TRUNCATED: 'INPUT_TRUNCATED',
  /** The file's structure outside the records is wrong (records not found, content after the end, bad header). */
  MALFORMED_FILE: 'INPUT_MALFORMED_FILE',
  /** One record is larger than `maxRecordBytes`; it was skipped without being held in memory. */
  RECORD_TOO_LARGE: 'INPUT_RECORD_TOO_LARGE',
  /** One record nests elements deeper than `xml.maxDepth`. */
  TOO_DEEP: 'INPUT_TOO_DEEP',
  /** A CSV row has a different number of fields from the header row. */
  COLUMN_COUNT: 'INPUT_COLUMN_COUNT',
  /** A CSV header names the same column twice (with `csv.duplicateColumns: 'error'`). */
  DUPLICATE_COLUMN: 'INPUT_DUPLICATE_COLUMN',
  /** An XML file declares entities in a DOCTYPE; the whole file is refused, nothing is expanded. */
  XML_FORBIDDEN: 'INPUT_XML_FORBIDDEN',
  /** One record holds bytes that are not valid in the file's encoding (e.g. a windows-1252 file read as UTF-8). */
  UNDECODABLE: 'INPUT_UNDECODABLE',
  /** The read options are invalid (unknown format or encoding, bad delimiter, missing recordPath). */
  OPTIONS_INVALID: 'INPUT_OPTIONS_INVALID',
} as const;

/** One of {@link ReaderCodes}' values. */
export type ReaderCode = (typeof ReaderCodes)[keyof typeof ReaderCodes];

const dispositions: Record<ReaderCode, Disposition> = {
  INPUT_MALFORMED_RECORD: 'reject',
  INPUT_TRUNCATED: 'reject',
  INPUT_MALFORMED_FILE: 'reject',
  INPUT_RECORD_TOO_LARGE: 'reject',
  INPUT_TOO_DEEP: 'reject',
  INPUT_COLUMN_COUNT: 'reject',
  INPUT_DUPLICATE_COLUMN: 'reject',
  INPUT_XML_FORBIDDEN: 'reject',
  INPUT_UNDECODABLE: 'reject',
  INPUT_OPTIONS_INVALID: 'fatal',
};

/** The disposition of a reader code; `reject` for codes this layer does not know. */
export function readerDisposition(code: string): Disposition {
  return (dispositions as Record<string, Disposition | undefined>)[code] ?? 'reject';
}

/** Thrown (on the first `next()`) when read options cannot be used; carries every problem found. */
export class ReaderOptionsError extends Error {
  readonly code = ReaderCodes.OPTIONS_INVALID;
  readonly disposition: Disposition = 'fatal';
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ReaderOptionsError';
    this.problems = problems;
  }

  /** Plain data for logs and worker boundaries. */
  toData(): { code: string; disposition: Disposition; message: string } {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}

/** Builds a failed {@link ReadItem}; `line` is left out when unknown. */
export function failure(code: ReaderCode, message: string, file: string, record: number, line?: number): ReadItem {
  const at: RecordLocation = line === undefined ? { file, record } : { file, record, line };
  return { ok: false, error: { code, message }, at };
}

/** Builds a successful {@link ReadItem}. */
export function success(value: unknown, file: string, record: number, line?: number): ReadItem {
  const at: RecordLocation = line === undefined ? { file, record } : { file, record, line };
  return { ok: true, value, at };
}
