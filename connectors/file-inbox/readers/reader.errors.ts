/**
 * The input readers' error helpers; their codes are catalogued, with
 * dispositions and hints, in connectors/connector.errors.ts. Readers never
 * throw for a bad record: they yield `{ ok: false, error: { code, message },
 * at }` and go on. Only bad options (a programming or configuration
 * mistake) and I/O failures of the underlying stream are thrown.
 */
import { CodedError, codesOf, type Disposition } from '../../../lib/errors.js';
import { ReaderErrors } from '../../connector.errors.js';
import type { ReadItem, RecordLocation } from '../../connector.types.js';

export type { Disposition } from '../../../lib/errors.js';

/** The readers' codes by call-site name, e.g. `MALFORMED_RECORD: 'INPUT_MALFORMED_RECORD'`. */
export const ReaderCodes = codesOf(ReaderErrors);

/** One of {@link ReaderCodes}' values. */
export type ReaderCode = (typeof ReaderCodes)[keyof typeof ReaderCodes];

const dispositions = new Map<string, Disposition>(Object.values(ReaderErrors).map((e) => [e.code, e.disposition]));

/** The disposition of a reader code; `reject` for codes this layer does not know. */
export function readerDisposition(code: string): Disposition {
  return dispositions.get(code) ?? 'reject';
}

/** Thrown (on the first `next()`) when read options cannot be used; carries every problem found. */
export class ReaderOptionsError extends CodedError {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(ReaderErrors.OPTIONS_INVALID, `${file}: ${problems.join('; ')}`);
    this.name = 'ReaderOptionsError';
    this.problems = problems;
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
