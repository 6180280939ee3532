/**
 * What every file format of the file-drop target provides: pure functions
 * from mapped records to text, no I/O. The writer encodes the text (see
 * encoding.ts) and puts it in files.
 */
import type { ConnectorError } from '../../connector.types.js';
import type { OutputEncoding } from './encoding.js';

/** One mapped record as a format sees it. */
export interface FormatRecord {
  record: Record<string, unknown>;
  children: Record<string, Record<string, unknown>[]>;
}

/** What a format may put in a file's header or trailer about the file itself. */
export interface FileFacts {
  /** The data file's final name (no folder). */
  name: string;
  /** The file's sequence number from the state store. */
  sequence: number;
  /** When the file was opened. */
  createdAt: Date;
  pipeline: string;
}

/** Counts and control totals of the records written to one file. */
export interface FileTotals {
  /** Mapped records written (not header, trailer or child lines). */
  records: number;
  /** Lines (records of every type, header and trailer included). */
  lines: number;
  /** Per control total: the sum in units of its last implied decimal (an integer, so sums are exact). */
  sums: Record<string, bigint>;
}

/** One record as text, or why it cannot be written. */
export type Formatted =
  | { ok: true; text: string; lines: number; amounts: Record<string, bigint> | undefined }
  | { ok: false; error: ConnectorError };

/**
 * One record as bytes of the file's encoding, or why it cannot be written.
 * `bytes` may be a view of a buffer the format reuses: valid only until
 * the format's next call.
 */
export type Encoded =
  | { ok: true; bytes: Uint8Array; lines: number; amounts: Record<string, bigint> | undefined }
  | { ok: false; error: ConnectorError };

/** A control total a format keeps: the field summed and its implied decimals. */
export interface ControlTotal {
  field: string;
  decimals: number;
}

/** A file format: pure, stateless between calls; totals are kept by the caller from each record's `amounts`. */
export interface FileFormat {
  readonly encoding: OutputEncoding;
  /** File extension to suggest (`csv`, `dat`, `xml`). */
  readonly extension: string;
  /** The control totals this format keeps (fixed-width trailers); empty when none. */
  readonly totals: readonly ControlTotal[];
  /** Text before the first record (CSV header, XML declaration and root start tag, fixed-width header with zero totals). */
  begin(file: FileFacts): string;
  /** One record as text, or its error naming the field; never throws for bad data. */
  format(r: FormatRecord): Formatted;
  /**
   * Optional fast path: the record as the bytes `format`'s text encodes to,
   * or the same error. Formats that have it are written through it.
   */
  encode?(r: FormatRecord): Encoded;
  /**
   * Text after the last record (`tail`) and, where the start of the file
   * depends on the totals, its final text (`head`), which replaces
   * `begin`'s text and has the same length in bytes once encoded (a
   * fixed-width header filled in with the totals).
   */
  end(file: FileFacts, totals: FileTotals): { head?: string; tail: string };
}

/** Renders a control total (an integer count of its smallest unit) as decimal text: `123456n, 2` is `"1234.56"`. */
export function totalText(sum: bigint, decimals: number): string {
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(decimals + 1, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return neg ? `-${text}` : text;
}

/**
 * A record value as the text a file cell holds: strings as they are,
 * finite numbers and bigints in decimal, booleans as `true`/`false`, dates
 * as ISO 8601, null and undefined as empty. Lists and objects are not
 * file values: undefined is returned and the caller rejects the record.
 */
export function valueText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '';
    default:
      if (value === null) return '';
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      return undefined;
  }
}

/** Why {@link valueText} refused a value, for the record's error. */
export function valueTypeMessage(value: unknown): string {
  if (typeof value === 'number') return `${String(value)} is not a finite number`;
  return `is ${Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : `a ${typeof value}`}; a file field holds one value`;
}
