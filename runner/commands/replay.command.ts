/**
 * `rekey replay PIPELINE KEY`: sends a delivered or rejected submission
 * through again (audited `replayed`, with the operator as actor). Exit 1
 * when the submission is unknown or not delivered/rejected.
 */
import type { Command } from 'commander';
import { operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

/** Registers `replay`. */
export function replayCommand(program: Command): void {
  withStateOptions(program.command('replay').description('send a delivered or rejected submission through again').argument('<pipeline>').argument('<key>'))
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, key: string, opts: StateOptions & { operator?: string }) => {
      const actor = operatorActor(opts.operator);
      await withLedger(opts.state, (l) => l.replay(pipeline, key, actor));
      if (opts.json) return printJson({ pipeline, replayed: key });
      process.stdout.write(`replaying ${key} of ${pipeline} (queued as received) as ${actor}\n`);
    },
    );
}
