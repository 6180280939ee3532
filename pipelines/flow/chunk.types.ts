/**
 * Messages between the main thread and mapping workers. Everything crossing
 * is text or bytes (cheap to copy or transfer), never object graphs, whose
 * structured cloning costs more than the mapping itself.
 */
import type { ByteChunk } from '../../connectors/connector.types.js';
import type { SealedChunk, SharedTexts } from './sealed-chunk.js';

/** Map bodies that are already parsed on the main thread (claimed from the ledger). */
export interface BodiesTask {
  kind: 'bodies';
  mappingFile: string;
  /** The version (`sha256:...`) the caller compiled: a worker holding another compiles the file again, and fails if it still differs. */
  mappingVersion?: string;
  /** JSON array of submission bodies. */
  json: string;
}

/**
 * What a chunk's bodies are sealed with where the chunk is mapped: the
 * ledger's current key-encryption key (its bytes and id) and the pipeline
 * that names the bodies' additional authenticated data.
 */
export interface BodySeal {
  pipeline: string;
  kid: string;
  /** The key-encryption key's 32 bytes (in an ArrayBuffer of their own: cloning a view copies its whole buffer). */
  key: Uint8Array;
}

/** A source's chunk to map, with the audit log's PII key where the chunk is mapped on this thread. */
export type ChunkInput = ByteChunk & {
  /** The audit log's PII key: with it, the keyed hashes of each record's PII fields are computed too. */
  piiKey?: Uint8Array;
  /** With it, each readable record's body comes back sealed for `ledger_bodies` (`ChunkResult.sealed`), not in clear. */
  seal?: BodySeal;
};

/** Parse (with the parser the chunk names), key, hash and map a chunk of a source's bytes (whole records only). */
export type ChunkTask = ChunkInput & {
  kind: 'chunk';
  mappingFile: string;
  /** As in `BodiesTask`. */
  mappingVersion?: string;
};

/** One record of a chunk that could not be read. */
export interface LineError {
  line: number;
  code: string;
  message: string;
}

/** What a worker returns for a chunk: parallel arrays, one entry per readable record. */
export interface ChunkResult {
  lines: number[];
  keys: string[];
  hashes: string[];
  /** The JSON text of each body, stored as it is in the ledger (sealed there); empty when the chunk was sealed (`sealed`). */
  bodies: string[];
  /**
   * With `ChunkInput.seal`: each body sealed for `ledger_bodies` under a
   * data key of its own (`pipelines/privacy/bodies.ts`), and the record as
   * it will be sent sealed under the same data key (a `SealedSent`), all
   * under `kid`: one per readable record. The sealed bytes are handed over
   * as they are, never as text, in one `SharedArrayBuffer` (`bytes`) that
   * the threads it is handed on to share rather than copy: see
   * `sealed-chunk.ts`.
   */
  sealed?: SealedChunk;
  /** JSON array of MapResult, one per readable record. */
  results: string;
  /** With a PII key: the JSON of each record's `sentDetail`, one per readable record (none for one the mapping rejected), as bytes in shared memory (`sealed-chunk.ts`). */
  sent?: SharedTexts;
  errors: LineError[];
}

/** What a worker returns for a bodies task: a JSON array of MapResult. */
export interface BodiesResult {
  results: string;
}
