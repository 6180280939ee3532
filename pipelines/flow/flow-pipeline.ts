/**
 * The flow's view of a pipeline definition: batch size, limits, retry
 * timing and write window turned into the {@link FlowPipeline} a pass runs.
 */
import type { CompiledMapping } from '../../mappings/index.js';
import type { Source, Target } from '../../connectors/connector.types.js';
import type { PipelineDef } from '../definition/pipeline.types.js';
import { isWriteAllowed, nextWriteTime } from '../definition/window.js';
import { backoffDelay } from '../definition/retry.js';
import type { FlowPipeline, PassResult } from './flow.types.js';
import type { RoutePredicate } from '../../mappings/route-condition.js';
import type { RoutedPassResult, RoutedPipeline } from './routes.js';

/** A checked definition with its mapping compiled and its connectors built (not yet connected). */
export interface BuiltPipeline {
  def: PipelineDef;
  /** `sha256:<hex>` of the definition as written. */
  version: string;
  mapping: CompiledMapping;
  source: Source;
  target: Target;
}

/** A built pipeline with routes: each route built as a pipeline of its own (`<pipeline>~<route>`) over the pipeline's source. */
export interface BuiltRoutedPipeline extends BuiltPipeline {
  routes: (BuiltPipeline & { name: string; applies?: RoutePredicate; after?: string[] })[];
}

/** The {@link RoutedPipeline} of `p`: each route's flow as {@link flowPipeline} makes it, keyed by the first route's mapping. */
export function routedPipeline(p: BuiltRoutedPipeline): RoutedPipeline {
  return {
    name: p.def.pipeline,
    definitionVersion: p.version,
    source: p.source,
    keyMapping: p.routes[0]!.mapping,
    batchSize: p.def.batch.size,
    routes: p.routes.map((r) => ({ name: r.name, flow: flowPipeline(r), ...(r.applies && { applies: r.applies }), ...(r.after && { after: r.after }) })),
  };
}

/**
 * One summary of a routed pass, for what reads a pass's counts (serve's
 * log, metrics and alerts): the intake's reading counts, the routes'
 * deliveries summed (a case told to three offices counts three
 * deliveries), the intake's run. A route stopped by an error counts
 * nothing.
 */
export function routedSummary(r: RoutedPassResult): PassResult {
  const out: PassResult = { ...r.intake };
  for (const route of r.routes) {
    const x = route.result;
    if (!x) continue;
    out.rejected += x.rejected;
    out.delivered += x.delivered;
    out.failed += x.failed;
    out.dead += x.dead;
    out.waitingRetry += x.waitingRetry;
    if (x.confirmed) out.confirmed = (out.confirmed ?? 0) + x.confirmed;
    if (x.rejectedByLegacy) out.rejectedByLegacy = (out.rejectedByLegacy ?? 0) + x.rejectedByLegacy;
    if (x.windowClosedUntil && !out.windowClosedUntil) out.windowClosedUntil = x.windowClosedUntil;
  }
  return out;
}

/**
 * The {@link FlowPipeline} of `p`: a batch never larger than one second of
 * the rate limit, retries timed by the definition's backoff, writes allowed
 * by its window (always, without one).
 */
export function flowPipeline(p: BuiltPipeline): FlowPipeline {
  const def = p.def;
  const rate = def.limits.ratePerSecond;
  const flow: FlowPipeline = {
    name: def.pipeline,
    definitionVersion: p.version,
    mapping: p.mapping,
    source: p.source,
    target: p.target,
    targetName: def.target.kind,
    batchSize: rate ? Math.max(1, Math.min(def.batch.size, Math.floor(rate))) : def.batch.size,
    concurrency: def.limits.concurrency,
    maxAttempts: def.retry.maxAttempts,
    retryDelay: (attempt) => backoffDelay(def.retry, attempt),
    writeAllowed: (now) => (def.window ? isWriteAllowed(def.window, now) : true),
    nextWriteTime: (now) => (def.window ? nextWriteTime(def.window, now) : now),
  };
  if (rate !== undefined) flow.ratePerSecond = rate;
  return flow;
}
