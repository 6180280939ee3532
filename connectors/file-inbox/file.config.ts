/**
 * The `file` source's configuration, declared once: the JSON Schema it
 * declares to the registry (and so to the pipeline schema and `rekey
 * validate`), its type and its defaults derive from one typebox schema.
 * The read options mirror the input readers' own; the file inbox declares
 * the same ones through {@link fileReadSchemaProperties}.
 */
import { Type, type Static, type TObject } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING } from '../../lib/json-depth.js';
import { DEFAULT_MAX_RECORD_BYTES } from './readers/read-options.js';

const oneChar = (description: string) => Type.String({ minLength: 1, maxLength: 1, description });
const positive = (description: string) => Type.Integer({ minimum: 1, description });
const depthLimit = (description: string) => withDefault(Type.Integer({ minimum: 1, maximum: MAX_DEPTH_CEILING, description }), DEFAULT_MAX_DEPTH);
const oneOfStrings = <const V extends string[]>(values: [...V], description: string) => Type.Enum(values, { type: 'string', description });

/** JSON Schema (draft-07) properties of {@link FileReadConfig}, for any source that reads files (spread into its properties). */
export const fileReadSchemaProperties = {
  pattern: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Folder only: file names to read, with * and ? wildcards and {a,b} alternatives, e.g. "*.ndjson". Default: every .json, .ndjson, .jsonl, .csv and .xml file.',
    }),
  ),
  format: Type.Optional(oneOfStrings(['json', 'ndjson', 'csv', 'xml'], 'Input format; default from each file name’s extension.')),
  encoding: Type.Optional(oneOfStrings(['utf-8', 'windows-1252', 'latin1'], 'Default utf-8; a byte order mark overrides it.')),
  csv: Type.Optional(
    closed({
      delimiter: Type.Optional(oneChar('Field delimiter; default ",".')),
      quote: Type.Optional(oneChar('Quote character; default ".')),
      escape: Type.Optional(oneChar('Escape inside quoted fields; default the quote.')),
      comment: Type.Optional(oneChar('Lines starting with it are skipped.')),
      columns: Type.Optional(Type.Boolean({ description: 'The first row names the columns (default true).' })),
      shape: Type.Optional(oneOfStrings(['rows', 'govuk-forms'], 'rows (default), or govuk-forms for a GOV.UK Forms CSV export.')),
      formName: Type.Optional(Type.String({ description: 'form_name of each govuk-forms submission (the export lacks it).' })),
      duplicateColumns: Type.Optional(oneOfStrings(['error', 'suffix', 'array'], 'A header naming a column twice: error (default), suffix or array.')),
      relaxQuotes: Type.Optional(
        Type.Boolean({
          description: 'Keep a quote inside an unquoted field (a,b"c,d) or after a closing quote as it stands, instead of failing the record (INPUT_MALFORMED_RECORD). Default false.',
        }),
      ),
    }),
  ),
  xml: Type.Optional(
    closed({
      recordPath: Type.String({ minLength: 1, description: 'Dotted path from the root to the repeating record element, e.g. submissions.submission.' }),
      maxRecordBytes: Type.Optional(positive('Largest record in bytes.')),
      maxDepth: depthLimit(`Deepest element nesting; default ${DEFAULT_MAX_DEPTH}, at most ${MAX_DEPTH_CEILING}. A deeper record is reported, never read.`),
      attributePrefix: Type.Optional(Type.String({ description: 'Prefix of attribute keys; default @_.' })),
      arrays: Type.Optional(Type.Array(Type.String(), { description: 'Paths inside a record whose elements are always lists.' })),
    }),
  ),
  json: Type.Optional(
    closed({
      recordsPath: Type.Optional(Type.String({ minLength: 1, description: 'Dotted key path to the array of records.' })),
      maxDepth: depthLimit(
        `JSON and NDJSON: deepest nesting of arrays and objects in one record; default ${DEFAULT_MAX_DEPTH}, at most ${MAX_DEPTH_CEILING}. A deeper record is reported (INPUT_TOO_DEEP), never read.`,
      ),
    }),
  ),
  maxRecordBytes: withDefault(positive('Largest record in bytes; default 10485760 (10 MiB). A larger one is reported, never held.'), DEFAULT_MAX_RECORD_BYTES),
  keyBy: Type.Optional(
    oneOfStrings(
      ['content', 'position'],
      'How a record is keyed when its mapping has no key: template. content (default): by its content, so identical records are one submission; position: by the file (its name and content hash) and the record\'s line, so identical rows are each a submission and the same file read again is keyed alike.',
    ),
  ),
};

/** How the files of a folder are chosen and read: the options the `file` source and the file inbox share. */
export type FileReadConfig = Static<TObject<typeof fileReadSchemaProperties>>;

/** JSON Schema (draft-07) of {@link FileSourceConfig}. */
export const fileSourceConfigSchema = closed({
  path: Type.String({ minLength: 1, description: 'A file, or a folder whose files are read in name order. Relative to the pipeline file.' }),
  ...fileReadSchemaProperties,
  chunkBytes: withDefault(Type.Integer({ minimum: 1024, description: 'NDJSON byte chunks handed to mapping workers; default 1048576 (1 MiB).' }), 1024 * 1024),
});

/** `source.config` of kind `file`. Relative paths are relative to the pipeline file. */
export type FileSourceConfig = Static<typeof fileSourceConfigSchema>;

/** Defaults of {@link FileSourceConfig}. */
export const FILE_SOURCE_DEFAULTS = defaultsOf(fileSourceConfigSchema);

/** Size of the byte chunks handed to mapping workers when `chunkBytes` is not set (1 MiB): the schema's default. */
export const DEFAULT_CHUNK_BYTES = FILE_SOURCE_DEFAULTS.chunkBytes;
