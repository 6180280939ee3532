/**
 * Messages between the main thread and mapping workers. Everything crossing
 * is text or bytes (cheap to copy or transfer), never object graphs, whose
 * structured cloning costs more than the mapping itself.
 */

/** Map bodies that are already parsed on the main thread (claimed from the ledger). */
export interface BodiesTask {
  kind: 'bodies';
  mappingFile: string;
  /** The version (`sha256:...`) the caller compiled: a worker holding another compiles the file again, and fails if it still differs. */
  mappingVersion?: string;
  /** JSON array of submission bodies. */
  json: string;
}

/** Parse, key, hash and map a chunk of NDJSON bytes (whole lines only). */
export interface NdjsonTask {
  kind: 'ndjson';
  mappingFile: string;
  /** As in `BodiesTask`. */
  mappingVersion?: string;
  file: string;
  /** Line number of the chunk's first line (1-based). */
  firstLine: number;
  bytes: Uint8Array;
  /** The audit log's PII key: with it, the keyed hashes of each record's PII fields are computed here too. */
  piiKey?: Uint8Array;
}

/** One line of a chunk that could not be parsed. */
export interface LineError {
  line: number;
  code: string;
  message: string;
}

/** What a worker returns for an NDJSON chunk: parallel arrays, one entry per readable line. */
export interface NdjsonResult {
  lines: number[];
  keys: string[];
  hashes: string[];
  /** The raw JSON text of each body, stored as it is in the ledger. */
  bodies: string[];
  /** JSON array of MapResult, one per readable line. */
  results: string;
  /** With a PII key: JSON array of each record's PII hashes (`piiDetail`), one per readable line. */
  pii?: string;
  errors: LineError[];
}

/** What a worker returns for a bodies task: a JSON array of MapResult. */
export interface BodiesResult {
  results: string;
}
