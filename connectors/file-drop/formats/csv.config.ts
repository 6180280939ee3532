/**
 * `format:` of kind `csv`, declared once: the JSON Schema, the type and
 * the defaults derive from one typebox schema.
 */
import { Type, type Static } from 'typebox';
import { closed, constant, defaultsOf, oneOf, oneOfValues, withDefault } from '../../config.schema.js';
import { LINE_ENDINGS, OUTPUT_ENCODINGS, type LineEnding } from './encoding.js';

const columnSchema = closed({ field: Type.String({ minLength: 1 }), header: Type.Optional(Type.String()) });

/** One CSV column: a record field and the header text (default: the field name). */
export type CsvColumn = Static<typeof columnSchema>;

/** JSON Schema (draft-07) of {@link CsvFormatConfig}. */
export const csvFormatSchema = closed({
  kind: constant('csv'),
  delimiter: withDefault(Type.String({ minLength: 1, maxLength: 4, not: { pattern: '[\\r\\n"]' }, description: 'Field separator; default ",".' }), ','),
  quote: withDefault(Type.String({ minLength: 1, maxLength: 1, not: { pattern: '[\\r\\n]' }, description: 'Quote character; default ".' }), '"'),
  quoting: withDefault(oneOfValues(['needed', 'all'], { description: 'needed (default): only values holding the delimiter, a quote or a line break; all: every value.' }), 'needed'),
  lineEnding: withDefault(oneOfValues(Object.keys(LINE_ENDINGS) as LineEnding[], { description: 'crlf (default), lf or cr.' }), 'crlf'),
  header: withDefault(Type.Boolean({ description: 'Write a header line; default true.' }), true),
  encoding: withDefault(oneOfValues(OUTPUT_ENCODINGS, { description: 'utf-8 (default), utf-8-bom, windows-1252 or latin1. A character the encoding lacks rejects the record.' }), 'utf-8'),
  columns: Type.Optional(
    Type.Array(oneOf([Type.String({ minLength: 1 }), columnSchema]), { minItems: 1, description: 'Columns in order (a field name, or {field, header}); default: the mapping’s fields.' }),
  ),
  defuseFormulas: withDefault(Type.Boolean({ description: 'Prefix a single quote to text starting with = + - @ tab or CR so spreadsheets do not run it; default true.' }), true),
});

/** `format:` of kind `csv`; `defuseFormulas` is described in csv.format.ts. */
export type CsvFormatConfig = Static<typeof csvFormatSchema>;

/** Defaults of {@link CsvFormatConfig}. */
export const CSV_DEFAULTS = defaultsOf(csvFormatSchema);
