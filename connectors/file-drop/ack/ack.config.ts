/**
 * Acknowledgement and reject files that a legacy batch system writes back
 * after taking a dropped file: which file answers which drop (a name
 * template over the data file's name and sequence number) and the declared
 * layout of its lines (fixed-width columns or CSV columns). Declared once:
 * the JSON Schema, the type and the defaults derive from it.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, oneOf, withDefault } from '../../config.schema.js';
import { OUTPUT_ENCODINGS, type OutputEncoding } from '../formats/encoding.js';

const columnSchema = (description?: string) =>
  closed(
    {
      start: Type.Optional(Type.Integer({ minimum: 1 })),
      length: Type.Optional(Type.Integer({ minimum: 1 })),
      column: Type.Optional(oneOf([Type.String({ minLength: 1 }), Type.Integer({ minimum: 1 })])),
    },
    description === undefined ? {} : { description },
  );

/** Where a value sits in an acknowledgement line: 1-based column and width (fixed-width) or a CSV column (header name or 1-based index). */
export type AckColumn = Static<ReturnType<typeof columnSchema>>;

/** JSON Schema (draft-07) of {@link AckConfig}. */
export const ackConfigSchema = closed({
  folder: Type.Optional(Type.String({ minLength: 1, description: 'Folder of answer files; default the drop folder.' })),
  match: Type.String({ minLength: 1, pattern: '\\{(name|base|seq(:[1-9][0-9]?)?)\\}', not: { pattern: '\\.\\.|[/\\\\]' }, description: 'Answer file name: text with {name}, {base} or {seq:WIDTH}.' }),
  format: withDefault(Type.Enum(['fixed-width', 'csv']), 'fixed-width'),
  delimiter: withDefault(Type.String({ minLength: 1, maxLength: 4 }), ','),
  header: withDefault(Type.Boolean(), true),
  encoding: withDefault(Type.Enum([...OUTPUT_ENCODINGS] as OutputEncoding[]), 'utf-8'),
  linePrefix: Type.Optional(Type.String({ minLength: 1, description: 'Fixed-width: only lines starting with this are answers.' })),
  record: columnSchema('Where the 1-based record number of the data file is.'),
  status: columnSchema(),
  reason: Type.Optional(columnSchema()),
  accepted: Type.Array(Type.String(), { minItems: 1 }),
  rejected: Type.Array(Type.String(), { minItems: 1 }),
});

/**
 * `ack:` of the file-drop target: `match` names the answer to a data file
 * (`{name}.ack`, `ACK_{seq:6}.txt`); `record` is the record number in the
 * data file as the target numbered them (`legacyRef` is `file#number`);
 * `accepted` and `rejected` are status values, compared after trimming.
 */
export type AckConfig = Static<typeof ackConfigSchema>;

/** Defaults of {@link AckConfig}. */
export const ACK_DEFAULTS = defaultsOf(ackConfigSchema);
