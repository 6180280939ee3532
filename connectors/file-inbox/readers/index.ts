/**
 * The input readers: turn a file (or any byte stream) of form submissions
 * into a stream of {@link ReadItem}s, one per record, never holding the
 * whole file. Used by `rekey preview` and the file-inbox source.
 */
import { createReadStream } from 'node:fs';
import type { ReadItem } from '../../connector.types.js';
import { readCsv } from './csv.reader.js';
import { decodeText, undecodable, type ByteSource } from './decode.js';
import { ReaderCodes } from './reader.errors.js';
import { readJson } from './json.reader.js';
import { readNdjson } from './ndjson.reader.js';
import { formatFromName, resolveOptions, type ReadOptions } from './read-options.js';
import { readXml } from './xml.reader.js';

export type { ByteSource } from './decode.js';
export { formatFromName, resolveOptions, DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES } from './read-options.js';
export type { ReadOptions, ReadEncoding, CsvReadOptions, XmlReadOptions, JsonReadOptions } from './read-options.js';
export { ReaderCodes, ReaderOptionsError, readerDisposition } from './reader.errors.js';
export type { ReaderCode, Disposition } from './reader.errors.js';
export { govukFormsPlan, govukFormsSubmission, londonTimeToUtc } from './govuk-forms-csv.js';

const readers = { json: readJson, ndjson: readNdjson, csv: readCsv, xml: readXml } as const;

/**
 * Reads records from `input` (bytes in `opts.encoding`, a BOM overriding
 * it) in the format `opts.format` or the one `opts.file`'s extension
 * implies. Yields one item per record, in file order: `{ok: true, value}`
 * or `{ok: false, error: {code, message}}`, each located by file, 1-based
 * record number and start line. A bad record never stops the rest; see each
 * format's reader for the error codes; a record with bytes its encoding
 * cannot decode is `INPUT_UNDECODABLE`, naming the field (in UTF-8 a
 * valid U+FFFD, EF BF BD, is a character like any other). Throws {@link ReaderOptionsError} on
 * the first `next()` when the options are invalid, and rethrows I/O errors
 * of `input`. Reading is pull-driven: nothing is read ahead of the consumer
 * beyond one chunk, and `return()` (a `break` in `for await`) stops the input.
 */
export async function* readRecords(input: ByteSource, opts: ReadOptions): AsyncGenerator<ReadItem, void, undefined> {
  const o = resolveOptions(opts);
  let mark: string | undefined;
  const text = decodeText(input, o.encoding, { xmlDeclaration: o.format === 'xml', onUndecodable: (m) => (mark = m) });
  for await (const item of readers[o.format](text, o)) {
    const field = mark !== undefined && item.ok ? undecodable(item.value, mark) : undefined;
    if (field === undefined) yield item;
    else {
      const message = `field ${field} holds bytes that are not valid ${o.encoding ?? 'utf-8'}; if the file is in another encoding (windows-1252, latin1), set encoding`;
      yield { ok: false, error: { code: ReaderCodes.UNDECODABLE, message }, at: item.at };
    }
  }
}

/**
 * Opens `path` as a stream and reads it with {@link readRecords}; `file` in
 * locations defaults to `path`, and the format to the one its extension
 * implies. Throws the open/read error (e.g. ENOENT) on the first `next()`.
 * The file is closed when iteration ends, fails or is stopped early.
 */
export async function* readFileRecords(path: string, opts: Partial<ReadOptions> = {}): AsyncGenerator<ReadItem, void, undefined> {
  const file = opts.file ?? path;
  const format = opts.format ?? formatFromName(file) ?? formatFromName(path);
  const options: ReadOptions = format === undefined ? { ...opts, file } : { ...opts, file, format };
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    yield* readRecords(stream, options);
  } finally {
    stream.destroy();
  }
}
