/**
 * One pass of a pipeline: read the source into the ledger, deliver what is
 * due, and store the run's reconciliation summary. A pass can be killed at
 * any moment; the next pass finishes the work (see the ledger's leases).
 * While it runs, the runner renews its leases every third of the lease
 * time, so a long pass (a file held open until the end) keeps its work.
 */
import { scrubMessage } from '../../lib/redact.js';
import type { Ctx } from '../../connectors/connector.types.js';
import { applyAnswers } from './answers.js';
import { ingest } from './ingest.js';
import { deliverDue, flushHeld, type HeldRecords } from './deliver.js';
import { releaseDeadLocalRunners } from './leases.js';
import { hasChunks, passByChunks } from './chunks.js';
import { deliverFed, type LaneFeed } from './admitted.js';
import type { FlowLedger, FlowPipeline, PassOptions, PassResult } from './flow.types.js';
import type { RunSummary } from '../ledger/ledger.types.js';
import { errorData, isCoded, type ErrorData } from '../../lib/errors.js';
import { PipelineCodes } from '../pipeline.errors.js';

/** What a pass that threw records as its failure: a coded error as it stands, anything else as `UNEXPECTED_ERROR` with its message scrubbed. */
export function passFailure(e: unknown): ErrorData {
  return isCoded(e) ? { code: e.code, disposition: e.disposition, message: e.message } : errorData(PipelineCodes.UNEXPECTED_ERROR, scrubMessage(e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
}

/**
 * Runs one pass. Resolves with the summary (also stored with the run);
 * rejects only for fatal errors (the target or store unusable), after
 * releasing this runner's leases so another pass can take the work and
 * recording the run as failed with the error's code (an error without
 * one as `UNEXPECTED_ERROR`). With `feed`, the pass is a route's of a
 * routed pass (its source reads nothing): it delivers what the reading
 * feeds it as the reading admits it, then what is due, unless the reading
 * failed.
 */
export async function runPass(p: FlowPipeline, ledger: FlowLedger, opts: PassOptions, feed?: LaneFeed): Promise<PassResult> {
  const runId = await ledger.startRun(p.name, opts.actor, p.mapping.version, p.definitionVersion, p.mapping.canonical, opts.trigger);
  const sessions = ledger.sessionSlots?.(p.name, p.concurrency);
  const ctx: Ctx = { log: opts.log.child({ pipeline: p.name, run: runId }), signal: opts.signal, attempt: 1, state: ledger.connectorState(p.name), files: ledger.sealedFiles(p.name), crash: opts.crash, ...(opts.skipUnchanged && { skipUnchanged: true }), ...(sessions && { sessions }) };
  if (ledger.pause) ctx.halt = (reason) => ledger.pause!(p.name, opts.actor, reason);
  const held: HeldRecords = new Map();
  const summary: RunSummary = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0 };
  let windowClosedUntil: string | undefined;
  let connected = false;
  let failure: ErrorData | undefined;
  let readingFailed = false;
  const heartbeat = setInterval(() => {
    ledger.renew(p.name, opts.owner, opts.leaseMs).catch((e: unknown) => ctx.log.error({ err: e }, 'could not renew leases'));
  }, Math.max(1000, Math.floor(opts.leaseMs / 3)));
  heartbeat.unref();
  const connect = async () => {
    await p.target.connect(ctx);
    connected = true;
    const a = await applyAnswers(p, ledger, runId, opts, ctx);
    if (a.confirmed) summary.confirmed = a.confirmed;
    if (a.rejectedByLegacy) summary.rejectedByLegacy = a.rejectedByLegacy;
  };
  try {
    await releaseDeadLocalRunners(p.name, ledger, opts.owner, ctx.log);
    const now = opts.now?.() ?? new Date();
    if (opts.mapChunk && hasChunks(p.source)) {
      if (p.writeAllowed(now)) await connect();
      Object.assign(summary, await passByChunks({ ...p, source: p.source }, ledger, runId, opts, ctx, opts.mapChunk, opts.chunksInFlight ?? 4, held));
      if (!opts.signal.aborted) await p.source.commit?.(ctx);
    } else if (feed) {
      const { finished, ...fed } = await deliverFed(p, ledger, runId, opts, ctx, feed, held, now, connect);
      Object.assign(summary, fed);
      readingFailed = !finished;
    } else Object.assign(summary, await ingest(p, ledger, runId, opts, ctx));
    if (!p.writeAllowed(now)) {
      windowClosedUntil = p.nextWriteTime(now)?.toISOString() ?? 'never';
      ctx.log.info({ next: windowClosedUntil }, 'the legacy system may not be written to now; submissions stay in the ledger');
    } else if (!opts.signal.aborted && !readingFailed) {
      if (!connected) await connect();
      const more = await deliverDue(p, ledger, runId, opts, ctx, held);
      for (const k of ['rejected', 'delivered', 'failed', 'dead'] as const) summary[k] += more[k];
    }
    if (connected) await flushHeld(p, ledger, runId, held, opts, ctx, summary);
  } catch (e) {
    failure = passFailure(e);
    throw e;
  } finally {
    clearInterval(heartbeat);
    await ledger.release(p.name, opts.owner).catch((e: unknown) => ctx.log.error({ err: e }, 'could not release leases'));
    if (connected) await p.target.close().catch((e: unknown) => ctx.log.error({ err: e }, 'could not close the target'));
    await p.source.close().catch((e: unknown) => ctx.log.error({ err: e }, 'could not close the source'));
    await sessions?.close();
    if (failure) await ledger.finishRun(runId, summary, failure).catch((e: unknown) => ctx.log.error({ err: e }, 'could not record the failed run'));
  }
  await ledger.finishRun(runId, summary);
  const waiting = (await ledger.counts(p.name))[p.name]?.failed ?? 0;
  const result: PassResult = { ...summary, runId, waitingRetry: waiting };
  if (windowClosedUntil !== undefined) result.windowClosedUntil = windowClosedUntil;
  return result;
}
