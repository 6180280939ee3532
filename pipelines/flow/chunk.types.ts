/**
 * Messages between the main thread and mapping workers. Everything crossing
 * is text or bytes (cheap to copy or transfer), never object graphs, whose
 * structured cloning costs more than the mapping itself.
 */
import type { ByteChunk } from '../../connectors/connector.types.js';

/** Map bodies that are already parsed on the main thread (claimed from the ledger). */
export interface BodiesTask {
  kind: 'bodies';
  mappingFile: string;
  /** The version (`sha256:...`) the caller compiled: a worker holding another compiles the file again, and fails if it still differs. */
  mappingVersion?: string;
  /** JSON array of submission bodies. */
  json: string;
}

/** A source's chunk to map, with the audit log's PII key where the chunk is mapped on this thread. */
export type ChunkInput = ByteChunk & {
  /** The audit log's PII key: with it, the keyed hashes of each record's PII fields are computed too. */
  piiKey?: Uint8Array;
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
  /** The JSON text of each body, stored as it is in the ledger. */
  bodies: string[];
  /** JSON array of MapResult, one per readable record. */
  results: string;
  /** With a PII key: JSON array of each record's PII hashes (`piiDetail`), one per readable record. */
  pii?: string;
  errors: LineError[];
}

/** What a worker returns for a bodies task: a JSON array of MapResult. */
export interface BodiesResult {
  results: string;
}
