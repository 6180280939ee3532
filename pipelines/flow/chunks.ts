/**
 * The chunked path of a pass, for sources that hand over raw byte chunks
 * (`Source.chunks`): chunks are parsed by the parser each names, keyed,
 * hashed and mapped (on worker threads when a pool is given), while the
 * main thread admits each chunk into the ledger and delivers it. Bodies
 * are sealed where the chunk is mapped, so the main thread only writes
 * them. Several
 * chunks are in the workers at once, so mapping runs alongside the main
 * thread's database work.
 */
import { basename } from 'node:path';
import type { ByteChunk, Ctx, Source } from '../../connectors/connector.types.js';
import type { MapResult } from '../../mappings/index.js';
import type { IncomingSubmission, SealedSent } from '../ledger/ledger.types.js';
import { admit, type Door } from './admission.js';
import type { DeliverCounts, HeldRecords } from './deliver.js';
import { admittedDelivery, admittedMove, admittedPart } from './admitted.js';
import type { IngestCounts } from './ingest.js';
import type { BodySeal, ChunkResult } from './chunk.types.js';
import { sealedParts, sharedTextParts, type SealedChunk } from './sealed-chunk.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';

/** A source that offers raw byte chunks. */
export type ChunkSource = Source & Required<Pick<Source, 'chunks'>>;

/** Maps chunks: a worker pool, or `mapChunk` on this thread; with `seal`, returns the bodies sealed (`ChunkResult.sealed`). */
export type ChunkMapper = (chunk: ByteChunk, seal?: BodySeal) => Promise<ChunkResult>;

/** Record `i`'s sent copy as a worker sealed it, under its body's data key; undefined where the chunk was not sealed or the mapping rejected it. */
function sentCopy(chunk: SealedChunk | undefined, sealed: Uint8Array | null | undefined, i: number): SealedSent | undefined {
  return chunk && sealed ? { sealed, dek: chunk.deks[i]! } : undefined;
}

/** Whether a source offers raw chunks. */
export function hasChunks(source: Source): source is ChunkSource {
  return typeof source.chunks === 'function';
}

/**
 * Reads, records and delivers every chunk. New submissions are recorded
 * already leased to this runner and, when the legacy system may be written
 * to now, already moved on: `delivering` if the mapping took them,
 * `rejected` if not, in the transaction that records them. Recording a
 * chunk, delivering the one before and recording the outcomes of the one
 * before that overlap (the ledger and the target are different databases);
 * deliveries stay in order, one batch at a time. Records the target
 * holds go into `held` for the pass to flush. Returns the counts of both halves of a pass.
 */
export async function passByChunks(
  p: FlowPipeline & { source: ChunkSource },
  ledger: FlowLedger,
  runId: string,
  opts: PassOptions,
  ctx: Ctx,
  mapChunk: ChunkMapper,
  inFlight: number,
  held: HeldRecords,
): Promise<IngestCounts & DeliverCounts> {
  const counts = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0 };
  const writeOpen = p.writeAllowed(opts.now?.() ?? new Date());
  const version = p.mapping.version;
  const queue: Promise<{ r: ChunkResult; file: string }>[] = [];
  // Bodies are sealed where chunks are mapped, under the ledger's current key, so the main thread only writes them.
  const sealKey = ledger.bodySealKey?.();
  const seal: BodySeal | undefined = sealKey && { pipeline: p.name, kid: sealKey.id, key: new Uint8Array(sealKey.key) };
  const door: Door = { pipeline: p.name, ledger, runId, actor: opts.actor, log: opts.log, crash: opts.crash };
  const delivery = admittedDelivery(p, ledger, runId, opts, ctx, counts, held, () =>
    opts.onProgress?.({ phase: 'reading', read: counts.read, done: counts.delivered + counts.rejected, pending: counts.receivedNew }),
  );
  const record = async ({ r, file }: { r: ChunkResult; file: string }) => {
    const name = basename(file);
    for (const e of r.errors) opts.log.warn({ pipeline: p.name, line: e.line, code: e.code }, `unreadable record: ${e.message}`);
    counts.unreadable += r.errors.length;
    counts.read += r.keys.length;
    if (!r.keys.length) return;
    const results = JSON.parse(r.results) as MapResult[];
    const sent = r.sent && sharedTextParts(r.sent);
    const sealed = r.sealed && sealedParts(r.sealed);
    const items: IncomingSubmission[] = r.keys.map((key, i) => {
      const item: IncomingSubmission = { key, contentHash: r.hashes[i]!, body: undefined, source: `${name}:${r.lines[i]}` };
      if (sealed) item.sealedBody = { body: sealed.bodies[i]!, kid: r.sealed!.kid, dek: r.sealed!.deks[i]! };
      else item.bodyJson = r.bodies[i]!;
      const result = results[i]!;
      if (writeOpen) item.then = admittedMove(result, version);
      return item;
    });
    const lease = writeOpen ? { owner: opts.owner, leaseMs: opts.leaseMs } : undefined;
    const outcomes = await admit(door, items, counts, { lease, target: p.targetName, mappingVersion: version });
    if (!writeOpen) return;
    const part = admittedPart(outcomes, results, (i) => ({ key: r.keys[i]!, state: 'delivering', attempts: 0, uncertain: false, sent: sent?.[i] ?? undefined, sentSealed: sentCopy(r.sealed, sealed?.sent[i], i) }));
    counts.rejected += part.rejected;
    await delivery.deliver(part.fresh, part.results);
  };
  const take = async () => record(await queue.shift()!);
  for await (const chunk of p.source.chunks(ctx)) {
    if (opts.signal.aborted) break;
    const file = chunk.file;
    queue.push(mapChunk(chunk, seal).then((r) => ({ r, file })));
    if (queue.length >= inFlight) await take();
  }
  while (queue.length) {
    if (opts.signal.aborted) {
      await Promise.allSettled(queue.splice(0));
      break;
    }
    await take();
  }
  await delivery.drain();
  return counts;
}
