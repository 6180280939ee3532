/**
 * The mapping worker pools of a long-running runner (`rekey serve`): one
 * per pipeline, kept between its passes, and replaced when the pipeline's
 * mapping file, its version or its thread count changes.
 */
import { resolve } from 'node:path';
import { MappingPool } from './mapping-pool.js';

/** What a pool is made for. */
export interface PoolSpec {
  mappingFile: string;
  mappingVersion: string;
  /** Worker threads; 0 maps on the main thread (no pool). */
  threads: number;
}

/** Pools by pipeline name. */
export class PipelinePools {
  private readonly pools = new Map<string, MappingPool>();
  private closed = false;

  constructor(private readonly piiKey: Buffer) {}

  /**
   * The pool for `pipeline` as `spec` describes it, made on first use and
   * remade (the old one closed once its tasks finish) when the spec
   * changed; undefined for 0 threads. Throws once `close` was called.
   */
  async get(pipeline: string, spec: PoolSpec): Promise<MappingPool | undefined> {
    if (this.closed) throw new Error('the mapping pools are closed');
    const file = resolve(spec.mappingFile);
    const held = this.pools.get(pipeline);
    if (held && held.mappingFile === file && held.mappingVersion === spec.mappingVersion && held.threads === spec.threads) return held;
    this.pools.delete(pipeline);
    await held?.close();
    if (spec.threads <= 0) return undefined;
    const pool = new MappingPool(file, spec.threads, this.piiKey, spec.mappingVersion);
    this.pools.set(pipeline, pool);
    return pool;
  }

  /** Closes every pool (after their current tasks). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
