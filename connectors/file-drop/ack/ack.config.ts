/**
 * Acknowledgement and reject files that a legacy batch system writes back
 * after taking a dropped file: which file answers which drop (a name
 * template over the data file's name and sequence number) and the declared
 * layout of its lines (fixed-width columns or CSV columns).
 */
import { OUTPUT_ENCODINGS, type OutputEncoding } from '../formats/encoding.js';

/** Where a value sits in an acknowledgement line: 1-based column and width (fixed-width) or a CSV column (header name or 1-based index). */
export interface AckColumn {
  start?: number;
  length?: number;
  column?: string | number;
}

/** `ack:` of the file-drop target. */
export type AckConfig = {
  /** Folder the legacy system writes answers into; default the drop folder. */
  folder?: string;
  /** Name of the answer to a data file: text with `{name}` (the data file's name), `{base}` (without its extension) and `{seq:WIDTH}`. E.g. `{name}.ack`, `ACK_{seq:6}.txt`. */
  match: string;
  /** `fixed-width` (default) or `csv`. */
  format?: 'fixed-width' | 'csv';
  /** CSV: default `,`. */
  delimiter?: string;
  /** CSV: the first line is a header; default true. */
  header?: boolean;
  /** Default `utf-8`. */
  encoding?: OutputEncoding;
  /** Only lines starting with this text are answers (others: header, trailer); fixed-width only. */
  linePrefix?: string;
  /** The record number in the data file (1-based), as the target numbered the records (`legacyRef` is `file#number`). */
  record: AckColumn;
  status: AckColumn;
  reason?: AckColumn;
  /** Status values meaning accepted (compared after trimming). */
  accepted: string[];
  /** Status values meaning rejected. */
  rejected: string[];
};

const column = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'integer', minimum: 1 },
    length: { type: 'integer', minimum: 1 },
    column: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 1 }] },
  },
};

/** JSON Schema (draft-07) of {@link AckConfig}. */
export const ackConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['match', 'status', 'accepted', 'rejected', 'record'],
  properties: {
    folder: { type: 'string', minLength: 1, description: 'Folder of answer files; default the drop folder.' },
    match: { type: 'string', minLength: 1, pattern: '\\{(name|base|seq(:[1-9][0-9]?)?)\\}', not: { pattern: '\\.\\.|[/\\\\]' }, description: 'Answer file name: text with {name}, {base} or {seq:WIDTH}.' },
    format: { enum: ['fixed-width', 'csv'] },
    delimiter: { type: 'string', minLength: 1, maxLength: 4 },
    header: { type: 'boolean' },
    encoding: { enum: OUTPUT_ENCODINGS },
    linePrefix: { type: 'string', minLength: 1, description: 'Fixed-width: only lines starting with this are answers.' },
    record: { ...column, description: 'Where the 1-based record number of the data file is.' },
    status: column,
    reason: column,
    accepted: { type: 'array', minItems: 1, items: { type: 'string' } },
    rejected: { type: 'array', minItems: 1, items: { type: 'string' } },
  },
};
