/**
 * The one door into the ledger. Every submission, whatever its source
 * (read by a pass, cut into byte chunks for workers, pushed over HTTP), is
 * keyed with {@link identify} (or, on workers, with the same functions of
 * `submission-key.ts`) and recorded by {@link admit} before anything else
 * happens to it: durably, duplicates and conflicts judged by the ledger,
 * counted, and conflicts reported.
 */
import type { Logger } from 'pino';
import type { CompiledMapping } from '../../mappings/index.js';
import type { LanePart, ReceiveOptions } from '../ledger/ledger.receive.js';
import type { Actor, IncomingSubmission, ReceiveOutcome, RunSummary } from '../ledger/ledger.types.js';
import type { CrashHook } from './crash-points.js';
import { contentHash, submissionKey } from './submission-key.js';

/** The counts admission adds to (a run's summary). */
export type AdmitCounts = Pick<RunSummary, 'receivedNew' | 'duplicates' | 'conflicts'>;

/** The ledger operation behind the door (the `Ledger` class provides it). */
export interface AdmissionLedger {
  receive(pipeline: string, runId: string | null, items: IncomingSubmission[], actor: Actor, opts?: ReceiveOptions): Promise<ReceiveOutcome[]>;
}

/** The ledger operation behind {@link admitLanes} (the `Ledger` class provides it). */
export interface LanesLedger {
  receiveLanes(runId: string | null, parts: readonly LanePart[], actor: Actor): Promise<ReceiveOutcome[][]>;
}

/** Where admission records, and as whom. */
export interface Door {
  pipeline: string;
  ledger: AdmissionLedger;
  /** The run that reads the submissions; null for those pushed between runs. */
  runId: string | null;
  actor: Actor;
  /** Where conflicts are reported. */
  log: Logger;
  /** Called once a batch is recorded (`after-receive`); see `PassOptions.crash`. */
  crash?: CrashHook;
}

/** A submission's ledger identity. */
export interface Identity {
  key: string;
  contentHash: string;
}

/**
 * The identity of `body`: its key from `mapping`'s key template, else the
 * key its source gave it by position (`keyBy: position`), else its content
 * hash; and its content hash. `byContent` says the key is the content hash
 * (identical records are then one submission).
 */
export function identify(mapping: CompiledMapping, body: unknown, positionKey?: string): Identity & { byContent: boolean } {
  const hash = contentHash(body);
  const own = mapping.keyOf(body);
  if (own !== undefined) return { key: own, contentHash: hash, byContent: false };
  if (positionKey !== undefined) return { key: positionKey, contentHash: hash, byContent: false };
  return { key: submissionKey(mapping, body, hash), contentHash: hash, byContent: true };
}

/** How many content keys a pass remembers to spot identical records (about 10 MB); past it, later records are not compared. */
const IDENTICAL_WATCH = 100_000;

/**
 * Tells, once per file, of records keyed by their content that repeat an
 * earlier one of the same pass: they are one submission, which a CSV of
 * plain rows may not mean (two identical orders). Call `seen` per record.
 * Remembers the first {@link IDENTICAL_WATCH} keys of a pass only.
 */
export class IdenticalRecords {
  private readonly firstAt = new Map<string, string>();
  private readonly told = new Set<string>();
  constructor(private readonly log: Logger, private readonly pipeline: string) {}

  /** Notes a record keyed by content, at `file` line `line`; warns once per file when its key was seen before in this pass. */
  seen(key: string, file: string, line: string): void {
    const first = this.firstAt.get(key);
    if (first === undefined) {
      if (this.firstAt.size < IDENTICAL_WATCH) this.firstAt.set(key, `${file}:${line}`);
      return;
    }
    if (this.told.has(file)) return;
    this.told.add(file);
    this.log.warn(
      { pipeline: this.pipeline, file, at: line, same: first },
      'a record is identical to an earlier one and, keyed by its content (the mapping has no key: template), is the same submission: it is counted as a duplicate. If identical rows are distinct submissions, set keyBy: position on the source',
    );
  }
}

/**
 * Records `items` (keyed as {@link identify} keys) in the ledger in one
 * transaction and resolves each one's outcome, in order, once they are
 * durable: `new`, `duplicate` (same key, same content) or `conflict`
 * (same key, other content: kept aside, never overwriting). Adds the
 * outcomes to `counts` and warns of conflicts by key. `opts` as the
 * ledger's `receive` takes them (record new ones leased, move them on at
 * once). Rejects when the ledger cannot record them, with none recorded.
 */
export async function admit(door: Door, items: IncomingSubmission[], counts?: AdmitCounts, opts?: ReceiveOptions): Promise<ReceiveOutcome[]> {
  if (!items.length) return [];
  const outcomes = await door.ledger.receive(door.pipeline, door.runId, items, door.actor, opts);
  door.crash?.('after-receive');
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    if (o === 'new') {
      if (counts) counts.receivedNew++;
    } else if (o === 'duplicate') {
      if (counts) counts.duplicates++;
    } else {
      if (counts) counts.conflicts++;
    }
  }
  warnConflicts(door, items, outcomes);
  return outcomes;
}

function warnConflicts(door: Omit<Door, 'ledger'>, items: readonly IncomingSubmission[], outcomes: readonly ReceiveOutcome[]): void {
  const conflicted = items.filter((_, i) => outcomes[i] === 'conflict').map((s) => s.key);
  if (conflicted.length) door.log.warn({ pipeline: door.pipeline, keys: conflicted }, 'same key arrived with different content: recorded as a conflict, not overwritten');
}

/**
 * Records a batch into several pipelines (a routed pipeline's lanes, each
 * part its own items and receive options) in one transaction, as
 * {@link admit} records into one: resolves to each part's outcomes, in
 * order, once all are durable (each part names its pipeline). Calls `door.crash` (`after-receive`) once, after the commit.
 * Rejects when the ledger cannot record them, with none recorded.
 */
export async function admitLanes(door: Omit<Door, 'ledger' | 'pipeline'> & { ledger: LanesLedger }, parts: readonly LanePart[]): Promise<ReceiveOutcome[][]> {
  if (!parts.some((x) => x.items.length)) return parts.map(() => []);
  const outcomes = await door.ledger.receiveLanes(door.runId, parts, door.actor);
  door.crash?.('after-receive');
  parts.forEach((x, i) => warnConflicts({ ...door, pipeline: x.pipeline }, x.items, outcomes[i]!));
  return outcomes;
}
