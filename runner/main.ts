#!/usr/bin/env node
/** Process entry point of the `rekey` command. */
import { describeError, run } from './cli.js';
import { createLogger, logTransactionFailures } from './logging.js';

logTransactionFailures(() => createLogger());

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(describeError(e, process.argv.includes('--debug')));
    process.exitCode = 1;
  },
);
