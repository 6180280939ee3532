/**
 * The `rekey` command. Each subcommand lives in runner/commands/ and is
 * listed here once. Exit codes: 0 success, 1 the work found problems
 * (invalid files, rejected records, failed cases) or stopped on an error,
 * 2 usage error. A coded error is printed as `rekey: CODE message` with
 * its catalogue hint on the next line; any other as `rekey: message`;
 * a stack only with the global `--debug`.
 */
import { Command, CommanderError } from 'commander';
import { isCoded } from '../lib/errors.js';
import { scrubMessage } from '../lib/redact.js';
import { catalogued } from './errors.catalogue.js';
import { UsageError } from './runtime.js';
import { validateCommand } from './commands/validate.command.js';
import { previewCommand } from './commands/preview.command.js';
import { testCommand } from './commands/test.command.js';
import { runCommand } from './commands/run.command.js';
import { serveCommand } from './commands/serve.command.js';
import { statusCommand } from './commands/status.command.js';
import { dlqCommand } from './commands/dlq.command.js';
import { replayCommand } from './commands/replay.command.js';
import { auditCommand } from './commands/audit.command.js';
import { filesCommand } from './commands/files.command.js';
import { keysCommand } from './commands/keys.command.js';
import { purgeCommand } from './commands/purge.command.js';
import { eraseCommand } from './commands/erase.command.js';
import { evidenceCommand } from './commands/evidence.command.js';
import { showCommand } from './commands/show.command.js';
import { controlsCommand } from './commands/controls.command.js';
import { consoleCommand } from './commands/console.command.js';
import { recordCommand } from './commands/record.command.js';
import { stepsCommand } from './commands/steps.command.js';

/** Exit code for a command line that could not be understood. */
export const EXIT_USAGE = 2;

/** Where a command leaves its exit code. */
export interface CommandResult {
  code: number;
}

/** Builds the CLI program; commands report their exit code through `result`. */
export function buildProgram(result: CommandResult): Command {
  const program = new Command('rekey')
    .description('Keys online form submissions into legacy back-office systems.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .option('--debug', 'print the stack of an error as well as its message')
    .showHelpAfterError('(run rekey --help for usage)')
    .exitOverride();
  for (const add of [validateCommand, previewCommand, testCommand, runCommand, serveCommand, statusCommand, dlqCommand, replayCommand, auditCommand, filesCommand, keysCommand, purgeCommand, eraseCommand, evidenceCommand, showCommand, consoleCommand, controlsCommand, recordCommand, stepsCommand]) add(program, result);
  return program;
}

/**
 * What the CLI prints for an error that stopped a command: `rekey: CODE
 * message` and the catalogue's hint for a coded error, `rekey: message`
 * for any other; with `debug`, the stack after it.
 */
export function describeError(e: unknown, debug: boolean): string {
  const stack = debug && e instanceof Error && e.stack ? `${e.stack}\n` : '';
  if (isCoded(e)) {
    const hint = catalogued(e.code)?.hint;
    return `rekey: ${e.code} ${e.message}\n${hint ? `  ${hint}\n` : ''}${stack}`;
  }
  const message = e instanceof Error ? e.message || e.name : String(e);
  return `rekey: ${scrubMessage(message)}\n${stack}`;
}

/**
 * Makes a broken pipe on `stream` (standard output read by `head`, a pager
 * quit early) end the process quietly with `exit(0)`: the reader has all it
 * wanted. Any other error of the stream is thrown as before.
 */
export function endQuietlyOnBrokenPipe(stream: NodeJS.WriteStream, exit: (code: number) => void): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    exit(0);
  });
}

/** Runs the CLI with `argv` and resolves to the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const result: CommandResult = { code: 0 };
  const program = buildProgram(result);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`rekey: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    process.stderr.write(describeError(e, argv.includes('--debug')));
    return 1;
  }
  return result.code;
}
