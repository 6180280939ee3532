/**
 * `rekey replay PIPELINE REFERENCE`: sends a delivered or rejected
 * submission, named by any reference (see `findSubmission`), through again
 * (audited `replayed`, with the operator as actor). Exit 1 when the
 * reference is unknown or ambiguous, or the submission not delivered/rejected.
 */
import type { Command } from 'commander';
import { resolveReference } from '../../pipelines/audit/story.js';
import { operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

/** Registers `replay`. */
export function replayCommand(program: Command): void {
  withStateOptions(program.command('replay').description('send a delivered or rejected submission through again').argument('<pipeline>').argument('<reference>', 'key, form reference, legacy reference or the start of one'))
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: StateOptions & { operator?: string }) => {
      const actor = operatorActor(opts.operator);
      const key = await withLedger(opts.state, async (l, _a, store) => {
        const key = await resolveReference(store, pipeline, reference);
        await l.replay(pipeline, key, actor);
        return key;
      });
      if (opts.json) return printJson({ pipeline, replayed: key });
      process.stdout.write(`replaying ${key} of ${pipeline} (queued as received) as ${actor}\n`);
    },
    );
}
