/**
 * `target.config` of kind `file-drop`, declared once and composed from the
 * formats', acknowledgements' and SFTP schemas: the JSON Schema, the type
 * and the defaults derive from it.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { ackConfigSchema } from './ack/ack.config.js';
import { formatConfigSchema } from './formats/index.js';
import { sftpConfigSchema } from './sftp.config.js';

const rotateSchema = closed(
  {
    records: Type.Optional(Type.Integer({ minimum: 1, description: 'Records per file at most.' })),
    every: Type.Optional(Type.String({ pattern: '^[1-9][0-9]*(s|m|h)$', description: 'Close a file once it has been open this long (30s, 15m, 1h).' })),
  },
  { description: 'When to start a new file; default one file per pass.' },
);

/** When a new file is started (by default one file per pass): after `records` records, or once a file has been open `every` (`30s`, `15m`, `1h`) and a record arrives, or at the end of the pass. */
export type RotateConfig = Static<typeof rotateSchema>;

/** JSON Schema (draft-07) of {@link FileDropConfig}. */
export const fileDropConfigSchema = closed({
  folder: Type.String({ minLength: 1, description: 'Drop folder, relative to the pipeline file; made when missing.' }),
  name: withDefault(
    Type.String({
      minLength: 1,
      pattern: '\\{seq(:[1-9][0-9]?)?\\}',
      not: { pattern: '\\.\\.|[/\\\\]|^\\.', description: 'must not hold a path separator (/ or \\) or "..", nor start with "." (it names a file in the drop folder)' },
      description: 'File name template: text with {pipeline}, {date:yyyyMMdd}, {seq:6} (required), {ext}; no separators or "..". Default {pipeline}_{date:yyyyMMdd}_{seq:6}.{ext}.',
    }),
    '{pipeline}_{date:yyyyMMdd}_{seq:6}.{ext}',
  ),
  timezone: withDefault(Type.String({ minLength: 1, description: 'IANA time zone of dates in names; default UTC.' }), 'UTC'),
  rotate: Type.Optional(rotateSchema),
  trigger: Type.Optional(Type.String({ pattern: '^\\.[A-Za-z0-9_-]{1,16}$', description: 'Suffix of an empty trigger file written after the data file, e.g. .ok or .done.' })),
  manifest: Type.Optional(Type.Boolean({ description: 'Write <name>.manifest.json (record count, control totals, SHA-256) after the data file.' })),
  format: formatConfigSchema,
  ack: Type.Optional(ackConfigSchema),
  sftp: Type.Optional(sftpConfigSchema),
});

/** `target.config` of kind `file-drop`. Relative paths are relative to the pipeline file; with `sftp`, the local folder is the staging area. */
export type FileDropConfig = Static<typeof fileDropConfigSchema>;

/** Defaults of {@link FileDropConfig}. */
export const FILE_DROP_DEFAULTS = defaultsOf(fileDropConfigSchema);

/** `every` in milliseconds. */
export function rotateMs(every: string | undefined): number | undefined {
  if (every === undefined) return undefined;
  const n = Number(every.slice(0, -1));
  return n * { s: 1000, m: 60_000, h: 3_600_000 }[every.slice(-1) as 's' | 'm' | 'h'];
}
