/**
 * The interfaces the engine knows. Each connector folder implements one of
 * them and declares its own config schema; nothing else about a connector is
 * known outside its folder.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ErrorData } from '../lib/errors.js';
import type { FieldSpec, GroupSpec, SourcePos } from '../mappings/mapping.types.js';

/** One form submission as a source hands it over. */
export interface Submission {
  /** Stable key: the platform's reference scoped by form, or a content hash. */
  key: string;
  body: unknown;
  /** Where it came from (file, line, record number, HTTP request id, ...). */
  meta: Record<string, string>;
}

/**
 * A connector's own durable state, kept per pipeline in the state store
 * (file sequence numbers, journals of dropped files, watermarks). Every
 * call resolves once the change is committed.
 */
export interface ConnectorState {
  get(name: string): Promise<string | undefined>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<void>;
  /** Entries whose name starts with `prefix`, in name order. */
  list(prefix: string): Promise<{ name: string; value: string }[]>;
  /** Adds one to the counter `name` (first call: 1) and resolves to the new value; a value is never handed out twice, also across crashes. */
  next(name: string): Promise<number>;
}

/** Handed to every connector call: never read these from globals. */
export interface Ctx {
  log: Logger;
  signal: AbortSignal;
  attempt: number;
  /** The connector's durable state; set by the flow on every call of a pass. */
  state?: ConnectorState;
  /** Called at the connector's named crash points; set by the flow only when the crash tests ask for a crash. */
  crash?: (point: CrashPoint) => void;
  /** Where a connector keeps files that hold citizens' data (evidence, inbox copies): encrypted, registered, purged and erased by the flow. Set by the flow on every call of a pass. */
  files?: SealedFiles;
  /**
   * Set for `rekey serve`'s passes: a source may skip input it read to the
   * end in an earlier committed pass and that has not changed since (the
   * `file` source compares size and content hash). `rekey run` reads all.
   */
  skipUnchanged?: boolean;
  /**
   * Stops the pipeline's keying until an operator lets it go on: pauses
   * the pipeline (audited, with `reason`: one plain line, never a value).
   * For a target that finds the legacy system changed under it. Set by the
   * flow; resolves once the pause is durable (also when it was paused already).
   */
  halt?(reason: string): Promise<void>;
  /**
   * Set by the flow on a PostgreSQL state store: the pipeline's
   * `limits.concurrency` as slots shared by every runner on the store. The
   * flow takes one around each `deliver` call, unless the target says it
   * takes them itself (`Target.takesSessionSlots`).
   */
  sessions?: SessionSlots;
}

/** Slots of a target's concurrent sessions, shared across runners (see `pipelines/store/session-slots.ts`). */
export interface SessionSlots {
  /** Waits for a free slot and resolves to its release (call it when the session's work is done); resolves to undefined when `signal` aborts first. */
  take(signal: AbortSignal): Promise<(() => Promise<void>) | undefined>;
}

/** What a file kept by a connector is, for retention: evidence of one delivery, or an input file done with or quarantined. */
export type SealedFileKind = 'evidence' | 'inbox-done' | 'inbox-quarantine';

/** Who a sealed file belongs to: its kind, and the submission key when it is one submission's (evidence). */
export interface SealedFileMeta {
  kind: SealedFileKind;
  subject?: string;
}

/**
 * Files that hold citizens' data, kept encrypted at rest: each file is
 * sealed (AES-256-GCM) under a data key of its own, wrapped under the
 * deployer's key and registered in the state store with its kind and
 * submission, so that keys rotate, retention purges and erasure shreds it.
 * Only ciphertext ever reaches the disk at `path`.
 */
export interface SealedFiles {
  /** Seals `bytes` into the file `path` (replacing it), registered under `meta`; resolves once file and key are durable. */
  write(path: string, bytes: Uint8Array, meta: SealedFileMeta): Promise<void>;
  /** Seals the clear file `src` into `path`, registered under `meta`, then removes `src`; streams, so any size. */
  moveIn(src: string, path: string, meta: SealedFileMeta): Promise<void>;
  /** The clear bytes of a sealed file written by `write` or `moveIn`. */
  read(path: string): Promise<Buffer>;
}

/**
 * A named point where the crash tests kill the process
 * (`REKEY_CRASH_AT=point`, or `point:N` for its Nth hit): the flow's, and
 * those connectors pass through `Ctx.crash`.
 */
export type CrashPoint = 'after-receive' | 'after-delivering' | 'after-target-commit' | 'after-ledger-delivered' | 'file-drop-before-rename' | 'inbox-before-seal' | 'inbox-after-seal';

/** Where a record was found in an input file, for error messages. */
export interface RecordLocation {
  file: string;
  /** 1-based record number within the file. */
  record: number;
  /** 1-based line where the record starts, where the format has lines. */
  line?: number;
}

/** One item read from an input file: a record, or why that record could not be read. */
export type ReadItem =
  | { ok: true; value: unknown; at: RecordLocation }
  | { ok: false; error: { code: string; message: string }; at: RecordLocation };

/** Input formats the readers understand. */
export type InputFormat = 'json' | 'ndjson' | 'csv' | 'xml';

/** Plain-data error that crosses layers and worker threads (see STYLE §3 and lib/errors). */
export type ConnectorError = ErrorData;

/** One item a source yields: a submission body, or why a record could not be read. */
export type SourceItem =
  | {
      ok: true;
      body: unknown;
      at: RecordLocation;
      /** The record's key when its mapping gives it none (`keyBy: position`: the file's identity and the record's line), instead of its content hash. */
      positionKey?: string;
    }
  | { ok: false; error: ConnectorError; at: RecordLocation };

/**
 * Names a chunk parser so that a worker thread can load it: the export
 * `export` of the module at the file URL `module`. Plain data, so it
 * crosses to workers with the bytes.
 */
export interface ChunkParserRef {
  module: string;
  export: string;
}

/** Whole records of a source's input as raw bytes, cut without parsing them. */
export interface ByteChunk {
  /** Where the bytes come from (the file), for people. */
  file: string;
  /** 1-based line of the input the chunk starts at. */
  firstLine: number;
  bytes: Uint8Array;
  /** The parser that reads these bytes (see {@link ChunkParser}). */
  parser: ChunkParserRef;
}

/** What a {@link ChunkParser} read in a chunk: parallel arrays, one entry per readable record, in input order, and the records it could not read. */
export interface ParsedChunk {
  /** 1-based line of each record. */
  lines: number[];
  bodies: unknown[];
  /** Each body as JSON text (stored as it is). */
  json: string[];
  /** Records that could not be read: line, the reader's code and why, never their content. */
  errors: { line: number; code: string; message: string }[];
}

/**
 * Parses the bytes of one {@link ByteChunk}. Runs on worker threads: pure,
 * no I/O, never throws for content. Owned by the connector whose format it
 * reads.
 */
export type ChunkParser = (chunk: ByteChunk) => ParsedChunk;

/**
 * What admission did with one pushed submission: recorded now (`new`),
 * already recorded with the same content (`duplicate`), already recorded
 * with other content (`conflict`: the new content is kept aside); or
 * refused with nothing stored: too many waiting (`busy`), shutting down
 * (`stopping`), the ledger failed (`unavailable`, with its error).
 */
export type AdmitResult =
  | { status: 'new' | 'duplicate' | 'conflict'; key: string }
  | { status: 'busy' | 'stopping' }
  | { status: 'unavailable'; error: { code?: string; message: string } };

/** The door a push source hands its submissions to (see {@link PushIntake}). */
export interface AdmissionDoor {
  /**
   * Keys `body` with the pipeline's mapping and records it in the ledger;
   * resolves once it is durable, or refused with nothing stored. Never
   * rejects. `source` says where it came from, for people.
   */
  admit(body: unknown, source: string): Promise<AdmitResult>;
  /** True once the runner is shutting down: refuse new submissions before reading them. */
  readonly closing: boolean;
}

/** Adds routes to the runner's HTTP server (Fastify) before it listens. */
export type RouteRegistrar = (app: FastifyInstance) => void;

/** The capability of a source whose submissions are pushed to the runner over HTTP. */
export interface PushIntake {
  /** How the door batches this source's submissions: at most `maxBatch` per ledger write, at most `maxPending` waiting (more are refused `busy`). */
  readonly limits: { maxBatch: number; maxPending: number };
  /**
   * The HTTP routes taking pipeline `pipeline`'s submissions, each handed
   * to `door` and answered only once the door has answered. `now` is the
   * clock for time checks (tests).
   */
  routes(pipeline: string, door: AdmissionDoor, opts?: { now?: () => number }): RouteRegistrar;
}

/** Brings submissions in. */
export interface Source {
  /** Reads what is there now, in order. Unreadable records are yielded as errors, never dropped. */
  read(ctx: Ctx): AsyncIterable<SourceItem>;
  /**
   * Called once every item read so far is durably in the ledger; a source may
   * then let go of its input (move a finished file to done). Optional.
   */
  commit?(ctx: Ctx): Promise<void>;
  /**
   * Optional: until `ctx.signal` aborts, calls `wake` whenever a pass would
   * find new input (a file arrived); `rekey serve` then runs a pass at once
   * instead of waiting for the schedule. Never throws.
   */
  watch?(ctx: Ctx, wake: () => void): void;
  /**
   * Optional: what {@link read} would yield, as byte chunks of whole
   * records in order, each naming the parser workers run on it. A pass that
   * maps on workers reads these instead of {@link read}, so the main thread
   * never parses. Throws as {@link read} does for input it cannot read.
   */
  chunks?(ctx: Ctx): AsyncIterable<ByteChunk>;
  /** Optional: submissions are pushed (HTTP), not read; `rekey serve` wires them to the ledger's admission. */
  readonly push?: PushIntake;
  close(): Promise<void>;
}

/** A mapped record ready for a target, with its ledger identity. */
export interface MappedRecord {
  key: string;
  record: Record<string, unknown>;
  children: Record<string, Record<string, unknown>[]>;
  mappingVersion: string;
  /** True when an earlier attempt may have reached the target (crash, timeout): probe before writing. */
  uncertain: boolean;
}

/** What happened to one record at the target. */
export type Outcome =
  /** `confirmed`: the target read the record back and found what it sent (false: `mismatches` names the mapping fields that differ, never their values). */
  /** `sentTo`: where exactly this record went, where the target knows more than its identity (the file and the record's place in it, the screen URL); never a credential. */
  | { key: string; status: 'delivered'; legacyRef?: string; confirmed?: boolean; alreadyPresent?: boolean; mismatches?: string[]; sentTo?: string }
  | { key: string; status: 'rejected'; error: ConnectorError }
  | { key: string; status: 'failed'; error: ConnectorError }
  /** Written where the legacy system cannot see it yet (a file not yet renamed into place): the final outcome comes from `flush`. */
  | { key: string; status: 'held' };

/**
 * What the legacy system answered about one delivered record (an
 * acknowledgement or reject file read back): accepted, or rejected with its
 * own reason (and code, when it gives one). `legacyRef` names the delivery
 * answered; the ledger applies the answer only while the row still holds it.
 */
export type AnswerResult =
  | { key: string; legacyRef?: string; accepted: true }
  | { key: string; legacyRef?: string; accepted: false; reason: string; code?: string };

/** The answers a target read from one place (one acknowledgement file), applied together. */
export interface AnswerSet {
  /** Handed back to `Target.answered` once the ledger holds the results. */
  id: string;
  /** For people: where the answers came from (the answer file). */
  source: string;
  results: AnswerResult[];
  /** Lines that could not be used, and records left unanswered, for the log (never values). */
  problems: string[];
}

/**
 * Which legacy system a target writes to, for the audit log: its kind,
 * the system (`host:port/database`, a folder, `sftp host:path`, a base
 * URL) and the object in it (table or procedure, file name template, form
 * path). Never a user name, password or token.
 */
export interface TargetIdentity {
  kind: string;
  system: string;
  object?: string;
}

/** Delivers mapped records to a legacy system. */
export interface Target {
  /** Optional: which system this target writes to (see {@link TargetIdentity}); known from its config, before `connect`. */
  identity?(): TargetIdentity;
  /** True when the target takes a `ctx.sessions` slot itself for each session it works in (the browser: one per form keyed), rather than the flow one per `deliver` call. */
  takesSessionSlots?: boolean;
  connect(ctx: Ctx): Promise<void>;
  /**
   * Delivers a batch and reports one outcome per record, in order. Never
   * throws for one bad record: a data error is that record's `rejected`
   * outcome, a transient failure its `failed` outcome (retried). Throws only
   * when the whole target is unusable (fatal).
   */
  deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]>;
  /**
   * Required of a target that answers `held`: called once the pass has no
   * more to deliver (before `close`), it makes every held record visible
   * to the legacy system (renames the open files into place) and resolves
   * to the final outcome of each, never `held`. The records stay leased to
   * the runner until then. Throws only when the target is unusable; the
   * held records then come back as uncertain on the next pass.
   */
  flush?(ctx: Ctx): Promise<Outcome[]>;
  /**
   * Optional: the legacy system's answers not yet applied (called after
   * `connect`). The flow records them in the ledger, then calls `answered`;
   * a set read again after a crash between the two is applied again, which
   * the ledger makes harmless.
   */
  answers?(ctx: Ctx): Promise<AnswerSet[]>;
  /** Marks answer sets (by `AnswerSet.id`) as applied, so `answers` no longer returns them. Required with `answers`. */
  answered?(ctx: Ctx, ids: readonly string[]): Promise<void>;
  /**
   * Optional: what the last `connect` found that does not stop delivery
   * but the deployer should hear of (a mapping field whose numbers may not
   * fit its column), each at the mapping place it concerns where known.
   * `rekey validate --connect` prints them as warnings.
   */
  connectWarnings?(): readonly { message: string; pos?: SourcePos }[];
  close(): Promise<void>;
}

/** What a connector is given when it is built. */
export interface ConnectorEnv {
  /** Folder the pipeline file is in: relative paths in config resolve against it. */
  baseDir: string;
  /** Name of the pipeline (for naming state, files, tables). */
  pipeline: string;
  /** The fields of the mapping that feeds a target, where known, so that it can check them against the legacy system before any write. */
  mapping?: { name: string; fields: readonly FieldSpec[]; groups?: readonly Pick<GroupSpec, 'name' | 'fields' | 'pos'>[] };
  /** The pipeline's `limits.concurrency`, where known: a target that works in parallel may size itself by it. */
  concurrency?: number;
}

/** A connector's declaration: its name, config schema and factory. */
export interface ConnectorDef<C = Record<string, unknown>, T = Source | Target> {
  name: string;
  kind: 'source' | 'target';
  doc: string;
  /** JSON Schema (draft-07) of the connector's `config:` block. */
  configSchema: Record<string, unknown>;
  /** Builds the connector from a config that passed `configSchema`, with secrets resolved. */
  create(config: C, env: ConnectorEnv): T;
}
