#!/usr/bin/env node
/** Process entry point of the `rekey` command. */
import { run } from './cli.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`rekey: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
