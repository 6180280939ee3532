/**
 * Delivering what the ledger says is due: claim a batch, map it, mark it
 * `delivering` (durably) before the target is touched, deliver, and record
 * each record's outcome: delivered, rejected (never retried), failed (retried
 * with backoff) or dead (attempts used up).
 */
import type { Ctx, MappedRecord, Outcome, TargetIdentity } from '../../connectors/connector.types.js';
import { sentDetail, sentText, type SentDetail, type SentJson } from '../audit/sent-detail.js';
import type { MapResult } from '../../mappings/index.js';
import type { ClaimedSubmission, RunSummary, SealedSent, Transition } from '../ledger/ledger.types.js';
import { applyCorrections } from '../ledger/corrections.apply.js';
import { paceOf, sleep, type Pace } from './pacer.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { errorData, isCoded, type ErrorData } from '../../lib/errors.js';
import { withTextHash } from '../privacy/legacy-text.js';
import { MappingErrors } from '../../mappings/mapping.errors.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';
import { bisect, failedAsWhole, type CallNote, type TargetAnswer } from './bisect.js';

/** Counts that delivery adds to a run's summary. */
export type DeliverCounts = Pick<RunSummary, 'rejected' | 'delivered' | 'failed' | 'dead'>;

/** The error recorded for a submission its mapping rejected; messages of PII fields are already masked. */
export function mappingError(result: MapResult): ErrorData {
  const message = result.errors.map((e) => `${e.field}${e.source ? ` (${e.source})` : ''}: ${e.rule}: ${e.message}`).join('; ');
  return errorData(MappingErrors.RECORD_REJECTED, message);
}

function observeDelivery(opts: PassOptions, started: number, outcomes: readonly Outcome[]): void {
  opts.observe?.delivery?.({ seconds: (performance.now() - started) / 1000, outcomes });
}

/** Delivers everything due now (and failures that come due within the retry wait); records the target holds go into `held`. */
export async function deliverDue(p: FlowPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, ctx: Ctx, held: HeldRecords): Promise<DeliverCounts> {
  const counts: DeliverCounts = { rejected: 0, delivered: 0, failed: 0, dead: 0 };
  const pacer = paceOf(p, ledger);
  const now = () => opts.now?.() ?? new Date();
  let done = 0;
  const loop = async () => {
    while (!opts.signal.aborted && p.writeAllowed(now())) {
      const claimed = await ledger.claim(p.name, opts.owner, p.batchSize, opts.leaseMs, now());
      if (!claimed.length) return;
      await deliverBatch(p, ledger, runId, claimed, opts, ctx, counts, pacer, held);
      done += claimed.length;
      opts.onProgress?.({ phase: 'delivering', read: 0, done, pending: 0 });
    }
  };
  for (;;) {
    await Promise.all(Array.from({ length: Math.max(1, p.concurrency) }, loop));
    if (opts.signal.aborted || opts.retryWaitMs <= 0 || !p.writeAllowed(now())) break;
    const waiting = await ledger.list(p.name, { states: ['failed'], limit: 1000 });
    const next = Math.min(...waiting.map((r) => r.nextAttemptAt?.getTime() ?? Infinity));
    if (!Number.isFinite(next) || next - now().getTime() > opts.retryWaitMs) break;
    opts.onProgress?.({ phase: 'waiting', read: 0, done, pending: waiting.length });
    await sleep(Math.max(0, next - now().getTime()), opts.signal);
  }
  return counts;
}

async function mapAll(p: FlowPipeline, claimed: ClaimedSubmission[], opts: PassOptions): Promise<MapResult[]> {
  const bodies = claimed.map((c) => c.body);
  return opts.mapMany ? opts.mapMany(bodies) : bodies.map((b) => p.mapping.map(b));
}

async function deliverBatch(
  p: FlowPipeline,
  ledger: FlowLedger,
  runId: string,
  claimed: ClaimedSubmission[],
  opts: PassOptions,
  ctx: Ctx,
  counts: DeliverCounts,
  pacer: Pace | undefined,
  held: HeldRecords,
): Promise<void> {
  const results = await mapAll(p, claimed, opts);
  for (let i = 0; i < claimed.length; i++) {
    const corrections = claimed[i]!.corrections;
    if (corrections && results[i]!.ok) applyCorrections(results[i]!, corrections);
  }
  const d = await deliverMapped(p, ledger, runId, claimed, results, opts, ctx, counts, pacer);
  if (d) await recordOutcomes(p, ledger, runId, d, opts, counts, held);
}

/**
 * Records the target answered `held` for (written, not yet visible to the
 * legacy system), by key, until the target's `flush` settles them. They
 * stay leased to this runner (in `delivering`) meanwhile.
 */
export type HeldRecords = Map<string, { record: MappedRecord; claim: Settling; result: MapResult }>;

/**
 * What delivery needs to know of each submission; `sent`, when given, is
 * its audit hashes already computed (on a worker, which hands them over
 * as their JSON's bytes, read back by the ledger), and
 * `sentSealed` the record as sent already sealed under its data key.
 * `caseHashes`, shared by the routes of one case (see `routes.ts`): the
 * keyed hashes of the values one route's delivery of the case hashed, so
 * that another route sending the same value takes the hash from there
 * instead of hashing it again. It lives as long as the settlings that
 * share it, which hold the case's mapped records (and so its values)
 * anyway.
 */
export type Settling = Pick<ClaimedSubmission, 'key' | 'state' | 'attempts' | 'uncertain'> & { sent?: SentDetail | SentJson; sentSealed?: SealedSent; caseHashes?: CaseHashes };

/** Keyed hashes of one case's values, by value (strings, numbers, booleans and null; see {@link Settling}). */
export type CaseHashes = Map<unknown, string>;

/** `hash`, taking a value's hash from `known` when there, and adding those it computes (objects and arrays are hashed each time). */
export function sharedHash(hash: (v: unknown) => string, known: CaseHashes): (v: unknown) => string {
  return (v) => {
    if (typeof v === 'object' && v !== null) return hash(v);
    let h = known.get(v);
    if (h === undefined) {
      h = hash(v);
      known.set(v, h);
    }
    return h;
  };
}

/** A batch the target has answered for, waiting for its outcomes to be recorded (see `recordOutcomes`). */
export interface Delivered {
  records: MappedRecord[];
  outcomes: Outcome[];
  byKey: Map<string, { claim: Settling; result: MapResult }>;
  /** When the batch was delivered again in halves (see `bisect.ts`): every call each record took part in, for its audit detail. */
  calls?: Map<string, CallNote[]>;
}

/**
 * The error every record of a batch gets when the target threw for the
 * whole batch: the thrown code (`TARGET_UNAVAILABLE` when it has none),
 * retried, and rekey's sentence (with a system error's code, such as
 * `ECONNREFUSED`); never the thrown message, which may be the legacy
 * system's text about one record.
 */
function batchError(e: unknown): ErrorData {
  if (isCoded(e)) return { code: e.code, disposition: 'retry', message: `the batch failed: ${e.code}` };
  const sys = (e as { code?: unknown } | null)?.code;
  const why = typeof sys === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(sys) ? ` (${sys})` : '';
  return errorData(PipelineCodes.TARGET_UNAVAILABLE, `the batch failed: ${PipelineCodes.TARGET_UNAVAILABLE.code}${why}`);
}

/**
 * Takes mapped submissions on to the target, first half: mapping
 * rejections and `delivering` recorded (durably; already done for those in
 * state `delivering`), then the target's delivery. A batch the target
 * fails as a whole again is delivered again in halves (see `bisect.ts`),
 * paced, and only while the pass goes on and the write window is open.
 * Resolves to what the target answered (nothing when no record was left to
 * deliver); throws only a fatal target error.
 */
export async function deliverMapped(
  p: FlowPipeline,
  ledger: FlowLedger,
  runId: string,
  claimed: Settling[],
  results: MapResult[],
  opts: PassOptions,
  ctx: Ctx,
  counts: DeliverCounts,
  pacer: Pace | undefined,
): Promise<Delivered | undefined> {
  const audit = { target: p.targetName, mappingVersion: p.mapping.version, owner: opts.owner };
  const before: Transition[] = [];
  let records: MappedRecord[] = [];
  const byKey = new Map<string, { claim: Settling; result: MapResult }>();
  claimed.forEach((c, i) => {
    const r = results[i]!;
    if (!r.ok) {
      before.push({ key: c.key, to: 'rejected', error: mappingError(r), mappingVersion: p.mapping.version });
      counts.rejected++;
      opts.log.debug({ pipeline: p.name, key: c.key, fields: r.errors.map((e) => `${e.field}:${e.rule}`) }, 'rejected by the mapping');
      return;
    }
    if (c.state !== 'delivering') before.push({ key: c.key, to: 'delivering', mappingVersion: p.mapping.version });
    records.push({ key: c.key, record: r.record, children: r.children, mappingVersion: p.mapping.version, uncertain: c.uncertain });
    byKey.set(c.key, { claim: c, result: r });
  });
  const taken = new Set(before.length ? ((await ledger.apply(p.name, runId, before, opts.actor, audit)) ?? []) : []);
  opts.crash?.('after-delivering');
  if (taken.size) {
    opts.log.warn({ pipeline: p.name, keys: [...taken] }, 'leases lost before delivery (another runner took them over): left to that runner');
    records = records.filter((r) => !taken.has(r.key));
  }
  if (!records.length) return undefined;
  const call = async (part: MappedRecord[]): Promise<TargetAnswer> => {
    await pacer?.take(part.length, opts.signal);
    return callTarget(p, part, byKey, opts, ctx);
  };
  const first = await call(records);
  if (!failedAsWhole(records, first) || !records.some((r) => splitWorth(p, byKey.get(r.key)!.claim))) return { records, outcomes: first.outcomes, byKey };
  const mayGoOn = () => !opts.signal.aborted && p.writeAllowed(opts.now?.() ?? new Date());
  const { outcomes, calls, made } = await bisect(records, first, { call, mayGoOn });
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  opts.log.info({ pipeline: p.name, records: records.length, calls: made, failed }, 'a batch that failed as a whole again was delivered in halves to find the records that fail');
  return { records, outcomes, byKey, calls };
}

/**
 * Whether a batch that failed as a whole is worth delivering again in
 * halves for this record (see `bisect.ts`): it failed before, or this
 * failure would dead-letter it. A first failure is left to the retry, as
 * most (a deadlock, a blip) pass on their own.
 */
function splitWorth(p: FlowPipeline, claim: Settling): boolean {
  return claim.attempts >= 1 || claim.attempts + 1 >= p.maxAttempts;
}

const IN_HAND = new AbortController().signal;

/**
 * One call of the target on `records`, in a slot of `ctx.sessions` when
 * there are any (the pipeline's limit across runners) and the target does
 * not take them itself: its answer, or (when it throws) every record
 * `failed` with its error; rethrows a fatal error.
 */
async function callTarget(p: FlowPipeline, records: MappedRecord[], byKey: Delivered['byKey'], opts: PassOptions, ctx: Ctx): Promise<TargetAnswer> {
  const attempt = Math.max(...records.map((r) => byKey.get(r.key)!.claim.attempts)) + 1;
  let outcomes: Outcome[];
  // The batch in hand is delivered even when the pass is stopping, so the wait for a slot is not cut short.
  const slot = ctx.sessions && !p.target.takesSessionSlots ? await ctx.sessions.take(IN_HAND) : undefined;
  const started = performance.now();
  try {
    outcomes = await p.target.deliver(records, { ...ctx, attempt });
    opts.crash?.('after-target-commit');
  } catch (e) {
    const err = e as { disposition?: string };
    const error = batchError(e);
    outcomes = records.map((r) => ({ key: r.key, status: 'failed', error }));
    observeDelivery(opts, started, outcomes);
    if (err.disposition === 'fatal') throw e;
    return { outcomes, threw: true };
  } finally {
    await slot?.();
  }
  observeDelivery(opts, started, outcomes);
  return { outcomes, threw: false };
}

/**
 * Second half, after `deliverMapped`: each record's outcome recorded
 * (delivered, rejected, failed with its retry time, or dead). A `held`
 * record is put in `held` (without `held`, a fatal
 * `TARGET_HELD_WITHOUT_FLUSH`: only a flushing pass may hold records) and nothing is recorded for it yet.
 */
export async function recordOutcomes(
  p: FlowPipeline,
  ledger: FlowLedger,
  runId: string,
  d: Delivered,
  opts: PassOptions,
  counts: DeliverCounts,
  held?: HeldRecords,
): Promise<void> {
  const audit = { target: p.targetName, mappingVersion: p.mapping.version, owner: opts.owner };
  const { records, outcomes, byKey } = d;
  const identity = p.target.identity?.() ?? { kind: p.targetName, system: '' };
  const seen = new Map(outcomes.map((o) => [o.key, o]));
  const after: Transition[] = [];
  for (const r of records) {
    const o: Outcome = seen.get(r.key) ?? { key: r.key, status: 'failed', error: errorData(PipelineCodes.TARGET_NO_OUTCOME, 'the target reported no outcome for this record') };
    const { claim, result } = byKey.get(r.key)!;
    if (o.status === 'held') {
      if (!held) throw new PipelineError(PipelineCodes.TARGET_HELD_WITHOUT_FLUSH, `target ${p.targetName} held a record where no flush follows`);
      held.set(r.key, { record: r, claim, result });
      continue;
    }
    const t = settle(p, r, o, claim, opts, counts, identity);
    const calls = d.calls?.get(r.key);
    if (calls && calls.length > 1) t.detail = { ...t.detail, calls };
    after.push(t);
  }
  const lost = after.length ? ((await ledger.apply(p.name, runId, after, opts.actor, audit)) ?? []) : [];
  if (lost.length) opts.log.warn({ pipeline: p.name, keys: lost }, 'leases lost during delivery (another runner took them over): their outcomes are left to that runner, which checks the target first');
  opts.crash?.('after-ledger-delivered');
}

/**
 * Settles what the target holds: its `flush` makes the held records
 * visible to the legacy system and answers for each, and their outcomes
 * are recorded as `recordOutcomes` does, in parts of the pipeline's batch
 * size (two at a time), each its own transaction and audit entry. A
 * target that holds records without a `flush` is a connector bug (fatal).
 * A crash between parts leaves the rest `delivering` and leased, as a crash
 * after the flush does: the restart claims them as uncertain and the target
 * finds them in place.
 */
export async function flushHeld(p: FlowPipeline, ledger: FlowLedger, runId: string, held: HeldRecords, opts: PassOptions, ctx: Ctx, counts: DeliverCounts): Promise<void> {
  if (!p.target.flush) {
    if (held.size) throw new PipelineError(PipelineCodes.TARGET_HELD_WITHOUT_FLUSH, `target ${p.targetName} held records but has no flush`);
    return;
  }
  const started = performance.now();
  const outcomes = (await p.target.flush(ctx)).filter((o) => o.status !== 'held');
  opts.crash?.('after-target-commit');
  if (outcomes.length) observeDelivery(opts, started, outcomes);
  const stray = outcomes.filter((o) => !held.has(o.key)).map((o) => o.key);
  if (stray.length) opts.log.warn({ pipeline: p.name, keys: stray }, 'the target answered for records it was not holding: ignored');
  if (!held.size) return;
  const entries = [...held.values()];
  held.clear();
  // A whole file's records in one transaction (100,000 in a nightly file) took twice as long as in batches: its one audit entry of 100,000 records cost twice what 50 of 2,000 do.
  const answered = new Map(outcomes.map((o) => [o.key, o]));
  const inFlight: Promise<void>[] = [];
  try {
    for (let i = 0; i < entries.length; i += p.batchSize) {
      const part = entries.slice(i, i + p.batchSize);
      const byKey = new Map(part.map((e) => [e.record.key, { claim: e.claim, result: e.result }]));
      const records = part.map((e) => e.record);
      const recorded = recordOutcomes(p, ledger, runId, { records, outcomes: records.flatMap((r) => answered.get(r.key) ?? []), byKey }, opts, counts);
      // Awaited in turn or below; a failure meanwhile must not count as unhandled.
      recorded.catch(() => undefined);
      inFlight.push(recorded);
      if (inFlight.length >= 2) await inFlight.shift();
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  await Promise.all(inFlight);
}

/**
 * The audit detail and kept copy of a delivered record: what was sent
 * (`sent`: the hash of the record as handed to the target and every
 * field's keyed hash, PII or not) and where (`target`: the target's
 * identity and, when it says, `sentTo`). Entries written before 6 December
 * 2026 also carry `pii`, the keyed hashes of the mapping's PII fields
 * alone: the same hashes as those fields' in `sent.fields`, so no longer
 * written twice (readers take `sent.fields` first, as before).
 */
function deliveredDetail(r: MappedRecord, o: Extract<Outcome, { status: 'delivered' }>, claim: Settling, opts: PassOptions, identity: TargetIdentity) {
  const text = claim.sentSealed === undefined ? sentText(r) : undefined;
  const hash = claim.caseHashes ? sharedHash(opts.piiHash, claim.caseHashes) : opts.piiHash;
  const sent = claim.sent ?? sentDetail(r, text ?? sentText(r), hash);
  const target = o.sentTo === undefined ? identity : { ...identity, sentTo: o.sentTo };
  const copy = claim.sentSealed === undefined ? { sent: text! } : { sentSealed: claim.sentSealed };
  return { copy, detail: { sent, target } };
}

function settle(
  p: FlowPipeline,
  r: MappedRecord,
  o: Exclude<Outcome, { status: 'held' }>,
  claim: Settling,
  opts: PassOptions,
  counts: DeliverCounts,
  identity: TargetIdentity,
): Transition {
  if (o.status === 'delivered') {
    counts.delivered++;
    const { copy, detail } = deliveredDetail(r, o, claim, opts, identity);
    const t: Transition = { key: r.key, to: 'delivered', mappingVersion: p.mapping.version, detail, ...copy };
    if (o.legacyRef !== undefined) t.legacyRef = o.legacyRef;
    if (o.confirmed !== undefined) t.confirmed = o.confirmed;
    if (o.alreadyPresent) t.detail!.alreadyPresent = true;
    if (o.mismatches?.length) t.detail!.mismatches = o.mismatches;
    return t;
  }
  const error = withTextHash(o.error, opts.piiHash);
  if (o.status === 'rejected') {
    counts.rejected++;
    return { key: r.key, to: 'rejected', error, mappingVersion: p.mapping.version };
  }
  const attempts = claim.attempts + 1;
  if (attempts >= p.maxAttempts) {
    counts.dead++;
    opts.log.warn({ pipeline: p.name, key: r.key, attempts, code: o.error.code }, 'dead-lettered after the last attempt');
    return { key: r.key, to: 'dead', error };
  }
  counts.failed++;
  return { key: r.key, to: 'failed', error, nextAttemptAt: new Date(Date.now() + p.retryDelay(attempts)) };
}
