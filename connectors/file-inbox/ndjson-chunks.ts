/**
 * NDJSON files as byte chunks for mapping workers: sending bytes to a
 * worker thread costs less than sending the objects parsed from them, so
 * the main thread only cuts files at line boundaries and numbers the
 * chunks, and each worker parses its own chunk with the parser the chunk
 * names (`parseNdjsonChunk`) and maps it. {@link readChunk} reads a
 * chunk with the same records, lines and errors as reading the whole file.
 */
import { createReadStream } from 'node:fs';
import iconv from 'iconv-lite';
import type { SourceItem } from '../connector.types.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import { encodingFromBom } from './readers/decode.js';
import { NDJSON_CHUNK_PARSER, type NdjsonChunk } from './readers/ndjson.chunk-parser.js';
import { DEFAULT_MAX_RECORD_BYTES, readRecords, type ReadEncoding } from './readers/index.js';
import { toSourceItem } from './source-items.js';
import { isNotRegularFile, openRegular } from './safe-open.js';

/** The chunk standing for a file refused unopened (see `openRegular`): no bytes, the refusal as its one error. */
export function refusedChunk(file: string, e: ConnectorFailure): FileChunk {
  return { file, firstRecord: 1, firstLine: 1, bytes: new Uint8Array(0), parser: NDJSON_CHUNK_PARSER, refused: { code: e.code, message: e.message } };
}

/** Whole lines of one NDJSON file, with the numbers of the first line and first record in them, for the NDJSON chunk parser. */
export interface FileChunk extends NdjsonChunk {
  /** 1-based number the chunk's first record has in the file (blank lines are not records). */
  firstRecord: number;
}

/** How to cut and read chunks. */
export interface ChunkOptions {
  /** A chunk is cut at the first line end at or after this many bytes. */
  chunkBytes: number;
  encoding?: ReadEncoding;
  maxRecordBytes?: number;
  /** Handed to the chunk parser with each chunk: the source's `json.maxDepth`. */
  maxDepth?: number;
  /** The file is the source's configured path (the operator's choice, which may be a link): opened as it is, not through `openRegular`. */
  configured?: boolean;
  signal?: AbortSignal;
}

const LF = 0x0a;

function isRecord(parts: readonly Buffer[], bytes: number, encoding: string, limit: number): boolean {
  if (bytes > limit) return true;
  let high = false;
  for (const p of parts) {
    for (const b of p) {
      if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c) continue;
      if (b < 0x80) return true;
      high = true;
    }
  }
  if (!high) return false;
  const text = iconv.decode(Buffer.concat(parts), encoding);
  return text.trim() !== '' || Buffer.byteLength(text, 'utf8') > limit;
}

/**
 * Cuts the NDJSON file `file` into chunks of about `chunkBytes`, each ending
 * at a line end (the last may end without one). A line longer than
 * `maxRecordBytes` is cut short to one byte over the limit, so the worker
 * reports it as `INPUT_RECORD_TOO_LARGE` and memory stays bounded. A file
 * that is not a regular file when opened (see `openRegular`) is one
 * {@link refusedChunk}. Throws a
 * {@link ConnectorFailure} `SOURCE_NOT_CHUNKABLE` for a UTF-16 file (its
 * line ends are not single bytes) and the stream's I/O errors.
 */
export async function* ndjsonChunks(file: string, opts: ChunkOptions): AsyncGenerator<FileChunk, void, undefined> {
  const limit = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let encoding: string = opts.encoding ?? 'utf-8';
  let pending: Buffer[] = [];
  let size = 0;
  let lines = 0;
  let records = 0;
  let next = { line: 1, record: 1 };
  let line: Buffer[] = [];
  let lineBytes = 0;
  let started = false;
  const endLine = (newline: boolean) => {
    if (isRecord(line, lineBytes, encoding, limit)) records++;
    if (lineBytes > limit) line = [Buffer.concat(line).subarray(0, limit + 1)];
    for (const part of line) {
      pending.push(part);
      size += part.length;
    }
    if (newline) {
      pending.push(Buffer.from([LF]));
      size++;
    }
    lines++;
    line = [];
    lineBytes = 0;
  };
  const emit = (): FileChunk => {
    const chunk: FileChunk = { file, firstRecord: next.record, firstLine: next.line, bytes: Buffer.concat(pending, size), parser: NDJSON_CHUNK_PARSER };
    if (opts.maxDepth !== undefined) chunk.maxDepth = opts.maxDepth;
    next = { line: next.line + lines, record: next.record + records };
    pending = [];
    size = lines = records = 0;
    return chunk;
  };
  let stream;
  try {
    stream = opts.configured ? createReadStream(file, { highWaterMark: 64 * 1024 }) : (await openRegular(file, file)).createReadStream({ highWaterMark: 64 * 1024 });
  } catch (e) {
    if (!isNotRegularFile(e)) throw e;
    yield refusedChunk(file, e);
    return;
  }
  try {
    for await (const buf of stream as AsyncIterable<Buffer>) {
      if (opts.signal?.aborted) return;
      if (!started) {
        started = true;
        const bom = encodingFromBom(buf);
        if (bom?.startsWith('utf-16')) throw new ConnectorFailure(ConnectorErrors.SOURCE_NOT_CHUNKABLE, `${file} is UTF-16: its lines cannot be cut as bytes; read it whole`);
        if (bom) encoding = bom;
      }
      let pos = 0;
      while (pos < buf.length) {
        const nl = buf.indexOf(LF, pos);
        const end = nl < 0 ? buf.length : nl;
        if (lineBytes <= limit) line.push(buf.subarray(pos, end));
        lineBytes += end - pos;
        if (nl < 0) break;
        endLine(true);
        pos = nl + 1;
        if (size >= opts.chunkBytes) yield emit();
      }
    }
    if (lineBytes > 0) endLine(false);
    if (size > 0) yield emit();
  } finally {
    stream.destroy();
  }
}

/**
 * Reads the records of one chunk as {@link SourceItem}s located in the
 * whole file (record and line numbers offset by the chunk's first ones).
 * Pass the same `encoding` and `maxRecordBytes` the chunks were cut with.
 */
export async function* readChunk(chunk: FileChunk, opts: { encoding?: ReadEncoding; maxRecordBytes?: number } = {}): AsyncGenerator<SourceItem, void, undefined> {
  if (chunk.refused) {
    yield { ok: false, error: { code: chunk.refused.code, disposition: 'reject', message: chunk.refused.message }, at: { file: chunk.file, record: chunk.firstRecord } };
    return;
  }
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield chunk.bytes;
  }
  const read = {
    file: chunk.file,
    format: 'ndjson' as const,
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
    ...(opts.maxRecordBytes ? { maxRecordBytes: opts.maxRecordBytes } : {}),
    ...(chunk.maxDepth ? { json: { maxDepth: chunk.maxDepth } } : {}),
  };
  for await (const item of readRecords(bytes(), read)) {
    const at = { ...item.at, record: item.at.record + chunk.firstRecord - 1 };
    if (item.at.line !== undefined) at.line = item.at.line + chunk.firstLine - 1;
    yield toSourceItem({ ...item, at });
  }
}
