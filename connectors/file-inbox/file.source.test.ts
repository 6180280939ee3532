import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import iconv from 'iconv-lite';
import type { Ctx, SourceItem } from '../connector.types.js';
import { ConnectorFailure } from '../connector.errors.js';
import { FileSource, fileSource } from './file.source.js';
import { ndjsonChunks, readChunk, type FileChunk } from './ndjson-chunks.js';
import type { FileSourceConfig } from './file.config.js';

const fixtures = fileURLToPath(new URL('../../fixtures/submissions/govuk-forms/', import.meta.url));
const ctx = (signal = new AbortController().signal): Ctx => ({ log: pino({ level: 'silent' }), signal, attempt: 1 });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-file-source-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const source = (config: FileSourceConfig, baseDir = fixtures) => fileSource.create(config, { baseDir, pipeline: 't' });

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

async function write(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const refs = (items: SourceItem[]) => items.map((i) => (i.ok ? (i.body as { submission_reference?: string }).submission_reference : i.error.code));

describe('file source: reading the fixtures', () => {
  it('reads NDJSON, each record located by file, record and line', async () => {
    const items = await all(source({ path: 'change-of-address.ndjson' }).read(ctx()));
    expect(items).toHaveLength(11);
    expect(items.every((i) => i.ok)).toBe(true);
    expect(items[0]?.at).toEqual({ file: join(fixtures, 'change-of-address.ndjson'), record: 1, line: 1 });
    expect(items[10]?.at).toMatchObject({ record: 11, line: 11 });
  });

  it('reads the JSON export to the same submissions', async () => {
    const ndjson = await all(source({ path: 'change-of-address.ndjson' }).read(ctx()));
    const json = await all(source({ path: 'change-of-address.json' }).read(ctx()));
    expect(json.map((i) => i.ok && i.body)).toEqual(ndjson.map((i) => i.ok && i.body));
  });

  it('reads a GOV.UK Forms CSV export through the reader options', async () => {
    const items = await all(source({ path: 'change-of-address.csv', csv: { shape: 'govuk-forms', formName: 'Change the address on your driving licence' } }).read(ctx()));
    expect(items).toHaveLength(9);
    expect(items[0]).toMatchObject({ ok: true, body: { form_name: 'Change the address on your driving licence', submission_reference: 'CA3HJ7WR' }, at: { record: 1, line: 2 } });
  });
});

describe('file source: bad input', () => {
  it('yields an unreadable record as a rejected item and reads on', async () => {
    const path = await write('bad.ndjson', '{"submission_reference":"A"}\n{"submission_reference":\n\n{"submission_reference":"C"}\n');
    const items = await all(source({ path }).read(ctx()));
    expect(items).toEqual([
      { ok: true, body: { submission_reference: 'A' }, at: { file: path, record: 1, line: 1 } },
      { ok: false, error: { code: 'INPUT_MALFORMED_RECORD', disposition: 'reject', message: 'not valid JSON: Unexpected end of JSON input' }, at: { file: path, record: 2, line: 2 } },
      { ok: true, body: { submission_reference: 'C' }, at: { file: path, record: 3, line: 4 } },
    ]);
  });

  it('fails as a whole, fatally, when the path does not exist', async () => {
    const err = await all(source({ path: 'nope.ndjson' }, dir).read(ctx())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorFailure);
    expect((err as ConnectorFailure).toData()).toEqual({ code: 'SOURCE_UNREADABLE', disposition: 'fatal', message: `source path "${join(dir, 'nope.ndjson')}" does not exist` });
  });

  it('refuses read options that cannot work when it is built', () => {
    expect(() => source({ path: 'change-of-address.xml' })).toThrow('xml.recordPath is required, e.g. "submissions.submission"');
  });

  it('stops between records when aborted', async () => {
    const abort = new AbortController();
    const items: SourceItem[] = [];
    for await (const item of source({ path: 'change-of-address.ndjson' }).read(ctx(abort.signal))) {
      items.push(item);
      if (items.length === 3) abort.abort();
    }
    expect(items).toHaveLength(3);
  });
});

describe('file source: folders', () => {
  let inbox: string;
  beforeAll(async () => {
    inbox = join(dir, 'inbox');
    await mkdir(inbox);
    await writeFile(join(inbox, 'b.ndjson'), '{"submission_reference":"B1"}\n{"submission_reference":"B2"}\n');
    await writeFile(join(inbox, 'a.ndjson'), '{"submission_reference":"A1"}\n');
    await writeFile(join(inbox, 'c.json'), '[{"submission_reference":"C1"}]');
    await writeFile(join(inbox, '.partial.ndjson'), '{"submission_reference":"HIDDEN"}\n');
    await writeFile(join(inbox, 'notes.txt'), 'not a submission');
    await mkdir(join(inbox, 'done.ndjson'));
  });

  it('reads the files of known formats in name order, leaving out hidden files and folders', async () => {
    expect(refs(await all(source({ path: inbox }).read(ctx())))).toEqual(['A1', 'B1', 'B2', 'C1']);
  });

  it('reads the files matching pattern', async () => {
    expect(refs(await all(source({ path: inbox, pattern: '*.ndjson' }).read(ctx())))).toEqual(['A1', 'B1', 'B2']);
    expect(refs(await all(source({ path: inbox, pattern: '{c,b}.*' }).read(ctx())))).toEqual(['B1', 'B2', 'C1']);
    expect(refs(await all(source({ path: inbox, pattern: '?.json' }).read(ctx())))).toEqual(['C1']);
  });
});

describe('file source: byte chunks for workers', () => {
  async function viaChunks(src: FileSource, opts: { maxRecordBytes?: number } = {}): Promise<{ chunks: FileChunk[]; items: SourceItem[] }> {
    const chunks = await all(src.chunks!(ctx()));
    const items: SourceItem[] = [];
    for (const c of chunks) items.push(...(await all(readChunk(c, opts))));
    return { chunks, items };
  }

  it('cuts at line ends and reads back exactly what read() yields', async () => {
    const src = source({ path: 'change-of-address.ndjson', chunkBytes: 3000 });
    const { chunks, items } = await viaChunks(src);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks.slice(0, -1)) {
      expect(c.bytes.length).toBeGreaterThanOrEqual(3000);
      expect(c.bytes[c.bytes.length - 1]).toBe(0x0a);
    }
    expect(items).toEqual(await all(src.read(ctx())));
  });

  it('numbers records and lines across blank lines, CRLF, bad, oversized and truncated lines', async () => {
    const big = `{"pad":"${'x'.repeat(300)}"}`;
    const text = `\uFEFF{"n":1}\r\n\r\n  \n{"n":2}\n{"n":\n${big}\n   \n{"n":3}\n${' '.repeat(400)}\n{"n":4}\n{"n":`;
    const path = await write('edge.ndjson', text);
    for (const chunkBytes of [1, 7, 64, 100_000]) {
      const src = source({ path, chunkBytes, maxRecordBytes: 200 });
      const { items } = await viaChunks(src, { maxRecordBytes: 200 });
      expect(items, `chunkBytes ${chunkBytes}`).toEqual(await all(src.read(ctx())));
    }
    const codes = (await all(source({ path, maxRecordBytes: 200 }).read(ctx()))).map((i) => (i.ok ? i.at.line : `${i.error.code}@${i.at.line}`));
    expect(codes).toEqual([1, 4, 'INPUT_MALFORMED_RECORD@5', 'INPUT_RECORD_TOO_LARGE@6', 8, 'INPUT_RECORD_TOO_LARGE@9', 10, 'INPUT_TRUNCATED@11']);
  });

  it('cuts and reads back a windows-1252 file the same way', async () => {
    const path = await write('cp1252.ndjson', iconv.encode('{"name":"Seán Ó Brádaigh"}\n\u00a0\u00a0\n{"name":"Zoë"}\n', 'windows-1252'));
    const src = source({ path, encoding: 'windows-1252' });
    const items: SourceItem[] = [];
    for await (const c of ndjsonChunks(path, { chunkBytes: 1, encoding: 'windows-1252' })) items.push(...(await all(readChunk(c, { encoding: 'windows-1252' }))));
    expect(items).toEqual(await all(src.read(ctx())));
    expect(items.map((i) => i.ok && i.body)).toEqual([{ name: 'Seán Ó Brádaigh' }, { name: 'Zoë' }]);
  });

  it('offers chunks only when every file is UTF-8 NDJSON', async () => {
    expect(source({ path: 'change-of-address.ndjson' }).chunks).toBeTypeOf('function');
    expect(source({ path: '.', pattern: '*.ndjson' }).chunks).toBeTypeOf('function');
    expect(source({ path: '.', format: 'ndjson' }).chunks).toBeTypeOf('function');
    expect(source({ path: '.' }).chunks).toBeUndefined();
    expect(source({ path: 'change-of-address.csv' }).chunks).toBeUndefined();
    expect(source({ path: 'change-of-address.ndjson', encoding: 'windows-1252' }).chunks).toBeUndefined();
  });

  it('refuses files it cannot cut as bytes', async () => {
    const path = await write('utf16.ndjson', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"a":1}\n', 'utf16le')]));
    await expect(all(source({ path }).chunks!(ctx()))).rejects.toMatchObject({ code: 'SOURCE_NOT_CHUNKABLE', disposition: 'fatal' });
  });
});
