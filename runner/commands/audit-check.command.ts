/**
 * `rekey audit check <pipeline> <reference> <FIELD> <VALUE>`: whether VALUE
 * is what was sent for FIELD (for `GROUP.FIELD`, whether any child row's
 * value was) in a delivery of the submission the reference names, from
 * the audit log's keyed hashes and the deployer's PII key. Exit 0 on a
 * match, 1 when it does not match. The value is never printed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadPiiKey } from '../../pipelines/audit/pii.js';
import { checkSentValue, sentCheckText } from '../../pipelines/audit/sent-check.js';
import { findSubmission } from '../../pipelines/ledger/lookup.js';
import type { CommandResult } from '../cli.js';
import { printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

/** The PII key as the runner hashed with: `REKEY_AUDIT_PII_KEY`, else its `_FILE`, else `.rekey/audit-pii.key`; never created here. */
function auditorKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.REKEY_AUDIT_PII_KEY) return loadPiiKey(env);
  return loadPiiKey({ REKEY_AUDIT_PII_KEY_FILE: resolve(env.REKEY_AUDIT_PII_KEY_FILE ?? '.rekey/audit-pii.key') });
}

/** Adds `check` to the `audit` command. */
export function auditCheckCommand(audit: Command, result: CommandResult): void {
  withStateOptions(audit.command('check').description('check whether VALUE is what was sent for FIELD of a submission, from the audit log (exit 1 if not); the value is never printed'))
    .argument('<pipeline>', 'pipeline name')
    .argument('<reference>', 'the submission: its key, form reference, legacy reference or an unambiguous prefix')
    .argument('<field>', 'target field as the mapping names it; GROUP.FIELD for a child row field')
    .argument('<value>', 'the value to check')
    .action(async (pipeline: string, reference: string, field: string, value: string, opts: StateOptions) => {
      const key = auditorKey();
      const check = await withLedger(opts.state, async (ledger, _audit, store) => {
        const found = await findSubmission(store, pipeline, reference);
        return checkSentValue(await ledger.history(pipeline, found.key), found.key, field, value, key);
      });
      result.code = check.match ? 0 : 1;
      if (opts.json) printJson({ pipeline, ...check });
      else process.stdout.write(sentCheckText(check));
    });
}
