/**
 * The file-drop target's error catalogue (STYLE §3): stable codes, and the
 * failure thrown when the target as a whole cannot go on. A record the
 * formats cannot write is that record's `rejected` outcome with one of the
 * `FILE_DROP_VALUE*` codes, naming the field.
 */
import type { ConnectorError } from '../connector.types.js';

/** Stable codes of the file-drop target. */
export const FileDropCodes = {
  /** A value the layout cannot hold: too long, not a number, too many decimals, a line break in a fixed-width field. */
  VALUE: 'FILE_DROP_VALUE',
  /** A character the file's encoding cannot represent, or one XML 1.0 does not allow. */
  ENCODING: 'FILE_DROP_ENCODING',
  /** The configuration cannot work (layout overlaps, name template escapes the folder). */
  CONFIG: 'FILE_DROP_CONFIG',
  /** A file of another run (or another pipeline, or from before the state store was replaced) already has the name: never replaced. */
  EXISTS: 'FILE_DROP_EXISTS',
  /** The drop folder cannot be written now (full disk, permissions, remote down). */
  IO: 'FILE_DROP_IO',
  /** The target needs the state store (`ctx.state`) and was not given it. */
  NO_STATE: 'FILE_DROP_NO_STATE',
  /** The journal in the connector state is damaged (a published file without its keys row). */
  JOURNAL: 'FILE_DROP_JOURNAL',
  /** An acknowledgement file that does not follow its declared layout. */
  ACK: 'FILE_DROP_ACK',
  /** The legacy system rejected the record in its acknowledgement file. */
  REJECTED_BY_LEGACY: 'FILE_DROP_REJECTED_BY_LEGACY',
} as const;

/** One of {@link FileDropCodes}' values. */
export type FileDropCode = (typeof FileDropCodes)[keyof typeof FileDropCodes];

/** The plain-data error of one record that a format refused (disposition `reject`). */
export function valueError(code: FileDropCode, field: string, message: string): ConnectorError {
  return { code, disposition: 'reject', message: `${field}: ${message}`, field };
}

/** Thrown when the file-drop target cannot go on; `disposition` says whether trying later may help. */
export class FileDropFailure extends Error {
  readonly code: FileDropCode;
  readonly disposition: ConnectorError['disposition'];
  constructor(code: FileDropCode, disposition: ConnectorError['disposition'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FileDropFailure';
    this.code = code;
    this.disposition = disposition;
  }

  /** Plain data for logs, the ledger and worker boundaries. */
  toData(): ConnectorError {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}
