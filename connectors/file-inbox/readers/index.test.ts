import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReaderOptionsError, readFileRecords, readRecords, readerDisposition, resolveOptions } from './index.js';
import { readAll, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('readRecords and readFileRecords', () => {
  it('chooses the reader from the extension, or from format', async () => {
    const path = await writeInput(dir, 'DATA.NDJSON', '{"a":1}\n');
    expect(values(await readAll(path))).toEqual([{ a: 1 }]);
    const noExt = await writeInput(dir, 'upload', 'a\n1\n');
    expect(values(await readAll(noExt, { format: 'csv' }))).toEqual([{ a: '1' }]);
  });

  it('uses opts.file in locations, falling back to the path for the format', async () => {
    const path = await writeInput(dir, 'x.json', '[1]');
    expect(await readAll(path, { file: 'inbox/upload-42' })).toEqual([{ ok: true, value: 1, at: { file: 'inbox/upload-42', record: 1, line: 1 } }]);
  });

  it('throws one ReaderOptionsError listing every option problem', async () => {
    async function* nothing(): AsyncGenerator<Buffer> {}
    const read = readRecords(nothing(), { file: 'a.xml', encoding: 'ebcdic' as 'utf-8', csv: { delimiter: ';;', quote: ';' }, maxRecordBytes: -1 });
    const error = await read.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReaderOptionsError);
    expect((error as ReaderOptionsError).problems).toEqual([
      'unknown encoding "ebcdic": use utf-8, windows-1252, latin1',
      'maxRecordBytes must be a positive integer',
      'csv.delimiter must be one character',
      'xml.recordPath is required, e.g. "submissions.submission"',
    ]);
    expect((error as ReaderOptionsError).toData()).toMatchObject({ code: 'INPUT_OPTIONS_INVALID', disposition: 'fatal' });
    expect(() => resolveOptions({ file: 'upload.bin' })).toThrow(/cannot tell the format from the name "upload.bin"/);
  });

  it('rethrows I/O errors such as a missing file', async () => {
    await expect(readAll(`${dir}/missing.json`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops reading and closes the input when the consumer stops early', async () => {
    let pulled = 0;
    let closed = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield Buffer.from(`{"n":${i}}\n`);
        }
      } finally {
        closed = true;
      }
    }
    const seen: unknown[] = [];
    for await (const item of readRecords(source(), { file: 'x.ndjson' })) {
      seen.push(item.ok && item.value);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  it('closes the file when iteration stops early', async () => {
    const path = await writeInput(dir, 'many.ndjson', '{"a":1}\n'.repeat(100_000));
    const openFiles = async () => (existsSync('/proc/self/fd') ? (await readdir('/proc/self/fd')).length : 0);
    const before = await openFiles();
    const iterator = readFileRecords(path);
    const first = await iterator.next();
    expect(first.value).toMatchObject({ ok: true, value: { a: 1 } });
    await iterator.return(undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await openFiles()).toBe(before);
    expect((await iterator.next()).done).toBe(true);
  });

  it('gives every reader code a disposition', () => {
    expect(readerDisposition('INPUT_MALFORMED_RECORD')).toBe('reject');
    expect(readerDisposition('INPUT_XML_FORBIDDEN')).toBe('reject');
    expect(readerDisposition('INPUT_OPTIONS_INVALID')).toBe('fatal');
  });
});
