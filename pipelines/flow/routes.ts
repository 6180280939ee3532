/**
 * A pass of a pipeline with routes (docs/routes.md): one submission told to
 * several back offices, each through its own route.
 *
 * The source is read once. Each submission is keyed once and, for every
 * route whose `when` holds, recorded in that route's lane of the ledger
 * (`<pipeline>~<route>`, its own row, sealed body and audit trail) before
 * the source may let go of it; one no route applies to is recorded in the
 * pipeline's own ledger, rejected with `NO_ROUTE_APPLIES`. Each route runs
 * a delivery pass of its own over its lane, beside the reading: its
 * mapping, target, batch, limits, window and retries, its claims, leases,
 * dead letters and corrections, exactly as a single-target pipeline. What
 * the reading admits for a route that may write now is mapped, recorded
 * `delivering` and handed to the route's pass as it is admitted (see
 * `LaneFeed`); the rest the route claims once the reading is over. A
 * route that fails does not stop the others.
 *
 * A case is the lanes' rows of one key: complete when every lane holds it
 * delivered, needing attention when one holds it rejected or dead (see
 * `pipelines/ledger/cases.ts`).
 */
import { basename } from 'node:path';
import type { Ctx, Source, SourceItem } from '../../connectors/connector.types.js';
import { errorData, type ErrorData } from '../../lib/errors.js';
import type { CompiledMapping, MapResult } from '../../mappings/index.js';
import type { RoutePredicate } from '../../mappings/route-condition.js';
import type { LanePart } from '../ledger/ledger.receive.js';
import type { IncomingSubmission, ReceiveOutcome, RunSummary } from '../ledger/ledger.types.js';
import { PipelineCodes } from '../pipeline.errors.js';
import { admit, admitLanes, identify, IdenticalRecords } from './admission.js';
import { passFailure, runPass } from './pass.js';
import { admittedMove, admittedPart, LaneFeed } from './admitted.js';
import type { CaseHashes } from './deliver.js';
import type { FlowLedger, FlowPipeline, PassOptions, PassResult } from './flow.types.js';

/** One route as a pass runs it: its single-target pipeline (named `<pipeline>~<route>`) and its condition. */
export interface FlowRoute {
  /** The route's name. */
  name: string;
  /** The route's pipeline; its `source` is not read (the routed pass reads the pipeline's). */
  flow: FlowPipeline;
  /** Absent: the route always applies. */
  applies?: RoutePredicate;
  /** The routes it waits for: it is told of a case once each of them that holds it has delivered it, its condition read then. */
  after?: string[];
}

/** A pipeline with routes, ready to run. */
export interface RoutedPipeline {
  name: string;
  definitionVersion?: string;
  source: Source;
  /** The mapping that keys submissions (the first route's: every route's keys alike). */
  keyMapping: CompiledMapping;
  /** Submissions recorded per transaction while reading. */
  batchSize: number;
  routes: FlowRoute[];
  /** Deliver the routes told at once one after the other, not side by side. */
  sequential?: boolean;
}

/** How a routed pass went: the reading (cases), then each route's delivery pass. */
export interface RoutedPassResult {
  /** The pass that read the source, under the pipeline's name: read, new cases, duplicates, conflicts, unreadable, and `rejected` for submissions no route applies to. */
  intake: PassResult;
  /** Per route, in the order written: its pass, or the error that stopped it (the other routes went on). */
  routes: { name: string; lane: string; result?: PassResult; error?: ErrorData }[];
  /** Deliveries recorded per route while reading (a case counts once in `intake`, once per route told here). */
  told: Record<string, number>;
}

/** A source with nothing to read: a route's own pass delivers from its lane only. */
const NOTHING_TO_READ: Source = {
  // eslint-disable-next-line require-yield -- reads nothing, by design
  async *read() {
    return;
  },
  close: async () => undefined,
};

function sourceOf(item: SourceItem): string {
  return `${basename(item.at.file)}:${item.at.line ?? `#${item.at.record}`}`;
}

/** The routes told of `body` as it is read, in order (never one that waits for others); a condition that throws counts as holding, so the route's own mapping reports the record. */
function routesFor(p: RoutedPipeline, body: unknown): boolean[] {
  return p.routes.map((r) => (r.after ? false : applies(r, body)));
}

/** Whether route `r`'s condition holds for `body`. */
function applies(r: FlowRoute, body: unknown): boolean {
  if (!r.applies) return true;
  try {
    return r.applies(body, r.flow.mapping.map(body).record);
  } catch {
    return true;
  }
}

/** What a lane's audit entry says of a submission's routing: the routes told and not told (their condition was false), by name. */
function routeNote(p: RoutedPipeline, applies: readonly boolean[]): Record<string, unknown> {
  const told = p.routes.filter((_, i) => applies[i]).map((r) => r.name);
  const notTold = p.routes.filter((r, i) => !applies[i] && !r.after).map((r) => r.name);
  const later = p.routes.filter((r) => r.after).map((r) => r.name);
  return { routes: { told, notTold, ...(notTold.length && { why: 'when' }), ...(later.length && { later }) } };
}

/** The error a submission no route applies to is rejected with: the routes by name, never a value. */
export function noRouteError(p: RoutedPipeline): ErrorData {
  return errorData(PipelineCodes.NO_ROUTE_APPLIES, `no route applies: the condition of each route is false (${p.routes.filter((r) => !r.after).map((r) => r.name).join(', ')})`);
}

/** The case-level outcome of one submission from its outcomes in each lane it went to. */
function caseOutcome(outcomes: ReceiveOutcome[]): ReceiveOutcome {
  if (outcomes.includes('conflict')) return 'conflict';
  if (outcomes.includes('new')) return 'new';
  return 'duplicate';
}

/**
 * Runs one pass of a routed pipeline: reads the source into the routes'
 * lanes (and a submission no route applies to, rejected, into the
 * pipeline's own ledger), lets the source commit, routes again any the
 * pipeline's ledger holds as received (an operator's `rekey replay` of a
 * NO_ROUTE_APPLIES), while the routes told at once deliver beside it, and
 * lets their passes deliver what else is due; then the routes that wait.
 * Rejects only when reading fails (the run recorded as failed; the routes
 * deliver what was handed to them, then stop); a route's fatal error is
 * reported in its result, after the other routes ran.
 */
export async function runRoutedPass(p: RoutedPipeline, ledger: FlowLedger, opts: PassOptions): Promise<RoutedPassResult> {
  const routes: RoutedPassResult['routes'] = [];
  // A route maps its own claims on this thread: the caller's mapping options are for one mapping.
  const { mapChunk: _chunks, mapMany: _many, chunksInFlight: _ahead, ...laneOpts } = opts;
  const failed = (r: FlowRoute, e: unknown, what: string): RoutedPassResult['routes'][number] => {
    const error = passFailure(e);
    opts.log.error({ pipeline: p.name, route: r.name, code: error.code }, `route ${r.name} ${what}: ${error.message}`);
    return { name: r.name, lane: r.flow.name, error };
  };
  const deliverRoute = async (r: FlowRoute, feed?: LaneFeed): Promise<RoutedPassResult['routes'][number]> => {
    try {
      return { name: r.name, lane: r.flow.name, result: await runPass({ ...r.flow, source: NOTHING_TO_READ }, ledger, laneOpts, feed) };
    } catch (e) {
      feed?.refuse();
      return failed(r, e, 'stopped');
    }
  };
  // The routes told at once run beside the reading, side by side (each its own target and lane): each delivers what the
  // reading admits for it as it is admitted (see LaneFeed), then what else is due. Those that wait follow.
  const immediate = p.routes.filter((r) => !r.after);
  // A route may have two batches (its own or the reading's, the larger) waiting beyond the two on their way to its target.
  const feeds = new Map<FlowRoute, LaneFeed>(p.sequential ? [] : immediate.map((r) => [r, new LaneFeed(r.flow.batchSize, 2 * Math.max(r.flow.batchSize, p.batchSize))]));
  const passes = [...feeds].map(([r, feed]) => deliverRoute(r, feed));
  const endFeeds = (finished: boolean) => Promise.all([...feeds.values()].map((f) => f.end(finished)));
  let intake: Awaited<ReturnType<typeof readIntoRoutes>>;
  try {
    intake = await readIntoRoutes(p, ledger, opts, feeds);
  } catch (e) {
    await endFeeds(false);
    await Promise.all(passes);
    throw e;
  }
  await endFeeds(true);
  if (p.sequential) for (const r of immediate) routes.push(await deliverRoute(r));
  else routes.push(...(await Promise.all(passes)));
  for (const r of p.routes.filter((x) => x.after)) {
    if (opts.signal.aborted) break;
    try {
      intake.told[r.name] = await tellWaiting(p, r, ledger, intake.result.runId, opts);
    } catch (e) {
      routes.push(failed(r, e, 'could not be told of finished cases'));
      continue;
    }
    routes.push(await deliverRoute(r));
  }
  routes.sort((a, b) => p.routes.findIndex((r) => r.name === a.name) - p.routes.findIndex((r) => r.name === b.name));
  return { intake: intake.result, routes, told: intake.told };
}

/** How many ready cases a waiting route reads per query. */
const READY_PAGE = 1000;
/** The connector-state entry of a waiting route's lane: deliveries before this time were looked at. */
const SINCE_STATE = 'routes.after.since';

/**
 * Tells a route that waits for others (`after:`) of the cases now ready
 * for it: each key every awaited lane holding it holds delivered, read
 * from one of those lanes, admitted into the waiting route's lane if its
 * condition holds. Only deliveries recorded since the last look (less a
 * lease, for another runner's commits in flight) are read. Resolves to how
 * many it recorded.
 */
async function tellWaiting(p: RoutedPipeline, r: FlowRoute, ledger: FlowLedger, runId: string, opts: PassOptions): Promise<number> {
  const lanes = p.routes.filter((x) => r.after!.includes(x.name)).map((x) => x.flow.name);
  const state = ledger.connectorState(r.flow.name);
  const startedAt = opts.now?.() ?? new Date();
  const stored = await state.get(SINCE_STATE);
  let since = stored ? new Date(stored) : new Date(0);
  let told = 0;
  for (;;) {
    const page = await ledger.readyCases(lanes, r.flow.name, since, READY_PAGE);
    const items: IncomingSubmission[] = [];
    for (const c of page) {
      const row = await ledger.get(c.lane, c.key);
      if (!row || row.body === null || row.body === undefined || !applies(r, row.body)) continue;
      items.push({ key: c.key, contentHash: row.contentHash, body: row.body, source: c.lane, auditNote: { routes: { told: [r.name], after: r.after } } });
    }
    for (let i = 0; i < items.length; i += p.batchSize) {
      const outcomes = await admit({ pipeline: r.flow.name, ledger, runId, actor: opts.actor, log: opts.log, crash: opts.crash }, items.slice(i, i + p.batchSize), undefined, { mappingVersion: r.flow.mapping.version, mappingText: r.flow.mapping.canonical });
      told += outcomes.filter((o) => o === 'new').length;
    }
    const last = page[page.length - 1];
    if (page.length < READY_PAGE || !last || last.at.getTime() <= since.getTime()) break;
    since = last.at;
  }
  await state.set(SINCE_STATE, new Date(startedAt.getTime() - opts.leaseMs).toISOString());
  return told;
}

/**
 * Reads the source into the routes' lanes, a batch per transaction. A
 * route whose feed takes the batch (its pass is delivering, and keeping
 * up) gets its part mapped by its mapping and recorded already moved on
 * (`delivering`, leased to this runner, or `rejected` by the mapping), and
 * fed to its pass; any other route gets its part recorded `received`, for
 * its pass to claim.
 */
async function readIntoRoutes(p: RoutedPipeline, ledger: FlowLedger, opts: PassOptions, feeds: ReadonlyMap<FlowRoute, LaneFeed>): Promise<{ result: PassResult; told: Record<string, number> }> {
  const runId = await ledger.startRun(p.name, opts.actor, p.keyMapping.version, p.definitionVersion, p.keyMapping.canonical, opts.trigger);
  await Promise.all([...feeds.values()].map((f) => f.ready));
  const ctx: Ctx = { log: opts.log.child({ pipeline: p.name, run: runId }), signal: opts.signal, attempt: 1, state: ledger.connectorState(p.name), files: ledger.sealedFiles(p.name), crash: opts.crash, ...(opts.skipUnchanged && { skipUnchanged: true }) };
  const summary: RunSummary = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0 };
  const told: Record<string, number> = Object.fromEntries(p.routes.map((r) => [r.name, 0]));
  const noRoute = noRouteError(p);
  // `stored`: the body as the lanes store it (its JSON text parsed), which a route delivering at admission maps, as it would map it claimed.
  let pending: { item: IncomingSubmission & { bodyJson: string }; applies: boolean[]; stored?: unknown }[] = [];
  const storedBody = (x: (typeof pending)[number]) => (x.stored ??= JSON.parse(x.item.bodyJson));
  const lease = { owner: opts.owner, leaseMs: opts.leaseMs };
  let inBatch = new Set<string>();
  // The routes whose mapping text a committed batch stored (in `mapping_texts`, once by version): later batches need not send it again.
  const textStored = new Set<FlowRoute>();
  const identical = new IdenticalRecords(opts.log, p.name);
  const flush = async () => {
    if (!pending.length) return;
    const perCase: ReceiveOutcome[][] = pending.map(() => []);
    // One transaction for the batch: each lane's part (its own rows, bodies and `received` entry), and the unrouted part rejected in the pipeline's own ledger.
    const parts: { route?: FlowRoute; idx: number[]; part: LanePart; fed?: MapResult[] }[] = [];
    p.routes.forEach((route, r) => {
      const idx = pending.flatMap((x, i) => (x.applies[r] ? [i] : []));
      if (!idx.length) return;
      const { mapping } = route.flow;
      const fed = feeds.get(route)?.takes() ? idx.map((i) => mapping.map(storedBody(pending[i]!))) : undefined;
      const items = fed ? idx.map((i, j): IncomingSubmission => ({ ...pending[i]!.item, then: admittedMove(fed[j]!, mapping.version) })) : idx.map((i) => pending[i]!.item);
      const laneOpts = { mappingVersion: mapping.version, ...(!textStored.has(route) && { mappingText: mapping.canonical }), ...(fed && { lease, target: route.flow.targetName, thenRunId: feeds.get(route)!.runId }) };
      parts.push({ route, idx, fed, part: { pipeline: route.flow.name, items, opts: laneOpts } });
    });
    const unrouted = pending.flatMap((x, i) => (x.applies.some(Boolean) ? [] : [i]));
    if (unrouted.length) {
      const items = unrouted.map((i): IncomingSubmission => ({ ...pending[i]!.item, then: { to: 'rejected', error: noRoute } }));
      parts.push({ idx: unrouted, part: { pipeline: p.name, items, opts: { mappingVersion: p.keyMapping.version } } });
    }
    const outcomes = await admitLanes({ ledger, runId, actor: opts.actor, log: opts.log, crash: opts.crash }, parts.map((x) => x.part));
    for (const x of parts) if (x.route) textStored.add(x.route);
    // The routes delivering a case at admission share the keyed hashes of its values (a value two offices are sent is hashed once for the case).
    const fedTo = pending.map(() => 0);
    for (const { fed, idx } of parts) if (fed) for (const i of idx) fedTo[i]!++;
    const shared = new Map<number, CaseHashes>();
    const caseHashes = (i: number): CaseHashes | undefined => {
      if (fedTo[i]! < 2) return undefined;
      let h = shared.get(i);
      if (!h) shared.set(i, (h = new Map()));
      return h;
    };
    parts.forEach(({ route, idx, fed }, k) => {
      outcomes[k]!.forEach((o, j) => {
        perCase[idx[j]!]!.push(o);
        if (o !== 'new') return;
        if (route) told[route.name]!++;
        else summary.rejected++;
      });
      const feed = route && fed && feeds.get(route);
      if (!feed) return;
      const part = admittedPart(outcomes[k]!, fed, (j) => ({ key: pending[idx[j]!]!.item.key, state: 'delivering', attempts: 0, uncertain: false, caseHashes: caseHashes(idx[j]!) }));
      feed.rejected += part.rejected;
      feed.push(part.fresh, part.results);
    });
    for (const o of perCase) {
      const c = caseOutcome(o);
      if (c === 'new') summary.receivedNew++;
      else if (c === 'duplicate') summary.duplicates++;
      else summary.conflicts++;
    }
    pending = [];
    inBatch = new Set();
    opts.onProgress?.({ phase: 'reading', read: summary.read, done: 0, pending: summary.receivedNew });
  };
  let failure: ErrorData | undefined;
  try {
    for await (const item of p.source.read(ctx)) {
      if (opts.signal.aborted) break;
      if (!item.ok) {
        summary.unreadable++;
        opts.log.warn({ pipeline: p.name, at: `${item.at.file}:${item.at.line ?? `#${item.at.record}`}`, code: item.error.code }, `unreadable record: ${item.error.message}`);
        continue;
      }
      summary.read++;
      const { key, contentHash, byContent } = identify(p.keyMapping, item.body, item.positionKey);
      if (byContent) identical.seen(key, basename(item.at.file), String(item.at.line ?? `#${item.at.record}`));
      if (inBatch.has(key)) await flush();
      inBatch.add(key);
      const applies = routesFor(p, item.body);
      // The body's JSON text once for every lane it is recorded in.
      pending.push({ item: { key, contentHash, body: item.body, bodyJson: JSON.stringify(item.body ?? null), source: sourceOf(item), auditNote: routeNote(p, applies) }, applies });
      if (pending.length >= p.batchSize) await flush();
    }
    await flush();
    if (!opts.signal.aborted) await p.source.commit?.(ctx);
    if (!opts.signal.aborted) await reroute(p, ledger, runId, opts, summary, told);
  } catch (e) {
    failure = passFailure(e);
    await ledger.release(p.name, opts.owner).catch(() => undefined);
    await ledger.finishRun(runId, summary, failure).catch((err: unknown) => ctx.log.error({ err }, 'could not record the failed run'));
    throw e;
  } finally {
    await p.source.close().catch((e: unknown) => ctx.log.error({ err: e }, 'could not close the source'));
  }
  await ledger.finishRun(runId, summary);
  return { result: { ...summary, runId, waitingRetry: 0 }, told };
}

/**
 * Submissions the pipeline's own ledger holds as received: rejected with
 * NO_ROUTE_APPLIES once, then sent back by an operator (`rekey replay`),
 * or pushed to `rekey serve` (a webhook admits into the pipeline's own
 * ledger, acknowledged once recorded there). Each is routed
 * again under the conditions as they are now: into the lanes that apply
 * (its row then `delivered`, legacy reference `routes:<names>`), or
 * rejected again.
 */
async function reroute(p: RoutedPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, summary: RunSummary, told: Record<string, number>): Promise<void> {
  for (;;) {
    const claimed = await ledger.claim(p.name, opts.owner, p.batchSize, opts.leaseMs);
    if (!claimed.length) return;
    const routedKeys: { key: string; names: string[] }[] = [];
    const rejected: string[] = [];
    for (const c of claimed) {
      const applies = routesFor(p, c.body);
      const names = p.routes.filter((_, i) => applies[i]).map((r) => r.name);
      if (!names.length) {
        rejected.push(c.key);
        continue;
      }
      for (let r = 0; r < p.routes.length; r++) {
        if (!applies[r]) continue;
        const route = p.routes[r]!;
        const [o] = await admit({ pipeline: route.flow.name, ledger, runId, actor: opts.actor, log: opts.log }, [{ key: c.key, contentHash: c.contentHash, body: c.body, source: p.name, auditNote: routeNote(p, applies) }], undefined, { mappingVersion: route.flow.mapping.version, mappingText: route.flow.mapping.canonical });
        if (o === 'new') told[route.name]!++;
      }
      routedKeys.push({ key: c.key, names });
    }
    if (routedKeys.length) {
      await ledger.apply(p.name, runId, routedKeys.map((x) => ({ key: x.key, to: 'delivering' as const })), opts.actor, { owner: opts.owner, mappingVersion: p.keyMapping.version });
      await ledger.apply(p.name, runId, routedKeys.map((x) => ({ key: x.key, to: 'delivered' as const, legacyRef: `routes:${x.names.join(',')}` })), opts.actor, { owner: opts.owner, mappingVersion: p.keyMapping.version, target: 'routes' });
      summary.receivedNew += routedKeys.length;
    }
    if (rejected.length) {
      await ledger.apply(p.name, runId, rejected.map((key) => ({ key, to: 'rejected' as const, error: noRouteError(p) })), opts.actor, { owner: opts.owner, mappingVersion: p.keyMapping.version });
      summary.rejected += rejected.length;
    }
  }
}
