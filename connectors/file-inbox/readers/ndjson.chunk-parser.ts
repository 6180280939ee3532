/**
 * The NDJSON chunk parser that mapping workers run on the byte chunks of
 * UTF-8 NDJSON files (see `ndjson-chunks.ts`): one JSON value per line,
 * decoded, parsed and checked for undecodable bytes in one pass over the
 * chunk's text, each record returned with its own line as JSON text.
 */
import type { ByteChunk, ChunkParserRef, ParsedChunk } from '../../connector.types.js';
import { DEFAULT_MAX_DEPTH, jsonTextDeeperThan } from '../../../lib/json-depth.js';
import { UNDECODABLE_MARK, decodeMarkingInvalid, undecodable } from './decode.js';
import { ReaderCodes } from './reader.errors.js';
import { tooDeepMessage } from './record-buffer.js';

/** A chunk of NDJSON bytes, with the nesting limit of the source that cut it. */
export interface NdjsonChunk extends ByteChunk {
  /** The source's `json.maxDepth`; default 64. */
  maxDepth?: number;
  /** Set (with no bytes) for a folder entry that was refused unopened (a link, a FIFO...): the one error the chunk reports. */
  refused?: { code: string; message: string };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function jsonProblem(e: unknown): string {
  return `not valid JSON: ${(e as Error).message.replace(/, ".*$/s, '').replace(/ in JSON at position \d+.*/s, '')}`;
}

/**
 * The text of a chunk's bytes: decoded by a fatal decoder (the usual,
 * fast case), or, when that refuses them, with each invalid sequence
 * marked so a valid U+FFFD is not taken for one.
 */
function decodeChunk(bytes: Uint8Array): { text: string; invalid: boolean } {
  try {
    return { text: decoder.decode(bytes), invalid: false };
  } catch {
    return { text: decodeMarkingInvalid(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)), invalid: true };
  }
}

/**
 * Reads every non-blank line of a chunk of UTF-8 NDJSON: a line that is
 * not JSON is an `INPUT_MALFORMED_RECORD` error, one holding bytes that
 * are not UTF-8 an `INPUT_UNDECODABLE` error naming the field (checked
 * only when the chunk's bytes are not valid UTF-8; a valid U+FFFD is a
 * character like any other), one nesting arrays
 * and objects deeper than `chunk.maxDepth` an `INPUT_TOO_DEEP` error
 * (never parsed); messages never hold the line's content. A CR before the
 * LF is dropped. Never throws for content.
 */
export function parseNdjsonChunk(chunk: NdjsonChunk): ParsedChunk {
  const out: ParsedChunk = { lines: [], bodies: [], json: [], errors: [] };
  if (chunk.refused) {
    out.errors.push({ line: chunk.firstLine, ...chunk.refused });
    return out;
  }
  const maxDepth = chunk.maxDepth ?? DEFAULT_MAX_DEPTH;
  const { text, invalid } = decodeChunk(chunk.bytes);
  let line = chunk.firstLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    if (raw.trim() !== '' && jsonTextDeeperThan(raw, maxDepth)) {
      out.errors.push({ line, code: ReaderCodes.TOO_DEEP, message: tooDeepMessage(maxDepth) });
    } else if (raw.trim() !== '') {
      try {
        const body = JSON.parse(raw) as unknown;
        const bad = invalid && raw.includes(UNDECODABLE_MARK) ? undecodable(body, UNDECODABLE_MARK) : undefined;
        if (bad === undefined) {
          out.lines.push(line);
          out.bodies.push(body);
          out.json.push(raw);
        } else {
          out.errors.push({ line, code: ReaderCodes.UNDECODABLE, message: `field ${bad} holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding` });
        }
      } catch (e) {
        out.errors.push({ line, code: ReaderCodes.MALFORMED_RECORD, message: jsonProblem(e) });
      }
    }
    line++;
    start = end + 1;
  }
  return out;
}

/** Names {@link parseNdjsonChunk} for the workers. */
export const NDJSON_CHUNK_PARSER: ChunkParserRef = { module: import.meta.url, export: 'parseNdjsonChunk' };
