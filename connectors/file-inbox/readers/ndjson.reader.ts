/**
 * NDJSON (JSON Lines) input: one JSON value per line.
 */
import type { ReadItem } from '../../connector.types.js';
import { describeJsonError } from './json.reader.js';
import { ReaderCodes, failure, success } from './reader.errors.js';
import { jsonTextDeeperThan } from '../../../lib/json-depth.js';
import { RecordBuffer, tooDeepMessage, tooLargeMessage } from './record-buffer.js';
import type { ResolvedOptions } from './read-options.js';

const TRUNCATION = /^(Unexpected end of JSON input|Unterminated string)/;

function lineItem(text: string, overflowed: boolean, line: number, record: number, last: boolean, o: ResolvedOptions): ReadItem {
  if (overflowed) return failure(ReaderCodes.RECORD_TOO_LARGE, tooLargeMessage(o.maxRecordBytes), o.file, record, line);
  if (jsonTextDeeperThan(text, o.json.maxDepth)) return failure(ReaderCodes.TOO_DEEP, tooDeepMessage(o.json.maxDepth), o.file, record, line);
  try {
    return success(JSON.parse(text), o.file, record, line);
  } catch (err) {
    if (last && err instanceof Error && TRUNCATION.test(err.message)) {
      return failure(ReaderCodes.TRUNCATED, 'the last line ends before its JSON value is complete: the file looks truncated', o.file, record, line);
    }
    return failure(ReaderCodes.MALFORMED_RECORD, describeJsonError(err, text, line, 1), o.file, record, line);
  }
}

/**
 * Reads NDJSON records from decoded text. Yields one item per non-blank
 * line, in order; blank (whitespace-only) lines are skipped but counted, so
 * `line` is the exact 1-based line. A line that is not valid JSON is one
 * `INPUT_MALFORMED_RECORD` item and the next line is read; a line over
 * `maxRecordBytes` is one `INPUT_RECORD_TOO_LARGE` item (never held whole),
 * one nesting deeper than `json.maxDepth` one `INPUT_TOO_DEEP` item;
 * a last line without a newline whose JSON stops short is `INPUT_TRUNCATED`.
 * Never throws for content.
 */
export async function* readNdjson(text: AsyncIterable<string>, o: ResolvedOptions): AsyncGenerator<ReadItem, void, undefined> {
  const buf = new RecordBuffer(o.maxRecordBytes);
  let line = 0;
  let record = 0;
  let pending = false;
  const take = (last: boolean): ReadItem | undefined => {
    line++;
    const overflowed = buf.overflowed;
    let lineText = buf.take();
    if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
    if (!overflowed && lineText.trim() === '') return undefined;
    record++;
    return lineItem(lineText, overflowed, line, record, last, o);
  };
  for await (const chunk of text) {
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', pos);
      if (nl < 0) {
        buf.append(chunk.slice(pos));
        pending = pending || pos < chunk.length;
        break;
      }
      buf.append(chunk.slice(pos, nl));
      pos = nl + 1;
      pending = false;
      const item = take(false);
      if (item) yield item;
    }
  }
  if (pending) {
    const item = take(true);
    if (item) yield item;
  }
}
