/**
 * The `file` source's configuration: its type and the JSON Schema it
 * declares to the registry (and so to the pipeline schema and `rekey
 * validate`). The read options mirror the input readers' own; the file
 * inbox declares the same ones through {@link fileReadSchemaProperties}.
 */
import type { InputFormat } from '../connector.types.js';
import type { CsvReadOptions, JsonReadOptions, ReadEncoding, XmlReadOptions } from './readers/index.js';

/** How the files of a folder are chosen and read: the options the `file` source and the file inbox share. */
export type FileReadConfig = {
  /** Folder only: which file names to read (`*`, `?`, `{a,b}`). Default: names whose extension is a known format. */
  pattern?: string;
  format?: InputFormat;
  encoding?: ReadEncoding;
  csv?: CsvReadOptions;
  xml?: XmlReadOptions;
  json?: JsonReadOptions;
  maxRecordBytes?: number;
};

/** `source.config` of kind `file`. Relative paths are relative to the pipeline file. */
export type FileSourceConfig = FileReadConfig & {
  /** A file, or a folder whose files (matching `pattern`) are read in name order. */
  path: string;
  /** Size of the byte chunks handed to mapping workers (NDJSON); default 1 MiB. */
  chunkBytes?: number;
};

/** Default size of the byte chunks of {@link FileSourceConfig.chunkBytes}: 1 MiB. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

const oneChar = (description: string) => ({ type: 'string', minLength: 1, maxLength: 1, description });
const positive = (description: string) => ({ type: 'integer', minimum: 1, description });

/** JSON Schema (draft-07) properties of {@link FileReadConfig}, for any source that reads files. */
export const fileReadSchemaProperties: Record<string, unknown> = {
  pattern: {
    type: 'string',
    minLength: 1,
    description: 'Folder only: file names to read, with * and ? wildcards and {a,b} alternatives, e.g. "*.ndjson". Default: every .json, .ndjson, .jsonl, .csv and .xml file.',
  },
  format: { type: 'string', enum: ['json', 'ndjson', 'csv', 'xml'], description: 'Input format; default from each file name’s extension.' },
  encoding: { type: 'string', enum: ['utf-8', 'windows-1252', 'latin1'], description: 'Default utf-8; a byte order mark overrides it.' },
  csv: {
    type: 'object',
    additionalProperties: false,
    properties: {
      delimiter: oneChar('Field delimiter; default ",".'),
      quote: oneChar('Quote character; default ".'),
      escape: oneChar('Escape inside quoted fields; default the quote.'),
      comment: oneChar('Lines starting with it are skipped.'),
      columns: { type: 'boolean', description: 'The first row names the columns (default true).' },
      shape: { type: 'string', enum: ['rows', 'govuk-forms'], description: 'rows (default), or govuk-forms for a GOV.UK Forms CSV export.' },
      formName: { type: 'string', description: 'form_name of each govuk-forms submission (the export lacks it).' },
      duplicateColumns: { type: 'string', enum: ['error', 'suffix', 'array'], description: 'A header naming a column twice: error (default), suffix or array.' },
    },
  },
  xml: {
    type: 'object',
    additionalProperties: false,
    required: ['recordPath'],
    properties: {
      recordPath: { type: 'string', minLength: 1, description: 'Dotted path from the root to the repeating record element, e.g. submissions.submission.' },
      maxRecordBytes: positive('Largest record in bytes.'),
      maxDepth: positive('Deepest element nesting; default 64.'),
      attributePrefix: { type: 'string', description: 'Prefix of attribute keys; default @_.' },
      arrays: { type: 'array', items: { type: 'string' }, description: 'Paths inside a record whose elements are always lists.' },
    },
  },
  json: {
    type: 'object',
    additionalProperties: false,
    properties: { recordsPath: { type: 'string', minLength: 1, description: 'Dotted key path to the array of records.' } },
  },
  maxRecordBytes: positive('Largest record in bytes; default 10 MiB. A larger one is reported, never held.'),
};

/** JSON Schema (draft-07) of {@link FileSourceConfig}. */
export const fileSourceConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, description: 'A file, or a folder whose files are read in name order. Relative to the pipeline file.' },
    ...fileReadSchemaProperties,
    chunkBytes: { type: 'integer', minimum: 1024, description: 'NDJSON byte chunks handed to mapping workers; default 1048576 (1 MiB).' },
  },
};
