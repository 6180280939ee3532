/**
 * Delivering submissions as they are admitted, without claiming them back:
 * the admission recorded them already mapped, moved to `delivering` and
 * leased to this runner (in the transaction that recorded them), so a
 * crash before their delivery leaves them to be claimed, uncertain, once
 * the lease is given up or runs out, and the target checks before
 * delivering again. The chunked path of a single-target pass uses it
 * (`chunks.ts`), and each route of a routed pass through its
 * {@link LaneFeed} (`routes.ts`).
 */
import type { Ctx } from '../../connectors/connector.types.js';
import type { MapResult } from '../../mappings/index.js';
import { deliverMapped, mappingError, recordOutcomes, type DeliverCounts, type HeldRecords, type Settling } from './deliver.js';
import type { IncomingSubmission, ReceiveOutcome } from '../ledger/ledger.types.js';
import { paceOf } from './pacer.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';

/** The move a submission mapped as `r` is recorded with when it is admitted for delivery at once: `delivering`, or `rejected` with the mapping's error. */
export function admittedMove(r: MapResult, mappingVersion: string): NonNullable<IncomingSubmission['then']> {
  return r.ok ? { to: 'delivering', mappingVersion } : { to: 'rejected', error: mappingError(r), mappingVersion };
}

/**
 * What admission recorded of a batch admitted for delivery at once
 * (`outcomes` and the mapping's `results`, in the batch's order): the
 * submissions recorded new and `delivering`, as settlings to deliver with
 * their results (`settling` makes the one at index `i`, for its key and
 * what the mapping worked out for the audit log), and how many the mapping
 * rejected (recorded new and `rejected`). Duplicates and conflicts are in
 * neither.
 */
export function admittedPart(outcomes: readonly ReceiveOutcome[], results: readonly MapResult[], settling: (i: number) => Settling): { fresh: Settling[]; results: MapResult[]; rejected: number } {
  const out = { fresh: [] as Settling[], results: [] as MapResult[], rejected: 0 };
  outcomes.forEach((o, i) => {
    if (o !== 'new') return;
    if (!results[i]!.ok) out.rejected++;
    else {
      out.fresh.push(settling(i));
      out.results.push(results[i]!);
    }
  });
  return out;
}

/** Batches admitted `delivering`, on their way to the target and then the ledger (see {@link admittedDelivery}). */
export interface AdmittedDelivery {
  /** Delivers `fresh` (mapped as `results`, in order) in batches of the pipeline's size; waits while two batches are between the target and the ledger. Throws a fatal error an earlier batch met. */
  deliver(fresh: Settling[], results: MapResult[]): Promise<void>;
  /** Waits until every batch handed over is delivered and recorded; throws a fatal error one met. */
  drain(): Promise<void>;
}

/**
 * Two chains over admitted batches: the target's deliveries, one batch at
 * a time and in order, and the recording of their outcomes, also in order.
 * Recording batch N overlaps delivering batch N+1 (the ledger and the
 * target are separate databases); at most two batches are between the
 * target and the ledger. Adds to `counts`; records the target holds go
 * into `held` for the pass to flush; `progress` is called as each batch is
 * recorded.
 */
export function admittedDelivery(p: FlowPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, ctx: Ctx, counts: DeliverCounts, held: HeldRecords, progress?: () => void): AdmittedDelivery {
  const pacer = paceOf(p, ledger);
  let targetTail: Promise<unknown> = Promise.resolve();
  let recordTail: Promise<void> = Promise.resolve();
  const batches: Promise<void>[] = [];
  const quiet = <T>(x: Promise<T>) => {
    x.catch(() => undefined);
    return x;
  };
  return {
    async deliver(fresh, results) {
      for (let i = 0; i < fresh.length && !opts.signal.aborted; i += p.batchSize) {
        if (batches.length >= 2) await batches.shift();
        const batch = fresh.slice(i, i + p.batchSize);
        const mapped = results.slice(i, i + p.batchSize);
        const delivered = quiet(targetTail.then(() => deliverMapped(p, ledger, runId, batch, mapped, opts, ctx, counts, pacer)));
        targetTail = delivered;
        const before = recordTail;
        recordTail = quiet(
          delivered.then(async (d) => {
            await before;
            if (d) await recordOutcomes(p, ledger, runId, d, opts, counts, held);
            progress?.();
          }),
        );
        batches.push(recordTail);
      }
    },
    async drain() {
      await targetTail;
      await recordTail;
    },
  };
}

/**
 * What a routed pass's reading hands one route's delivery pass: the
 * submissions it admitted into the route's lane already mapped by the
 * route's mapping and moved to `delivering` (or `rejected`, when the
 * mapping refused them), leased to this runner, so the route delivers them
 * without claiming them back. The route's pass opens the feed once its
 * target is connected and its window open, or refuses it (the reading then
 * records the route's submissions `received`, for the route to claim when
 * it may). Feeding never waits for the route: the reading asks
 * {@link takes} before each batch, and a route that has two batches on
 * their way to its target and `room` records more waiting (a slow target,
 * a rate limit) takes the batch later, by claiming it, so no route holds
 * the reading or the other routes back.
 */
export class LaneFeed {
  private delivery?: AdmittedDelivery;
  /** The route's delivery pass's run, once it opened the feed: what the route's mapping rejects at admission is that run's. */
  runId?: string;
  private state: 'waiting' | 'open' | 'refused' | 'ended' = 'waiting';
  private failed = false;
  private held: { fresh: Settling[]; results: MapResult[] } = { fresh: [], results: [] };
  /** Records handed on and not yet taken by the delivery (it takes a batch once fewer than two are on their way). */
  private queued = 0;
  private pump: Promise<void> = Promise.resolve();
  private told!: (open: boolean) => void;
  private finish!: (finished: boolean) => void;
  /** Resolves once the route's pass opened (true) or refused (false) the feed. */
  readonly ready = new Promise<boolean>((resolve) => (this.told = resolve));
  /** Resolves once the reading ended and every submission fed is handed to the delivery: to whether the reading finished (false: it failed). */
  readonly ended = new Promise<boolean>((resolve) => (this.finish = resolve));
  /** Submissions the route's mapping rejected at admission (recorded `rejected` there), for the route's counts. */
  rejected = 0;

  /**
   * @param batchSize the route's batch size: what is fed is handed on in batches of it (the last one shorter).
   * @param room how many records fed may wait for the delivery (held for a full batch, or handed on) before the feed takes no more.
   */
  constructor(
    private readonly batchSize: number,
    private readonly room: number,
  ) {}

  /** The route's pass (run `runId`) delivers what is fed through `delivery`. */
  open(delivery: AdmittedDelivery, runId: string): void {
    if (this.state !== 'waiting') return;
    this.delivery = delivery;
    this.runId = runId;
    this.state = 'open';
    this.told(true);
  }

  /** The route's pass does not deliver at admission (its window is closed, its target did not connect); does nothing once opened. */
  refuse(): void {
    if (this.state !== 'waiting') return;
    this.state = 'refused';
    this.told(false);
  }

  /** Whether the next batch should be admitted `delivering` for this route, to be fed here. */
  takes(): boolean {
    return this.state === 'open' && !this.failed && this.held.fresh.length + this.queued < this.room;
  }

  /** Feeds submissions admitted `delivering` for this route (mapped as `results`), without waiting for their delivery; a feed that is not open takes nothing (what it was given is left to the route's lease and claim). */
  push(fresh: Settling[], results: MapResult[]): void {
    if (this.state !== 'open') return;
    this.held.fresh.push(...fresh);
    this.held.results.push(...results);
    if (this.held.fresh.length >= this.batchSize) this.handOn(Math.floor(this.held.fresh.length / this.batchSize) * this.batchSize);
  }

  /** The reading is over (`finished` false: it failed): the rest is handed on, and once the delivery has taken everything the route's pass goes on. */
  async end(finished: boolean): Promise<void> {
    this.handOn(this.held.fresh.length);
    if (this.state === 'open') this.state = 'ended';
    this.refuse();
    await this.pump;
    this.finish(finished);
  }

  /** Hands the first `n` records held on to the delivery, after those handed on before. */
  private handOn(n: number): void {
    if (!n || this.state !== 'open') return;
    const fresh = this.held.fresh.splice(0, n);
    const results = this.held.results.splice(0, n);
    this.queued += n;
    this.pump = this.pump.then(async () => {
      try {
        // After a fatal error the rest is left to the route's lease and claim: the route's pass meets the error again when it drains its delivery, and stops, giving its leases up.
        if (!this.failed) await this.delivery!.deliver(fresh, results);
      } catch {
        this.failed = true;
      } finally {
        this.queued -= n;
      }
    });
  }
}

/**
 * A route's delivery while the routed pass reads: opens `feed` (once
 * `connect` resolves) when the route may write at `now`, delivers what it
 * is fed until the reading ends, and resolves to its counts (with what the
 * mapping rejected at admission) and whether the reading finished.
 * Refuses the feed when the route may not write now or `connect` throws
 * (rethrown), so the reading records the route's submissions `received`.
 */
export async function deliverFed(
  p: FlowPipeline,
  ledger: FlowLedger,
  runId: string,
  opts: PassOptions,
  ctx: Ctx,
  feed: LaneFeed,
  held: HeldRecords,
  now: Date,
  connect: () => Promise<void>,
): Promise<DeliverCounts & { finished: boolean }> {
  const counts: DeliverCounts = { rejected: 0, delivered: 0, failed: 0, dead: 0 };
  try {
    if (p.writeAllowed(now)) {
      await connect();
      const delivery = admittedDelivery(p, ledger, runId, opts, ctx, counts, held);
      feed.open(delivery, runId);
      const finished = await feed.ended;
      await delivery.drain();
      counts.rejected += feed.rejected;
      return { ...counts, finished };
    }
  } finally {
    feed.refuse();
  }
  return { ...counts, finished: await feed.ended };
}
