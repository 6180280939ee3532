/**
 * Helpers for the reader tests: real files in a fresh temporary directory,
 * and collecting what a reader yields. Test-only; nothing imports it in
 * production code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadItem } from '../../connector.types.js';
import { readFileRecords, type ReadOptions } from './index.js';

/** A temporary directory for one test file; call `cleanup` in `afterAll`. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rekey-readers-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes `content` (text as UTF-8, or exact bytes) to `dir/name` and returns the path. */
export async function writeInput(dir: string, name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Reads every item of a file. */
export async function readAll(path: string, opts: Partial<ReadOptions> = {}): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  for await (const item of readFileRecords(path, opts)) items.push(item);
  return items;
}

/** Reads every item from an in-memory source cut into chunks of `size` bytes. */
export async function readChunks(
  read: (src: AsyncIterable<Buffer>) => AsyncIterable<ReadItem>,
  content: string | Buffer,
  size: number,
): Promise<ReadItem[]> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const items: ReadItem[] = [];
  for await (const item of read(source())) items.push(item);
  return items;
}

/** The values of the successful items, in order. */
export function values(items: ReadItem[]): unknown[] {
  return items.flatMap((i) => (i.ok ? [i.value] : []));
}

/** The failed items, in order. */
export function failures(items: ReadItem[]): Extract<ReadItem, { ok: false }>[] {
  return items.filter((i): i is Extract<ReadItem, { ok: false }> => !i.ok);
}
