/**
 * The interfaces the engine knows. Each connector folder implements one of
 * them and declares its own config schema; nothing else about a connector is
 * known outside its folder.
 */
import type { Logger } from 'pino';

/** One form submission as a source hands it over. */
export interface Submission {
  /** Stable key: the platform's reference scoped by form, or a content hash. */
  key: string;
  body: unknown;
  /** Where it came from (file, line, record number, HTTP request id, ...). */
  meta: Record<string, string>;
}

/** Handed to every connector call: never read these from globals. */
export interface Ctx {
  log: Logger;
  signal: AbortSignal;
  attempt: number;
}

/** Where a record was found in an input file, for error messages. */
export interface RecordLocation {
  file: string;
  /** 1-based record number within the file. */
  record: number;
  /** 1-based line where the record starts, where the format has lines. */
  line?: number;
}

/** One item read from an input file: a record, or why that record could not be read. */
export type ReadItem =
  | { ok: true; value: unknown; at: RecordLocation }
  | { ok: false; error: { code: string; message: string }; at: RecordLocation };

/** Input formats the readers understand. */
export type InputFormat = 'json' | 'ndjson' | 'csv' | 'xml';
