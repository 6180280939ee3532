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
import { rekeyVersion } from './package-info.js';
import { UsageError } from './runtime.js';

/** Exit code for a command line that could not be understood. */
export const EXIT_USAGE = 2;

/** Where a command leaves its exit code. */
export interface CommandResult {
  code: number;
}

/** Adds one subcommand to the program. */
type AddCommand = (program: Command, result: CommandResult) => void;

/** A module of runner/commands/: the subcommands it adds (as named on the command line), and how to load it. */
interface CommandModule {
  names: readonly string[];
  load(): Promise<AddCommand>;
}

/**
 * Every subcommand module, in the order `rekey --help` lists their
 * commands, each loaded only when asked for: a command line naming one
 * loads that one (loading all of them cost every start of `rekey` about
 * half a second of CPU).
 */
const COMMANDS: readonly CommandModule[] = [
  { names: ['validate'], load: async () => (await import('./commands/validate.command.js')).validateCommand },
  { names: ['preview'], load: async () => (await import('./commands/preview.command.js')).previewCommand },
  { names: ['test'], load: async () => (await import('./commands/test.command.js')).testCommand },
  { names: ['run'], load: async () => (await import('./commands/run.command.js')).runCommand },
  { names: ['serve'], load: async () => (await import('./commands/serve.command.js')).serveCommand },
  { names: ['status'], load: async () => (await import('./commands/status.command.js')).statusCommand },
  { names: ['dlq'], load: async () => (await import('./commands/dlq.command.js')).dlqCommand },
  { names: ['replay'], load: async () => (await import('./commands/replay.command.js')).replayCommand },
  { names: ['audit'], load: async () => (await import('./commands/audit.command.js')).auditCommand },
  { names: ['files'], load: async () => (await import('./commands/files.command.js')).filesCommand },
  { names: ['keys'], load: async () => (await import('./commands/keys.command.js')).keysCommand },
  { names: ['purge'], load: async () => (await import('./commands/purge.command.js')).purgeCommand },
  { names: ['erase'], load: async () => (await import('./commands/erase.command.js')).eraseCommand },
  { names: ['evidence'], load: async () => (await import('./commands/evidence.command.js')).evidenceCommand },
  { names: ['show'], load: async () => (await import('./commands/show.command.js')).showCommand },
  { names: ['console'], load: async () => (await import('./commands/console.command.js')).consoleCommand },
  { names: ['pause', 'resume', 'passes'], load: async () => (await import('./commands/controls.command.js')).controlsCommand },
  { names: ['record'], load: async () => (await import('./commands/record.command.js')).recordCommand },
  { names: ['steps'], load: async () => (await import('./commands/steps.command.js')).stepsCommand },
];

/** Every subcommand's name, in the order `rekey --help` lists them. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.flatMap((m) => m.names);

/**
 * The subcommand modules `argv` needs: the one adding the command it names
 * (its first word that is not an option; rekey's own options take no
 * value), else every one (for help, a misspelt command's suggestion, or no
 * command at all).
 */
function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const named = argv.find((a) => !a.startsWith('-'));
  const one = named === undefined ? undefined : COMMANDS.find((m) => m.names.includes(named));
  return one ? [one] : COMMANDS;
}

/** The subcommands loaded for `argv` (see `modulesFor`). */
export function commandsFor(argv: readonly string[]): string[] {
  return modulesFor(argv).flatMap((m) => m.names);
}

/** Builds the CLI program with the subcommands `argv` needs (all, when not given); commands report their exit code through `result`. */
export async function buildProgram(result: CommandResult, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('rekey')
    .description('Keys online form submissions into legacy back-office systems.')
    .version(rekeyVersion())
    .option('--debug', 'print the stack of an error as well as its message')
    .showHelpAfterError('(run rekey --help for usage)')
    .exitOverride();
  const adders = await Promise.all(modulesFor(argv).map((m) => m.load()));
  for (const add of adders) add(program, result);
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
  const program = await buildProgram(result, argv);
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
