/**
 * The connectors' error catalogue: stable codes and what the runner must do
 * with each (STYLE §3). A connector reports one bad record as that record's
 * {@link ConnectorError}; it throws a {@link ConnectorFailure} only when it
 * cannot go on at all. The input readers keep their own catalogue
 * (file-inbox/readers/reader.errors.ts).
 */
import type { ConnectorError } from './connector.types.js';

/** Stable codes of the connectors. */
export const ConnectorCodes = {
  /** A source's configured path is missing or cannot be read. */
  SOURCE_UNREADABLE: 'SOURCE_UNREADABLE',
  /** Byte chunks were asked of a file that is not NDJSON in an ASCII-compatible encoding. */
  SOURCE_NOT_CHUNKABLE: 'SOURCE_NOT_CHUNKABLE',
  /** The database refused one record: NOT NULL, CHECK, UNIQUE (other than the key), foreign key, type. */
  SQL_CONSTRAINT: 'SQL_CONSTRAINT',
  /** A record value no column can hold (a list or mapping), or child rows this target does not write. */
  SQL_VALUE: 'SQL_VALUE',
  /** Update mode: no row has the record's key, so there is nothing to update. */
  SQL_NO_ROW: 'SQL_NO_ROW',
  /** The database is busy or locked by another writer. */
  SQL_BUSY: 'SQL_BUSY',
  /** The database could not be reached or failed for a reason that may pass. */
  SQL_UNAVAILABLE: 'SQL_UNAVAILABLE',
  /** The table or its columns do not fit the configuration: nothing can be written until someone fixes it. */
  SQL_SCHEMA: 'SQL_SCHEMA',
  /** A staging-table row whose body is not a submission (bad JSON, not an object, empty). */
  STAGING_BODY: 'STAGING_BODY',
} as const;

/** One of {@link ConnectorCodes}' values. */
export type ConnectorCode = (typeof ConnectorCodes)[keyof typeof ConnectorCodes];

/** Builds the plain-data error of one record. */
export function connectorError(code: ConnectorCode, disposition: ConnectorError['disposition'], message: string, field?: string): ConnectorError {
  return field === undefined ? { code, disposition, message } : { code, disposition, message, field };
}

/** Thrown when a connector as a whole cannot go on; `disposition` says whether trying later may help. */
export class ConnectorFailure extends Error {
  readonly code: ConnectorCode;
  readonly disposition: ConnectorError['disposition'];
  constructor(code: ConnectorCode, disposition: ConnectorError['disposition'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectorFailure';
    this.code = code;
    this.disposition = disposition;
  }

  /** Plain data for logs, the ledger and worker boundaries. */
  toData(): ConnectorError {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}
