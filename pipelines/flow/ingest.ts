/**
 * Reading a pull source into the ledger: every submission read goes
 * through the admission door (recorded durably before anything else
 * happens to it); unreadable records are counted and reported with their
 * location, never dropped silently.
 */
import { basename } from 'node:path';
import type { Ctx, SourceItem } from '../../connectors/connector.types.js';
import type { IncomingSubmission, RunSummary } from '../ledger/ledger.types.js';
import { admit, identify, IdenticalRecords, type Door } from './admission.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';

/** Counts that reading a source adds to a run's summary. */
export type IngestCounts = Pick<RunSummary, 'read' | 'receivedNew' | 'duplicates' | 'conflicts' | 'unreadable'>;

/** Where a record came from, as the ledger keeps it: the file's name (not its folder) and the line, else `#` and the record number. */
function sourceOf(item: SourceItem): string {
  const at = item.at;
  return `${basename(at.file)}:${at.line ?? `#${at.record}`}`;
}

function location(item: SourceItem): string {
  const at = item.at;
  return `${at.file}:${at.line ?? `#${at.record}`}`;
}

/**
 * Reads everything the source has now into the ledger in batches (a key
 * repeated within a batch starts the next one), then lets the source
 * commit (it may release its input only once all is recorded).
 */
export async function ingest(p: FlowPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, ctx: Ctx): Promise<IngestCounts> {
  const counts: IngestCounts = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0 };
  const door: Door = { pipeline: p.name, ledger, runId, actor: opts.actor, log: opts.log, crash: opts.crash };
  let batch: IncomingSubmission[] = [];
  let inBatch = new Set<string>();
  const identical = new IdenticalRecords(opts.log, p.name);
  const flush = async () => {
    if (!batch.length) return;
    await admit(door, batch, counts, { mappingVersion: p.mapping.version });
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
    const { key, contentHash, byContent } = identify(p.mapping, item.body, item.positionKey);
    if (byContent) identical.seen(key, basename(item.at.file), String(item.at.line ?? `#${item.at.record}`));
    if (inBatch.has(key)) await flush();
    inBatch.add(key);
    batch.push({ key, contentHash, body: item.body, source: sourceOf(item) });
    if (batch.length >= p.batchSize) await flush();
  }
  await flush();
  if (!opts.signal.aborted) await p.source.commit?.(ctx);
  return counts;
}
