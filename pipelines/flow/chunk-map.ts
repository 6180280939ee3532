/**
 * Parsing, keying, hashing and mapping a chunk of NDJSON bytes: the whole
 * CPU-bound stage of a pass, run on a worker thread or on the main thread
 * (the same code either way), answering in text rather than object graphs.
 */
import { contentHash, submissionKey } from './submission-key.js';
import type { CompiledMapping, MapResult } from '../../mappings/index.js';
import type { NdjsonResult, NdjsonTask } from './chunk.types.js';
import { piiHash } from '../audit/pii.js';
import { piiDetail } from './deliver.js';
import { undecodable } from '../../connectors/file-inbox/readers/decode.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

function jsonProblem(e: unknown): string {
  return `not valid JSON: ${(e as Error).message.replace(/, ".*$/s, '').replace(/ in JSON at position \d+.*/s, '')}`;
}

/**
 * Maps every line of a chunk; a line that is not JSON, or holds bytes that
 * are not UTF-8, becomes an error naming its line (and field), without its content. With `task.piiKey`, also hashes each
 * mapped record's PII fields for the audit log.
 */
export function mapNdjsonChunk(m: CompiledMapping, task: Omit<NdjsonTask, 'kind' | 'mappingFile'>): NdjsonResult {
  const text = decoder.decode(task.bytes);
  const out: NdjsonResult = { lines: [], keys: [], hashes: [], bodies: [], results: '', errors: [] };
  const results: MapResult[] = [];
  const replaced = text.includes('\uFFFD');
  let line = task.firstLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const raw = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    if (raw.trim() !== '') {
      try {
        const body = JSON.parse(raw) as unknown;
        const bad = replaced && raw.includes('\uFFFD') ? undecodable(body) : undefined;
        if (bad !== undefined) {
          out.errors.push({ line, code: 'INPUT_UNDECODABLE', message: `field ${bad} holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding` });
        } else {
          const hash = contentHash(body);
          out.lines.push(line);
          out.keys.push(submissionKey(m, body, hash));
          out.hashes.push(hash);
          out.bodies.push(raw);
          results.push(m.map(body));
        }
      } catch (e) {
        out.errors.push({ line, code: 'INPUT_MALFORMED_RECORD', message: jsonProblem(e) });
      }
    }
    line++;
    start = end + 1;
  }
  out.results = JSON.stringify(results);
  if (task.piiKey) {
    const key = Buffer.from(task.piiKey.buffer, task.piiKey.byteOffset, task.piiKey.byteLength);
    out.pii = JSON.stringify(results.map((r) => (r.ok ? piiDetail(m, r, (v) => piiHash(v, key)) : {})));
  }
  return out;
}
