/**
 * The delivery ledger: one row per (pipeline, submission key) moved through
 * the checked state machine of `ledger.types.ts`, every move audited in the
 * same transaction. Every write resolves only after COMMIT, so a caller that
 * acknowledges after `receive` resolves has the submission on disk.
 */
import { readLegacyText, type LegacyText } from '../privacy/legacy-text.js';
import type { ErrorData } from '../../lib/errors.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEntry } from '../audit/audit.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { inList, listParam } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { connectorState } from '../store/connector-state.js';
import { clusterSessionSlots, type ClosableSessionSlots } from '../store/session-slots.js';
import { clusterPace, type ClusterPace } from '../store/rate-pacing.js';
import type { AnswerResult, ConnectorState, SealedFiles } from '../../connectors/connector.types.js';
import type { KeyEncryptionKey, KeyRing } from '../../lib/envelope.js';
import { sealedFiles } from '../privacy/sealed-files.js';
import { sealedBodies, type BodyCodec } from '../privacy/bodies.js';
import { BODY_JOIN, BODY_TEXT, bodyPipeline } from '../privacy/case-bodies.js';
import { sealExistingBodies, type SealedCounts } from '../privacy/seal-existing.js';
import { readSentCopy, type SentRecord } from '../privacy/sent-copy.js';
import { applyMoves } from './ledger.apply.js';
import { correctSubmission, type CorrectOptions, type CorrectResult } from './corrections.js';
import { countsByState } from './counts.js';
import { pausePipeline } from './controls.js';
import { claimDue, leaseOwners, releaseLeases, renewLeases } from './ledger.claim.js';
import { receiveBatch, receiveLanes, type LanePart, type ReceiveOptions } from './ledger.receive.js';
import { reconcileAnswers, type ReconcileReport } from './ledger.reconcile.js';
import { readyCases, type ReadyCase } from './ready-cases.js';
import { ROW_COLUMNS, toConflict, toEntry, toListRow, type ConflictRow, type LedgerEntry, type LedgerListRow, type RunRow } from './ledger.rows.js';
import { finishRun, listRuns, startRun } from './ledger.runs.js';
import type { Actor, ClaimedSubmission, Corrections, IncomingSubmission, LedgerState, PassTrigger, ReceiveOutcome, RunSummary, Transition } from './ledger.types.js';
import { TRANSITIONS } from './ledger.types.js';

/** Every ledger state, in flow order. */
export const LEDGER_STATES = Object.keys(TRANSITIONS) as LedgerState[];

/** Row counts per state for one pipeline (every state present, zero if none). */
export type StateCounts = Record<LedgerState, number>;

function keysOf(key: string | readonly string[]): string[] {
  return typeof key === 'string' ? [key] : [...key];
}

/**
 * Options of the Ledger no configuration, command line or environment
 * reaches: set only by code that builds a Ledger itself.
 */
export interface LedgerInternals {
  /**
   * BENCHMARK ONLY (bench/pipeline.bench.ts prices encryption with it):
   * how bodies are stored. Default, and the only codec production code
   * uses: {@link sealedBodies} over the ledger's keys.
   */
  bodies?: BodyCodec;
}

/** The ledger of one state store. */
export class Ledger {
  /** How bodies are sealed into the store and opened again. */
  private readonly bodies: BodyCodec;

  constructor(
    readonly store: StateStore,
    readonly audit: AuditLog,
    /** The deployer's key-encryption keys: every body and kept file is sealed under a data key they wrap. */
    readonly keys: KeyRing,
    internals: LedgerInternals = {},
  ) {
    this.bodies = internals.bodies ?? sealedBodies(keys);
  }

  /**
   * Records a batch read from a source: `new` rows (state `received`),
   * `duplicate`s and `conflict`s (kept aside in `ledger_conflicts`), one
   * outcome per item in order, audited as one entry per outcome kind.
   * Resolves after COMMIT: only then may the source acknowledge. With
   * `lease`, new rows are recorded already leased to `lease.owner` (for a
   * runner that delivers them straight away); an item's `then` moves it on
   * at once if it is new (audited with `opts.target` and
   * `opts.mappingVersion`). Throws `LEDGER_BAD_REQUEST` for an item without
   * key or content hash, and `LedgerTransitionError` for a `then` that is
   * not a move from `received`; nothing is written then.
   */
  receive(pipeline: string, runId: string | null, items: readonly IncomingSubmission[], actor: Actor, opts?: ReceiveOptions): Promise<ReceiveOutcome[]> {
    return receiveBatch(this.store, this.audit, this.bodies, pipeline, runId, items, actor, opts);
  }

  /**
   * Records a batch into several pipelines at once, each part as `receive`
   * records it (its own rows, sealed bodies and audit entries), in one
   * transaction: a routed pipeline admits a batch into all its lanes with
   * one commit. Resolves to each part's outcomes after COMMIT; throws as
   * `receive`, with nothing written in any part.
   */
  receiveLanes(runId: string | null, parts: readonly LanePart[], actor: Actor): Promise<ReceiveOutcome[][]> {
    return receiveLanes(this.store, this.audit, this.bodies, runId, parts, actor);
  }

  /**
   * The key mapping workers seal new bodies with (the current
   * key-encryption key), so that `receive` stores their seals as they are;
   * undefined when bodies are sealed here only (the bench's clear codec).
   */
  bodySealKey(): KeyEncryptionKey | undefined {
    return this.bodies.workerKey;
  }

  /**
   * Leases up to `limit` due submissions to `owner` for `leaseMs`: received
   * and mapped rows, failed rows whose `next_attempt_at` has come, and
   * delivering rows whose lease ran out (`uncertain: true`: probe the target
   * before writing again). Oldest first; never the same row to two runners.
   */
  claim(pipeline: string, owner: string, limit: number, leaseMs: number, now = new Date()): Promise<ClaimedSubmission[]> {
    return claimDue(this.store, this.bodies, pipeline, owner, limit, leaseMs, now);
  }

  /**
   * Applies moves in one transaction, each checked against `TRANSITIONS`:
   * `failed` counts an attempt and sets the retry time, `delivered` stores
   * the legacy reference and clears lease and error, `delivering` and
   * `mapped` keep the lease. Audits one entry per event with a record per
   * key (legacy ref, error, PII hashes from `transition.detail.pii`).
   * Throws `LedgerTransitionError` (`LEDGER_ILLEGAL_TRANSITION`, fatal) or
   * `LEDGER_UNKNOWN_KEY`, and `LEDGER_BAD_REQUEST` if a PII field is not a
   * `piiHash`; nothing is written then. With `ctx.owner` (a runner moving
   * rows it leased) the moves of rows no longer leased to it are skipped:
   * resolves to their keys (another runner holds them now, or they were
   * released), so the caller can leave them alone.
   */
  apply(
    pipeline: string,
    runId: string | null,
    transitions: readonly Transition[],
    actor: Actor,
    ctx: { target?: string; mappingVersion?: string; owner?: string } = {},
  ): Promise<string[]> {
    const { owner, ...audited } = ctx;
    return applyMoves(this.store, this.audit, transitions, { pipeline, actor, ...audited, extra: runId ? { runId } : {} }, owner, this.keys);
  }

  /**
   * The record exactly as last delivered for `key` (what a `delivered`
   * move's `sent` carried), opened from its seal under the submission's
   * data key; null when it was never delivered, or its body was purged or
   * erased. Throws `DATA_KEY_UNKNOWN` or `DATA_DECRYPT_FAILED` as a body
   * does.
   */
  sentRecord(pipeline: string, key: string): Promise<SentRecord | null> {
    return readSentCopy(this.store, this.keys, pipeline, key);
  }

  /**
   * The legacy system's own text of an error of `key` (kept sealed, see
   * pipelines/privacy/legacy-text.ts), opened, with the keyed hash the
   * error it came with holds; null when none is kept. Throws as
   * `sentRecord` does.
   */
  legacyText(pipeline: string, key: string): Promise<LegacyText | null> {
    return readLegacyText(this.store, this.keys, pipeline, key);
  }

  /**
   * Applies a legacy system's answers to delivered rows in one transaction
   * (see `reconcileAnswers`): accepted ones confirmed, rejected ones dead
   * with the legacy reason (kept sealed, its keyed hash from
   * `opts.hashText` on the row and audit entry); a repeat changes nothing;
   * answers that do not fit their row are reported, never thrown.
   */
  reconcile(pipeline: string, runId: string | null, results: readonly AnswerResult[], actor: Actor, opts: { target?: string; hashText?: (text: string) => string } = {}): Promise<ReconcileReport> {
    return reconcileAnswers(this.store, this.audit, pipeline, runId, results, actor, { ...opts, keys: this.keys });
  }

  /** Gives back every lease `owner` holds (graceful shutdown) and resolves to how many; `delivering` rows become due as uncertain. */
  release(pipeline: string, owner: string): Promise<number> {
    return releaseLeases(this.store, pipeline, owner);
  }

  /** Extends every lease `owner` holds in `pipeline` by `leaseMs` from `now` (a live runner's heartbeat); resolves to how many. */
  renew(pipeline: string, owner: string, leaseMs: number, now = new Date()): Promise<number> {
    return renewLeases(this.store, pipeline, owner, leaseMs, now);
  }

  /** Pauses `pipeline` for `actor` with `reason` (audited, see `controls.ts`); already paused: nothing to do. */
  async pause(pipeline: string, actor: Actor, reason: string): Promise<void> {
    await pausePipeline(this.store, this.audit, pipeline, actor, reason).catch((e: unknown) => {
      if ((e as { code?: string }).code !== PipelineCodes.PIPELINE_ALREADY_PAUSED.code) throw e;
    });
  }

  /** The durable state the connectors of `pipeline` keep in this store. */
  connectorState(pipeline: string): ConnectorState {
    return connectorState(this.store, pipeline);
  }

  /**
   * On PostgreSQL, `size` slots of `pipeline`'s target sessions shared by
   * every runner on this store (see `store/session-slots.ts`); on SQLite
   * (one process) none: the pass's own concurrency is the whole limit.
   */
  sessionSlots(pipeline: string, size: number): ClosableSessionSlots | undefined {
    return this.store.dialect === 'postgres' ? clusterSessionSlots(this.store, pipeline, size) : undefined;
  }

  /**
   * On PostgreSQL, `perSecond` for `pipeline` shared by every runner on
   * this store (see `store/rate-pacing.ts`); on SQLite (one process) none:
   * the pass paces itself.
   */
  pace(pipeline: string, perSecond: number): ClusterPace | undefined {
    return this.store.dialect === 'postgres' ? clusterPace(this.store, pipeline, perSecond) : undefined;
  }

  /** Where the connectors of `pipeline` keep files holding citizens' data, sealed and registered in this store. */
  sealedFiles(pipeline: string): SealedFiles {
    return sealedFiles(this.store, this.keys, pipeline);
  }

  /** Distinct owners of leases (current or expired) in `pipeline`, e.g. to release those of runners known dead. */
  leaseOwners(pipeline: string): Promise<string[]> {
    return leaseOwners(this.store, pipeline);
  }

  /** Operator: sends dead or failed submissions back to `received` with attempts reset (audited `retried`). Throws `SUBMISSION_ERASED` or `BODY_PURGED` for one whose body is gone; nothing is written then. */
  async retry(pipeline: string, key: string | readonly string[], actor: Actor): Promise<void> {
    const moves = keysOf(key).map((k): Transition => ({ key: k, to: 'received' }));
    await applyMoves(this.store, this.audit, moves, { pipeline, actor, allowedFrom: ['dead', 'failed'], needsBody: 'retry' });
  }

  /** Operator: gives up on a dead submission for a stated reason (audited `discarded`). Throws `LEDGER_BAD_REQUEST` without a reason. */
  async discard(pipeline: string, key: string, reason: string, actor: Actor): Promise<void> {
    if (!reason?.trim()) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, 'discarding needs a reason');
    await applyMoves(this.store, this.audit, [{ key, to: 'discarded' }], { pipeline, actor, allowedFrom: ['dead'], extra: { reason: reason.trim() } });
  }

  /**
   * Operator: corrects mapped values of a submission the legacy system
   * refused (dead or rejected) and sends it back to `received`, so the
   * next pass delivers it, corrected, under the same key (audited
   * `corrected`: operator, reason, field names, keyed hashes of the values
   * before and after). `corrections` maps a target field (`FIELD`, or
   * `GROUP[n].FIELD` for the n-th child row, from 1) to its new value;
   * `opts.mapping` is the pipeline's compiled mapping, `opts.piiHash` the
   * audit log's keyed hash. Throws, with nothing written,
   * `CORRECTION_UNKNOWN_FIELD` or `CORRECTION_INVALID` (naming the field
   * and rule, never the value), `LEDGER_ACTION_REFUSED` for another state,
   * `LEDGER_BAD_REQUEST` without a reason, `SUBMISSION_ERASED`,
   * `BODY_PURGED`. See `corrections.ts`.
   */
  correct(pipeline: string, key: string, corrections: Corrections, reason: string, actor: Actor, opts: CorrectOptions): Promise<CorrectResult> {
    return correctSubmission(this.store, this.audit, this.keys, pipeline, key, corrections, reason, actor, opts);
  }

  /** Operator: sends a delivered or rejected submission through again (audited `replayed`). Throws `SUBMISSION_ERASED` or `BODY_PURGED` when its body is gone. */
  async replay(pipeline: string, key: string, actor: Actor): Promise<void> {
    await applyMoves(this.store, this.audit, [{ key, to: 'received' }], { pipeline, actor, allowedFrom: ['delivered', 'rejected'], needsBody: 'replay' });
  }

  /**
   * One submission's row and stored body (opened), or null. Throws
   * `DATA_KEY_UNKNOWN` or `DATA_DECRYPT_FAILED` when the body does not open.
   * With `body: false` the body is neither read nor opened (`body` is
   * null), so no key is needed.
   */
  async get(pipeline: string, key: string, opts: { body?: boolean } = {}): Promise<LedgerEntry | null> {
    const withBody = opts.body !== false;
    const [row] = await this.store.select<Record<string, unknown>>(
      `SELECT ${ROW_COLUMNS.split(', ').map((c) => `l.${c}`).join(', ')}${withBody ? `, ${BODY_TEXT} AS body, b.body_of, b.kid, b.dek` : ''} FROM ledger l${withBody ? ` ${BODY_JOIN}` : ''}
       WHERE l.pipeline = $1 AND l.key = $2`,
      [pipeline, key],
    );
    return row ? toEntry(row, withBody ? this.openBody(bodyPipeline(pipeline, row.body_of), 'body', key, row) : null) : null;
  }

  private openBody(pipeline: string, place: 'body' | 'conflict', key: string, row: Record<string, unknown>): string | null {
    if (row.body === null || row.body === undefined) return null;
    return this.bodies.open(pipeline, place, key, { body: row.body instanceof Uint8Array ? row.body : String(row.body), kid: (row.kid as string | null) ?? null, dek: (row.dek as string | null) ?? null });
  }

  /**
   * Seals every body still stored in clear (written before migration 0008),
   * in `ledger_bodies` and `ledger_conflicts`, `batch` rows per transaction;
   * resolves to how many it sealed. Safe to run while runners work, and
   * from several processes at once (a row sealed meanwhile is left alone).
   */
  sealExisting(batch = 500): Promise<SealedCounts> {
    return sealExistingBodies(this.store, this.bodies, batch);
  }

  /** A page of rows (without bodies), oldest first, optionally only in `states`. */
  async list(pipeline: string, opts: { states?: readonly LedgerState[]; limit: number; offset?: number }): Promise<LedgerListRow[]> {
    const states = opts.states ?? [];
    const where = states.length ? ` AND ${inList(this.store, 'state', 2)}` : '';
    const limit = Math.max(0, Math.floor(opts.limit));
    const offset = Math.max(0, Math.floor(opts.offset ?? 0));
    const rows = await this.store.select<Record<string, unknown>>(
      `SELECT ${ROW_COLUMNS} FROM ledger WHERE pipeline = $1${where} ORDER BY created_at, key LIMIT ${limit} OFFSET ${offset}`,
      states.length ? [pipeline, listParam(this.store, states)] : [pipeline],
    );
    return rows.map(toListRow);
  }

  /**
   * Row counts by state, per pipeline (all pipelines with rows, or only
   * `pipeline`, zeros if it has none), from the counts the ledger's
   * triggers keep (`./counts.ts`).
   */
  counts(pipeline?: string): Promise<Record<string, StateCounts>> {
    return countsByState(this.store, pipeline === undefined ? undefined : [pipeline]);
  }

  /** Cases a route that waits for `lanes` may now be told of: see {@link readyCases}. */
  readyCases(lanes: readonly string[], waiting: string, since: Date, limit: number): Promise<ReadyCase[]> {
    return readyCases(this.store, lanes, waiting, since, limit);
  }

  /** Every pipeline the store has rows or runs for, sorted. */
  async pipelines(): Promise<string[]> {
    const rows = await this.store.select<{ pipeline: string }>('SELECT DISTINCT pipeline FROM ledger UNION SELECT DISTINCT pipeline FROM runs');
    return rows.map((r) => r.pipeline).sort();
  }

  /** The audit entries naming `key`, oldest first. */
  history(pipeline: string, key: string): Promise<AuditEntry[]> {
    return this.audit.entriesFor(pipeline, key);
  }

  /** Submissions kept aside because their key was known with other content, oldest first, bodies opened (throws as `get`). */
  async conflicts(pipeline: string, limit = 1000): Promise<ConflictRow[]> {
    const rows = await this.store.select<Record<string, unknown>>(
      `SELECT * FROM ledger_conflicts WHERE pipeline = $1 ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`,
      [pipeline],
    );
    return rows.map((r) => toConflict(r, this.openBody(pipeline, 'conflict', String(r.key), r)));
  }

  /** How many conflicts `pipeline` has. */
  async conflictCount(pipeline: string): Promise<number> {
    const [row] = await this.store.select<{ n: number | string }>('SELECT COUNT(*) AS n FROM ledger_conflicts WHERE pipeline = $1', [pipeline]);
    return Number(row?.n ?? 0);
  }

  /**
   * Records the start of a run (audited `run-started`, after
   * `pipeline-changed` / `mapping-changed` when a version differs from the
   * previous run's, carrying `trigger`) and resolves to its id.
   */
  startRun(pipeline: string, actor: Actor, mappingVersion: string | null, definitionVersion?: string | null, mappingText?: string, trigger?: PassTrigger): Promise<string> {
    return startRun(this.store, this.audit, pipeline, actor, mappingVersion, definitionVersion ?? null, mappingText, trigger);
  }

  /** Stores a run's summary (audited `run-finished`), and the error it stopped on when given. Throws `LEDGER_UNKNOWN_RUN`. */
  finishRun(runId: string, summary: RunSummary, error?: ErrorData): Promise<void> {
    return finishRun(this.store, this.audit, runId, summary, error);
  }

  /** The latest `limit` runs of `pipeline`, newest first. */
  runs(pipeline: string, limit = 20): Promise<RunRow[]> {
    return listRuns(this.store, pipeline, limit);
  }
}
