/**
 * The file-drop target's formats by kind: their config union, the JSON
 * Schema that composes theirs, and the factory.
 */
import { Type } from 'typebox';
import { csvFormat, csvFormatSchema, type CsvFormatConfig } from './csv.format.js';
import { fixedWidthFormat, fixedWidthFormatSchema, type FixedWidthFormatConfig } from './fixed-width.format.js';
import type { FileFormat } from './format.types.js';
import { xmlFormat, xmlFormatSchema, type XmlFormatConfig } from './xml.format.js';

/** `format:` of the file-drop target. */
export type FormatConfig = CsvFormatConfig | FixedWidthFormatConfig | XmlFormatConfig;

/** JSON Schema (draft-07) of {@link FormatConfig}: one of the formats, chosen by `kind`. */
export const formatConfigSchema = Type.Unsafe<FormatConfig>({
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['csv', 'fixed-width', 'xml'], description: 'csv, fixed-width or xml.' } },
  if: { properties: { kind: { const: 'csv' } } },
  then: csvFormatSchema,
  else: { if: { properties: { kind: { const: 'fixed-width' } } }, then: fixedWidthFormatSchema, else: xmlFormatSchema },
});

/**
 * Builds the format of a config that passed {@link formatConfigSchema};
 * `mappingFields` (the feeding mapping's field names, in order) are the
 * default CSV columns and XML elements. Throws an Error describing every
 * problem of the layout.
 */
export function fileFormat(config: FormatConfig, mappingFields: readonly string[] = []): FileFormat & { readonly maxRecords?: number | undefined } {
  switch (config.kind) {
    case 'csv':
      return csvFormat(config, mappingFields);
    case 'fixed-width':
      return fixedWidthFormat(config);
    case 'xml':
      return xmlFormat(config, mappingFields);
  }
}

export type { FileFormat, FileFacts, FileTotals, FormatRecord, Formatted, ControlTotal } from './format.types.js';
export { totalText } from './format.types.js';
export type { OutputEncoding } from './encoding.js';
