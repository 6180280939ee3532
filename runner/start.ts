/** The `rekey` command as its process runs it (main.ts loads this once the compile cache is on). */
import { describeError, endQuietlyOnBrokenPipe, run } from './cli.js';
import { createLogger, logTransactionFailures } from './logging.js';

logTransactionFailures(() => createLogger());
for (const stream of [process.stdout, process.stderr]) endQuietlyOnBrokenPipe(stream, (code) => process.exit(code));

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(describeError(e, process.argv.includes('--debug')));
    process.exitCode = 1;
  },
);
