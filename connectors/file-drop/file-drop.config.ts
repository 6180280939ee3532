/**
 * `target.config` of kind `file-drop` and its JSON Schema, composed from
 * the formats' schemas.
 */
import { ackConfigSchema, type AckConfig } from './ack/ack.config.js';
import { formatConfigSchema, type FormatConfig } from './formats/index.js';
import { sftpConfigSchema, type SftpConfig } from './sftp.upload.js';

/** When a new file is started; by default one file per pass. */
export interface RotateConfig {
  /** A file holds at most this many records. */
  records?: number;
  /** A file is closed once it has been open this long (`30s`, `15m`, `1h`) and a record arrives, or at the end of the pass. */
  every?: string;
}

/** `target.config` of kind `file-drop`. Relative paths are relative to the pipeline file. */
export type FileDropConfig = {
  /** The drop folder (made when missing). */
  folder: string;
  /** File name template; default `{pipeline}_{date:yyyyMMdd}_{seq:6}.{ext}`. */
  name?: string;
  /** Time zone of `{date}` in names and of header/trailer dates; default `UTC`. */
  timezone?: string;
  rotate?: RotateConfig;
  /** After the data file, an empty file named after it with this suffix (`.ok`, `.done`) tells the legacy system it is complete. */
  trigger?: string;
  /** After the data file (and before the trigger), `<name>.manifest.json` with record count, control totals and SHA-256. */
  manifest?: boolean;
  format: FormatConfig;
  /** Acknowledgement or reject files the legacy system writes back, and their layout. */
  ack?: AckConfig;
  /** Deliver to a remote folder over SFTP; the local folder is then the staging area. */
  sftp?: SftpConfig;
};

/** Default file name template. */
export const DEFAULT_NAME = '{pipeline}_{date:yyyyMMdd}_{seq:6}.{ext}';

/** JSON Schema (draft-07) of {@link FileDropConfig}. */
export const fileDropConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['folder', 'format'],
  properties: {
    folder: { type: 'string', minLength: 1, description: 'Drop folder, relative to the pipeline file; made when missing.' },
    name: {
      type: 'string',
      minLength: 1,
      pattern: '\\{seq(:[1-9][0-9]?)?\\}',
      not: { pattern: '\\.\\.|[/\\\\]|^\\.' },
      description: 'File name template: text with {pipeline}, {date:yyyyMMdd}, {seq:6} (required), {ext}; no separators or "..". Default {pipeline}_{date:yyyyMMdd}_{seq:6}.{ext}.',
    },
    timezone: { type: 'string', minLength: 1, description: 'IANA time zone of dates in names; default UTC.' },
    rotate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        records: { type: 'integer', minimum: 1, description: 'Records per file at most.' },
        every: { type: 'string', pattern: '^[1-9][0-9]*(s|m|h)$', description: 'Close a file once it has been open this long (30s, 15m, 1h).' },
      },
      description: 'When to start a new file; default one file per pass.',
    },
    trigger: { type: 'string', pattern: '^\\.[A-Za-z0-9_-]{1,16}$', description: 'Suffix of an empty trigger file written after the data file, e.g. .ok or .done.' },
    manifest: { type: 'boolean', description: 'Write <name>.manifest.json (record count, control totals, SHA-256) after the data file.' },
    format: formatConfigSchema,
    ack: ackConfigSchema,
    sftp: sftpConfigSchema,
  },
};

/** `every` in milliseconds. */
export function rotateMs(every: string | undefined): number | undefined {
  if (every === undefined) return undefined;
  const n = Number(every.slice(0, -1));
  return n * { s: 1000, m: 60_000, h: 3_600_000 }[every.slice(-1) as 's' | 'm' | 'h'];
}
