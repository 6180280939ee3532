/**
 * Reading a source into the ledger: every submission read is recorded
 * (durably) before anything else happens to it; unreadable records are
 * counted and reported with their location, never dropped silently.
 */
import type { Ctx, SourceItem } from '../../connectors/connector.types.js';
import type { IncomingSubmission, RunSummary } from '../ledger/ledger.types.js';
import { contentHash, submissionKey } from './submission-key.js';
import { crashPoint } from './crash-points.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';

/** Counts that ingest adds to a run's summary. */
export type IngestCounts = Pick<RunSummary, 'read' | 'receivedNew' | 'duplicates' | 'conflicts' | 'unreadable'>;

function location(item: SourceItem): string {
  const at = item.at;
  return `${at.file}:${at.line ?? `#${at.record}`}`;
}

/**
 * Reads everything the source has now into the ledger in batches, then lets
 * the source commit (it may release its input only once all is recorded).
 */
export async function ingest(p: FlowPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, ctx: Ctx): Promise<IngestCounts> {
  const counts: IngestCounts = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0 };
  let batch: IncomingSubmission[] = [];
  let inBatch = new Set<string>();
  const flush = async () => {
    if (!batch.length) return;
    const outcomes = await ledger.receive(p.name, runId, batch, opts.actor);
    crashPoint('after-receive');
    for (const o of outcomes) {
      if (o === 'new') counts.receivedNew++;
      else if (o === 'duplicate') counts.duplicates++;
      else counts.conflicts++;
    }
    const conflicted = batch.filter((_, i) => outcomes[i] === 'conflict').map((s) => s.key);
    if (conflicted.length) opts.log.warn({ pipeline: p.name, keys: conflicted }, 'same key arrived with different content: recorded as a conflict, not overwritten');
    batch = [];
    inBatch = new Set();
    opts.onProgress?.({ phase: 'reading', read: counts.read, done: 0, pending: counts.receivedNew });
  };
  for await (const item of p.source.read(ctx)) {
    if (opts.signal.aborted) break;
    if (!item.ok) {
      counts.unreadable++;
      opts.log.warn({ pipeline: p.name, at: location(item), code: item.error.code }, `unreadable record: ${item.error.message}`);
      continue;
    }
    counts.read++;
    const hash = contentHash(item.body);
    const key = submissionKey(p.mapping, item.body, hash);
    if (inBatch.has(key)) await flush();
    inBatch.add(key);
    batch.push({ key, contentHash: hash, body: item.body, source: location(item) });
    if (batch.length >= p.batchSize) await flush();
  }
  await flush();
  if (!opts.signal.aborted) await p.source.commit?.(ctx);
  return counts;
}
