/**
 * `rekey erase PIPELINE REFERENCE --reason TEXT`: the right to erasure of
 * the submission any reference names (see `findSubmission`). Destroys
 * the submission's body and data key, its conflicts and files (see
 * pipelines/privacy/erase.ts); the ledger row and the audit trail stay.
 * Audited `erased` with the operator and the reason. For a pipeline with
 * routes, the whole case: its row in the pipeline and in every route's
 * lane (`rekey erase P~ROUTE REF` erases one route's only). Exit 1 when the
 * reference is unknown, ambiguous or only the start of a reference (an
 * erasure cannot be undone), or the submission still on its way or erased
 * already.
 */
import type { Command } from 'commander';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { findSubmission } from '../../pipelines/ledger/lookup.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { StateStore } from '../../pipelines/store/state-store.js';
import { eraseSubmission } from '../../pipelines/privacy/erase.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { operatorActor, printJson, withStateOptions, type StateOptions } from './status.command.js';
import { caseOf, resolveCase, routesOf } from '../../pipelines/ledger/cases.js';
import type { EraseResult } from '../../pipelines/privacy/erase.js';

/** States in which a runner may still hold a submission's body: not erased until they end. */
const ON_ITS_WAY = new Set(['received', 'mapped', 'delivering', 'failed']);

/**
 * Erases the case `reference` names in a pipeline with routes: its row in
 * the pipeline's own ledger and in every route's lane, each audited
 * `erased`. Refused, with nothing erased, for a prefix, or while any route
 * still has it on its way (erase it once every route holding it is done).
 */
async function eraseCase(store: StateStore, pipeline: string, reference: string, opts: { reason: string; actor: string }): Promise<{ key: string; erased: EraseResult[] }> {
  const key = await resolveCase(store, pipeline, reference);
  const c = await caseOf(store, pipeline, key);
  const holders = [...(c?.intake ? [c.intake] : []), ...(c?.routes ?? [])];
  const exact = await Promise.all(holders.map((h) => exactKey(store, h.pipeline, reference).then((k) => k === key, () => false)));
  if (!exact.some(Boolean)) await exactKey(store, holders[0]?.pipeline ?? pipeline, reference);
  const busy = holders.filter((h) => ON_ITS_WAY.has(h.state));
  if (busy.length) {
    throw new PipelineError(
      PipelineCodes.LEDGER_BAD_REQUEST,
      `${key} is still on its way in ${busy.map((h) => `${h.pipeline} (${h.state})`).join(', ')}: nothing was erased; erase the case once every route holding it is delivered, rejected, dead or discarded`,
    );
  }
  const audit = new AuditLog(store);
  const erased: EraseResult[] = [];
  for (const h of holders) {
    try {
      erased.push(await eraseSubmission(store, audit, h.pipeline, key, opts));
    } catch (e) {
      if ((e as { code?: string }).code !== PipelineCodes.SUBMISSION_ERASED.code) throw e;
    }
  }
  if (!erased.length) throw new PipelineError(PipelineCodes.SUBMISSION_ERASED, `${key} of ${pipeline} was erased before, in every route holding it`);
  return { key, erased };
}

/** The key `reference` names exactly (key, form or legacy reference): a prefix is refused with `LEDGER_BAD_REQUEST`, since an erasure cannot be undone. */
async function exactKey(store: StateStore, pipeline: string, reference: string): Promise<string> {
  const m = await findSubmission(store, pipeline, reference);
  if (m.by !== 'prefix') return m.key;
  throw new PipelineError(
    PipelineCodes.LEDGER_BAD_REQUEST,
    `${JSON.stringify(reference)} is only the start of ${JSON.stringify(m.key)}: an erasure cannot be undone, so give the full key, form reference or legacy reference`,
  );
}

/** Registers `erase`. */
export function eraseCommand(program: Command): void {
  withStateOptions(
    program
      .command('erase')
      .description('right to erasure: destroy a submission\'s body, data key, conflicts and files; its ledger row and audit trail stay')
      .argument('<pipeline>')
      .argument('<reference>', 'key, form reference or legacy reference (in full: an erasure cannot be undone)'),
  )
    .requiredOption('--reason <text>', 'why (kept on the audit log: a request reference, never personal data)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: StateOptions & { reason: string; operator?: string }, cmd: Command) => {
      if (!opts.reason.trim()) cmd.error('rekey: --reason must not be empty', { exitCode: 2, code: 'rekey.usage' });
      const actor = operatorActor(opts.operator);
      const store = await openStateStore(opts.state);
      if (!pipeline.includes('~') && (await routesOf(store, pipeline).catch(async (e: unknown) => { await store.close(); throw e; })).length) {
        const done = await eraseCase(store, pipeline, reference, { reason: opts.reason, actor }).finally(() => store.close());
        if (opts.json) return printJson(done);
        for (const d of done.erased) {
          process.stdout.write(`erased ${done.key} of ${d.pipeline} as ${actor}: ${d.bodies ? 'its body and data key' : 'no body (purged before)'}, ${d.conflicts} conflict(s) and ${d.files} file(s) destroyed\n`);
        }
        return;
      }
      const erase = async () => eraseSubmission(store, new AuditLog(store), pipeline, await exactKey(store, pipeline, reference), { reason: opts.reason, actor });
      const done = await erase().finally(() => store.close());
      const key = done.key;
      if (opts.json) return printJson(done);
      const body = done.bodies ? 'its body and data key' : 'no body (purged before)';
      process.stdout.write(`erased ${key} of ${pipeline} as ${actor}: ${body}, ${done.conflicts} conflict(s) and ${done.files} file(s) destroyed\n`);
    });
}
