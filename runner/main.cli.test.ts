/**
 * The process entry (`dist/runner/main.js`) turns on Node's module compile
 * cache before the command loads, with nothing in the environment asking
 * for it: in `node-compile-cache` under the temporary folder (TMPDIR
 * here), and not at all with NODE_DISABLE_COMPILE_CACHE=1. The command
 * itself answers as before either way.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { filesUnder } from '../pipelines/privacy/canary/canary.test-helpers.js';
import { rekey } from './cli.test-helpers.js';

describe('the compile cache of the rekey process', () => {
  const dirs: string[] = [];
  const cacheDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'rekey-compile-cache-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps compiled code under the temporary folder, and the command answers as before', async () => {
    const dir = cacheDir();
    const first = await rekey(['status', '--help'], undefined, { TMPDIR: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Usage: rekey status');
    expect(readdirSync(dir)).toEqual(['node-compile-cache']);
    const cache = join(dir, 'node-compile-cache');
    const files = filesUnder(cache).map((f) => relative(cache, f));
    expect(files.length).toBeGreaterThan(0);
    // Node keeps its cache in a folder of its own version: nothing else is written there.
    expect(files.every((f) => f.startsWith(`${process.version}-`))).toBe(true);
    const second = await rekey(['status', '--help'], undefined, { TMPDIR: dir });
    expect(second).toEqual(first);
  });

  it('writes no cache with NODE_DISABLE_COMPILE_CACHE=1', async () => {
    const dir = cacheDir();
    const r = await rekey(['status', '--help'], undefined, { TMPDIR: dir, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: rekey status');
    expect(readdirSync(dir)).toEqual([]);
  });
});
