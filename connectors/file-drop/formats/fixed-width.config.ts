/**
 * `format:` of kind `fixed-width` and its record layouts, declared once:
 * the JSON Schema, the types and the defaults derive from one typebox
 * schema.
 */
import { Type, type Static } from 'typebox';
import { closed, constant, defaultsOf, mapOf, oneOfValues, withDefault } from '../../config.schema.js';
import { LINE_ENDINGS, OUTPUT_ENCODINGS, type LineEnding } from './encoding.js';

const signSchema = oneOfValues(['none', 'leading', 'trailing', 'overpunch'], {
  description: 'Numeric sign: none (negatives refused), leading/trailing + or -, overpunch (zoned).',
});

/** How a numeric field shows its sign: `none` (negative values are refused), `leading`/`trailing` (`+` or `-`), `overpunch` (zoned decimal: the last digit carries the sign). */
export type SignStyle = Static<typeof signSchema>;

const fieldSchema = closed({
  name: Type.String({ minLength: 1, description: 'Record field shown (detail, child), or a label (header, trailer, constants).' }),
  start: Type.Optional(Type.Integer({ minimum: 1, description: '1-based start column; default right after the previous field.' })),
  length: Type.Integer({ minimum: 1, description: 'Width in bytes of the encoding.' }),
  type: withDefault(oneOfValues(['text', 'numeric'], { description: 'Default text.' }), 'text'),
  align: Type.Optional(oneOfValues(['left', 'right'], { description: 'Default left for text, right for numeric.' })),
  pad: Type.Optional(Type.String({ minLength: 1, maxLength: 1, description: 'Pad character; default space (text) or 0 (numeric).' })),
  decimals: Type.Optional(Type.Integer({ minimum: 0, maximum: 18, description: 'Numeric: implied decimal places.' })),
  sign: withDefault(signSchema, 'none'),
  truncate: Type.Optional(Type.Boolean({ description: 'Text: cut a value that is too long instead of refusing the record.' })),
  value: Type.Optional(Type.String({ description: 'Constant in every record of this type (record-type code, filler).' })),
  count: Type.Optional(oneOfValues(['records', 'body', 'lines'], { description: 'Header/trailer: count of records, body lines or all lines.' })),
  sum: Type.Optional(Type.String({ minLength: 1, description: 'Header/trailer: control total of this numeric detail field.' })),
  date: Type.Optional(Type.String({ minLength: 1, description: 'Header/trailer: file date in the target time zone, as a Luxon format.' })),
  sequence: Type.Optional(Type.Boolean({ description: 'Header/trailer: the file sequence number.' })),
  fileName: Type.Optional(Type.Boolean({ description: 'Header/trailer: the file name.' })),
});

/**
 * One field of a fixed-width record layout: the record field it shows (or
 * a label), its 1-based `start` (default right after the previous field;
 * gaps are spaces) and `length` in bytes of the file's encoding, how it is
 * rendered, and, in a header or trailer, what it carries (`count` of
 * `records`, `body` lines or all `lines`; `sum` of a numeric detail field;
 * `date` as a Luxon format in the target's time zone; `sequence`;
 * `fileName`).
 */
export type FixedFieldConfig = Static<typeof fieldSchema>;

/** Defaults of {@link FixedFieldConfig}. */
export const FIXED_FIELD_DEFAULTS = defaultsOf(fieldSchema);

/** JSON Schema (draft-07) of {@link RecordLayoutConfig}. */
export const recordLayoutSchema = closed({
  fields: Type.Array(fieldSchema, { minItems: 1 }),
  length: Type.Optional(Type.Integer({ minimum: 1, description: 'Record width; padded with spaces. Default: end of the last field.' })),
});

/** The layout of one record type; the line is padded with spaces to `length` (default: where the last field ends). */
export type RecordLayoutConfig = Static<typeof recordLayoutSchema>;

/** JSON Schema (draft-07) of {@link FixedWidthFormatConfig}. */
export const fixedWidthFormatSchema = closed({
  kind: constant('fixed-width'),
  encoding: withDefault(oneOfValues(OUTPUT_ENCODINGS, { description: 'utf-8 (default), utf-8-bom, windows-1252 or latin1; widths are bytes of this encoding.' }), 'utf-8'),
  lineEnding: withDefault(
    oneOfValues([...(Object.keys(LINE_ENDINGS) as LineEnding[]), 'none'], { description: 'crlf (default), lf, cr or none (records back to back).' }),
    'crlf',
  ),
  timezone: withDefault(Type.String({ minLength: 1, description: 'IANA time zone of header/trailer dates; default UTC.' }), 'UTC'),
  header: Type.Optional(recordLayoutSchema),
  detail: recordLayoutSchema,
  children: Type.Optional(mapOf(recordLayoutSchema, { description: 'Layouts of child rows by group name.' })),
  trailer: Type.Optional(recordLayoutSchema),
});

/** `format:` of kind `fixed-width`: one `detail` line per mapped record, one line per child row after it (layouts by group name), optional header and trailer. */
export type FixedWidthFormatConfig = Static<typeof fixedWidthFormatSchema>;

/** Defaults of {@link FixedWidthFormatConfig}. */
export const FIXED_WIDTH_DEFAULTS = defaultsOf(fixedWidthFormatSchema);
