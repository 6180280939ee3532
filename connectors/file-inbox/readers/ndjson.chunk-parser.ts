/**
 * The NDJSON chunk parser that mapping workers run on the byte chunks of
 * UTF-8 NDJSON files (see `ndjson-chunks.ts`): one JSON value per line,
 * decoded, parsed and checked for undecodable bytes in one pass over the
 * chunk's text, each record handed on with its own line as JSON text.
 */
import type { ByteChunk, ChunkParserRef, ChunkRecords } from '../../connector.types.js';
import { undecodable } from './decode.js';
import { ReaderCodes } from './reader.errors.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

function jsonProblem(e: unknown): string {
  return `not valid JSON: ${(e as Error).message.replace(/, ".*$/s, '').replace(/ in JSON at position \d+.*/s, '')}`;
}

/**
 * Reports every non-blank line of a chunk of UTF-8 NDJSON: a line that is
 * not JSON is `INPUT_MALFORMED_RECORD`, one holding bytes that are not
 * UTF-8 is `INPUT_UNDECODABLE` naming the field; messages never hold the
 * line's content. A CR before the LF is dropped. Never throws for content.
 */
export function parseNdjsonChunk(chunk: ByteChunk, out: ChunkRecords): void {
  const text = decoder.decode(chunk.bytes);
  const replaced = text.includes('\uFFFD');
  let line = chunk.firstLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    if (raw.trim() !== '') {
      let body: unknown;
      let parsed = false;
      try {
        body = JSON.parse(raw) as unknown;
        parsed = true;
      } catch (e) {
        out.unreadable(line, ReaderCodes.MALFORMED_RECORD, jsonProblem(e));
      }
      if (parsed) {
        const bad = replaced && raw.includes('\uFFFD') ? undecodable(body) : undefined;
        if (bad === undefined) out.record(line, body, raw);
        else out.unreadable(line, ReaderCodes.UNDECODABLE, `field ${bad} holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding`);
      }
    }
    line++;
    start = end + 1;
  }
}

/** Names {@link parseNdjsonChunk} for the workers. */
export const NDJSON_CHUNK_PARSER: ChunkParserRef = { module: import.meta.url, export: 'parseNdjsonChunk' };
