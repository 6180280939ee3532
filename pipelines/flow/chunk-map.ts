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
import type { BodySeal, ChunkInput, ChunkResult } from './chunk.types.js';
import { piiHash } from '../audit/pii.js';
import { sentDetail, sentText } from '../audit/sent-detail.js';
import { KeyRing } from '../../lib/envelope.js';
import { sealMany } from '../privacy/bodies.js';
import { sentAad } from '../privacy/sent-copy.js';
import { sealedChunk, sharedTexts } from './sealed-chunk.js';

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

const rings = new Map<string, KeyRing>();

/** A ring of the one key `seal` hands over (bodies are sealed with it as the ledger's codec seals them), made once per thread and key. Throws when the key is not the one its id names. */
function sealingRing(seal: BodySeal): KeyRing {
  const key = Buffer.from(seal.key.buffer, seal.key.byteOffset, seal.key.byteLength);
  const held = rings.get(seal.kid);
  if (held?.current.key.equals(key)) return held;
  const ring = new KeyRing(Buffer.from(key));
  if (ring.current.id !== seal.kid) throw new Error(`the key handed over to seal bodies is not ${seal.kid}`);
  rings.set(seal.kid, ring);
  return ring;
}

/**
 * Maps every record `parse` reads in a chunk; a record it could not read
 * becomes an error naming its line, without its content. With
 * `chunk.piiKey`, also hashes each mapped record's PII fields, and what
 * it would send (`sentDetail`), for the audit log. With `chunk.seal`, seals each body for `ledger_bodies` as
 * the ledger would (one random draw for the chunk) and returns it only
 * sealed, so the main thread writes it as it is; the record as it will be
 * sent is sealed under the same data key (`ChunkResult.sealed`).
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
  const texts = chunk.piiKey || chunk.seal ? results.map((r) => (r.ok ? sentText(r) : undefined)) : [];
  if (chunk.seal && out.keys.length) {
    const pipeline = chunk.seal.pipeline;
    const items = out.keys.map((key, i) => {
      const text = texts[i];
      return { key, text: out.bodies[i]!, ...(text === undefined ? {} : { also: { text, aad: sentAad(pipeline, key) } }) };
    });
    out.sealed = sealedChunk(chunk.seal.kid, sealMany(sealingRing(chunk.seal), pipeline, 'body', items));
    out.bodies = [];
  }
  if (chunk.piiKey) {
    const key = Buffer.from(chunk.piiKey.buffer, chunk.piiKey.byteOffset, chunk.piiKey.byteLength);
    const hash = (v: unknown) => piiHash(v, key);
    out.sent = sharedTexts(results.map((r, i) => (r.ok ? JSON.stringify(sentDetail(r, texts[i]!, hash)) : undefined)));
  }
  return out;
}
