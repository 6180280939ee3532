/**
 * Parsing, keying, hashing and mapping a chunk of a source's bytes: the
 * whole CPU-bound stage of a pass, run on a worker thread or on the main
 * thread (the same code either way), answering in text rather than object
 * graphs. The bytes are parsed by the connector's own parser, which the
 * chunk names; keys and hashes are the admission's (`submission-key.ts`).
 */
import type { ChunkParser, ChunkParserRef } from '../../connectors/connector.types.js';
import type { CompiledMapping, MapResult } from '../../mappings/index.js';
import { contentHash, submissionKey } from './submission-key.js';
import type { ChunkInput, ChunkResult } from './chunk.types.js';
import { piiHash } from '../audit/pii.js';
import { piiDetail } from './deliver.js';

const parsers = new Map<string, Promise<ChunkParser>>();

async function load(ref: ChunkParserRef): Promise<ChunkParser> {
  const mod = (await import(ref.module)) as Record<string, unknown>;
  const parse = mod[ref.export];
  if (typeof parse !== 'function') throw new Error(`chunk parser ${ref.export} not found in ${ref.module}`);
  return parse as ChunkParser;
}

/** The parser `ref` names, loaded once per thread. Rejects when its module has no function of that name. */
export function chunkParser(ref: ChunkParserRef): Promise<ChunkParser> {
  const id = `${ref.module}#${ref.export}`;
  let p = parsers.get(id);
  if (!p) {
    p = load(ref);
    parsers.set(id, p);
    p.catch(() => parsers.delete(id));
  }
  return p;
}

/**
 * Maps every record `parse` reads in a chunk; a record it could not read
 * becomes an error naming its line, without its content. With
 * `chunk.piiKey`, also hashes each mapped record's PII fields for the
 * audit log.
 */
export function mapChunk(m: CompiledMapping, parse: ChunkParser, chunk: ChunkInput): ChunkResult {
  const parsed = parse(chunk);
  const out: ChunkResult = { lines: parsed.lines, keys: [], hashes: [], bodies: parsed.json, results: '', errors: parsed.errors };
  const results: MapResult[] = [];
  for (const body of parsed.bodies) {
    const hash = contentHash(body);
    out.keys.push(submissionKey(m, body, hash));
    out.hashes.push(hash);
    results.push(m.map(body));
  }
  out.results = JSON.stringify(results);
  if (chunk.piiKey) {
    const key = Buffer.from(chunk.piiKey.buffer, chunk.piiKey.byteOffset, chunk.piiKey.byteLength);
    out.pii = JSON.stringify(results.map((r) => (r.ok ? piiDetail(m, r, (v) => piiHash(v, key)) : {})));
  }
  return out;
}
