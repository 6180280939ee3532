#!/usr/bin/env node
/**
 * Process entry point of the `rekey` command: turns on Node's module
 * compile cache (compiled code of rekey and its libraries, kept under the
 * system's temporary folder, or NODE_COMPILE_CACHE; never data; off with
 * NODE_DISABLE_COMPILE_CACHE=1), then starts the command (start.ts). The
 * cache is turned on before the command's modules load, which is why this
 * file imports nothing else statically. The cache's folder is put in the
 * environment, so that worker threads and child runners use it too.
 */
import { enableCompileCache } from 'node:module';

const cache = enableCompileCache();
if (cache.directory) process.env.NODE_COMPILE_CACHE ??= cache.directory;
await import('./start.js');
