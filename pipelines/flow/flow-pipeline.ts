/**
 * The flow's view of a pipeline definition: batch size, limits, retry
 * timing and write window turned into the {@link FlowPipeline} a pass runs.
 */
import type { CompiledMapping } from '../../mappings/index.js';
import type { Source, Target } from '../../connectors/connector.types.js';
import type { PipelineDef } from '../definition/pipeline.types.js';
import { isWriteAllowed, nextWriteTime } from '../definition/window.js';
import { backoffDelay } from '../definition/retry.js';
import type { FlowPipeline } from './flow.types.js';

/** A checked definition with its mapping compiled and its connectors built (not yet connected). */
export interface BuiltPipeline {
  def: PipelineDef;
  /** `sha256:<hex>` of the definition as written. */
  version: string;
  mapping: CompiledMapping;
  source: Source;
  target: Target;
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
