/**
 * A pool of mapping worker threads (piscina), so the main thread stays free
 * for I/O. Work is sent as text and transferred bytes; see pool.types.ts.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { MapResult } from '../../mappings/index.js';
import type { ByteChunk } from '../../connectors/connector.types.js';
import type { BodiesResult, BodiesTask, BodySeal, ChunkResult, ChunkTask } from '../../pipelines/flow/chunk.types.js';

/** Default pool size: one worker per core. */
export function defaultThreads(): number {
  return availableParallelism();
}

function workerFile(): { filename: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = fileURLToPath(new URL(ts ? './mapping.worker.ts' : './mapping.worker.js', import.meta.url));
  return { filename, execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** Worker threads that map submissions with one mapping file. */
export class MappingPool {
  private readonly piscina: Piscina;

  /**
   * Starts `threads` workers for the mapping at `mappingFile` (an absolute
   * path). With `piiKey`, chunks come back with the PII hashes the
   * audit log needs, computed on the workers. With `mappingVersion`, the
   * workers map with exactly that version of the file or fail the task.
   */
  constructor(
    readonly mappingFile: string,
    readonly threads: number = defaultThreads(),
    private readonly piiKey?: Buffer,
    readonly mappingVersion?: string,
  ) {
    const { filename, execArgv } = workerFile();
    this.piscina = new Piscina({ filename, minThreads: threads, maxThreads: threads, execArgv, idleTimeout: 60_000 });
  }

  /** Maps parsed bodies on the workers; results are in the same order. */
  async mapMany(bodies: unknown[]): Promise<MapResult[]> {
    const task: BodiesTask = { kind: 'bodies', mappingFile: this.mappingFile, json: JSON.stringify(bodies) };
    if (this.mappingVersion) task.mappingVersion = this.mappingVersion;
    const out = (await this.piscina.run(task)) as BodiesResult;
    return JSON.parse(out.results) as MapResult[];
  }

  /**
   * Parses (with the parser the chunk names), keys, hashes and maps one
   * chunk of a source's bytes; its bytes are transferred, not copied. With
   * `seal`, the workers also seal each body for the ledger.
   */
  async mapChunk(chunk: ByteChunk, seal?: BodySeal): Promise<ChunkResult> {
    const task: ChunkTask = { kind: 'chunk', mappingFile: this.mappingFile, ...chunk };
    if (this.piiKey) task.piiKey = this.piiKey;
    if (seal) task.seal = seal;
    if (this.mappingVersion) task.mappingVersion = this.mappingVersion;
    const buffer = chunk.bytes.buffer;
    const transfer = buffer instanceof ArrayBuffer && chunk.bytes.byteOffset === 0 && chunk.bytes.byteLength === buffer.byteLength ? [buffer] : [];
    return (await this.piscina.run(task, { transferList: transfer })) as ChunkResult;
  }

  /** Stops the workers once their current tasks finish. */
  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
