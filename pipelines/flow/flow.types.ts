/**
 * What the flow needs from the rest of rekey, as narrow interfaces: the
 * pipeline's facts and connectors, and the ledger operations it calls.
 */
import type { Logger } from 'pino';
import type { ErrorData } from '../../lib/errors.js';
import type { KeyEncryptionKey } from '../../lib/envelope.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { AnswerResult, ConnectorState, Outcome, SealedFiles, SessionSlots, Source, Target } from '../../connectors/connector.types.js';
import type { ReconcileReport } from '../ledger/ledger.reconcile.js';
import type {
  Actor,
  ClaimedSubmission,
  IncomingSubmission,
  LedgerRow,
  LedgerState,
  PassTrigger,
  ReceiveOutcome,
  RunSummary,
  Transition,
} from '../ledger/ledger.types.js';
import type { LanePart, ReceiveOptions } from '../ledger/ledger.receive.js';
import type { CrashHook } from './crash-points.js';
import type { ReadyCase } from '../ledger/ready-cases.js';

/** A pipeline ready to run: definition facts, compiled mapping, built connectors. */
export interface FlowPipeline {
  name: string;
  /** `sha256:<hex>` of the pipeline definition, to audit changes between runs. */
  definitionVersion?: string;
  mapping: CompiledMapping;
  source: Source;
  target: Target;
  /** Target kind, recorded on audit entries (`sqlite`, `file-drop`, ...). */
  targetName: string;
  batchSize: number;
  /** Batches delivered at once towards the legacy system. */
  concurrency: number;
  /** Records per second towards the legacy system; undefined for no limit. */
  ratePerSecond?: number;
  /** Attempts before a submission is dead-lettered. */
  maxAttempts: number;
  /** Delay before attempt `attempt + 1` after `attempt` failed (ms). */
  retryDelay(attempt: number): number;
  /** Whether the legacy system may be written to at `now`. */
  writeAllowed(now: Date): boolean;
  /** When writing is next allowed after `now`, if ever. */
  nextWriteTime(now: Date): Date | undefined;
}

/** The ledger operations the flow calls (the `Ledger` class provides them). */
export interface FlowLedger {
  /** With `opts.lease`, new submissions are recorded already leased to `owner`; an item's `then` moves it on at once (see `Ledger.receive`). */
  receive(pipeline: string, runId: string, items: IncomingSubmission[], actor: Actor, opts?: ReceiveOptions): Promise<ReceiveOutcome[]>;
  /** Records a batch into several pipelines (a routed pipeline's lanes) in one transaction (see `Ledger.receiveLanes`). */
  receiveLanes(runId: string, parts: readonly LanePart[], actor: Actor): Promise<ReceiveOutcome[][]>;
  /** The key mapping workers seal new bodies with, for `receive` to store as they are (see `Ledger.bodySealKey`); absent or undefined: bodies are sealed by `receive`. */
  bodySealKey?(): KeyEncryptionKey | undefined;
  claim(pipeline: string, owner: string, limit: number, leaseMs: number, now?: Date): Promise<ClaimedSubmission[]>;
  /** With `ctx.owner`, moves of rows no longer leased to it are skipped; resolves to their keys. */
  apply(pipeline: string, runId: string, transitions: Transition[], actor: Actor, ctx: { target?: string; mappingVersion?: string; owner?: string }): Promise<string[] | void>;
  release(pipeline: string, owner: string): Promise<number | void>;
  /** Applies the legacy system's answers to delivered rows (confirmed, or dead with the legacy reason); idempotent. */
  reconcile(pipeline: string, runId: string, results: readonly AnswerResult[], actor: Actor, opts: { target?: string; hashText?: (text: string) => string }): Promise<ReconcileReport>;
  /** Extends the leases `owner` holds (heartbeat while a pass runs). */
  renew(pipeline: string, owner: string, leaseMs: number): Promise<number | void>;
  /** Pauses the pipeline (audited; already paused: nothing to do), for a connector's `Ctx.halt`. */
  pause?(pipeline: string, actor: Actor, reason: string): Promise<void>;
  /** Optional: the pipeline's `ratePerSecond` shared across runners (see `paceOf`); undefined: paced per pass. */
  pace?(pipeline: string, perSecond: number): { take(n: number, signal?: AbortSignal): Promise<void> } | undefined;
  /** Optional: the pipeline's target sessions as slots shared across runners, handed to the connectors on `Ctx.sessions` and closed at the pass's end. */
  sessionSlots?(pipeline: string, size: number): (SessionSlots & { close(): Promise<void> }) | undefined;
  /** The durable state of the pipeline's connectors, handed to them on `Ctx.state`. */
  connectorState(pipeline: string): ConnectorState;
  /** Where the pipeline's connectors keep files holding citizens' data, handed to them on `Ctx.files`. */
  sealedFiles(pipeline: string): SealedFiles;
  /** Distinct owners of current leases in the pipeline. */
  leaseOwners(pipeline: string): Promise<string[]>;
  list(pipeline: string, opts: { states?: LedgerState[]; limit: number; offset?: number }): Promise<LedgerRow[]>;
  /** Row counts by state of the pipeline. */
  counts(pipeline: string): Promise<Record<string, Record<LedgerState, number>>>;
  /** With `mappingText` (the canonical text the version hashes), the text is stored once by its version; `trigger` is what started the pass. */
  startRun(pipeline: string, actor: Actor, mappingVersion: string, definitionVersion?: string, mappingText?: string, trigger?: PassTrigger): Promise<string>;
  finishRun(runId: string, summary: RunSummary, error?: ErrorData): Promise<void>;
  /** One submission's row and opened body, or null (a route that waits for others reads the body a lane holds). */
  get(pipeline: string, key: string): Promise<{ contentHash: string; body: unknown } | null>;
  /** Cases a route that waits for `lanes` may now be told of (see `pipelines/ledger/ready-cases.ts`). */
  readyCases(lanes: readonly string[], waiting: string, since: Date, limit: number): Promise<ReadyCase[]>;
}

/** How one pass runs. */
export interface PassOptions {
  /** Lease owner of this runner: `runner:<host>:<pid>`. */
  owner: string;
  actor: Actor;
  /** What started this pass, recorded on its run; none when not told. */
  trigger?: PassTrigger;
  log: Logger;
  signal: AbortSignal;
  /** How long a claimed submission stays leased to this runner (ms). */
  leaseMs: number;
  /** How long the pass waits for failed submissions whose retry is due soon (ms); 0: not at all. */
  retryWaitMs: number;
  /** Keyed hash of a PII value for the audit log. */
  piiHash(value: unknown): string;
  /** Maps claimed bodies; default: on this thread. */
  mapMany?: (bodies: unknown[]) => Promise<import('../../mappings/index.js').MapResult[]>;
  /** Maps raw NDJSON chunks (worker pool or this thread); with it, sources offering chunks take the chunked path. */
  mapChunk?: import('./chunks.js').ChunkMapper;
  /** Chunks mapped ahead of the main thread's database work. */
  chunksInFlight?: number;
  /** Called as work progresses. */
  onProgress?(p: Progress): void;
  /** Called at the named crash points, and handed to connectors on `Ctx.crash`; set only for the crash tests (`REKEY_CRASH_AT`). */
  crash?: CrashHook;
  now?: () => Date;
  /** Handed to connectors as `Ctx.skipUnchanged`: `rekey serve` sets it so unchanged input is not read again. */
  skipUnchanged?: boolean;
  /** Told of each call to the target, for metrics; must be cheap and must not throw. */
  observe?: PassObserver;
}

/** Hooks a pass calls as it works, for metrics (see `runner/serve/metrics.ts`). */
export interface PassObserver {
  /**
   * After each `target.deliver(batch)` or `target.flush()`: how long it took
   * and what the target answered per record (a batch the target threw for
   * is reported as every record `failed`).
   */
  delivery?(d: { seconds: number; outcomes: readonly Outcome[] }): void;
}

/** Progress of a pass, for a progress bar. */
export interface Progress {
  phase: 'reading' | 'delivering' | 'waiting';
  read: number;
  done: number;
  /** Submissions known to be due for delivery (claimed or waiting). */
  pending: number;
}

/** The result of one pass. */
export interface PassResult extends RunSummary {
  runId: string;
  /** Set when the write window was closed: when it next opens. */
  windowClosedUntil?: string;
  /** Submissions still failed and waiting for a later retry. */
  waitingRetry: number;
}
