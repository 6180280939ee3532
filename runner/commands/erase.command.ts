/**
 * `rekey erase PIPELINE REFERENCE --reason TEXT`: the right to erasure of
 * the submission any reference names (see `findSubmission`). Destroys
 * the submission's body and data key, its conflicts and files (see
 * pipelines/privacy/erase.ts); the ledger row and the audit trail stay.
 * Audited `erased` with the operator and the reason. Exit 1 when the
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
      const erase = async () => eraseSubmission(store, new AuditLog(store), pipeline, await exactKey(store, pipeline, reference), { reason: opts.reason, actor });
      const done = await erase().finally(() => store.close());
      const key = done.key;
      if (opts.json) return printJson(done);
      const body = done.bodies ? 'its body and data key' : 'no body (purged before)';
      process.stdout.write(`erased ${key} of ${pipeline} as ${actor}: ${body}, ${done.conflicts} conflict(s) and ${done.files} file(s) destroyed\n`);
    });
}
