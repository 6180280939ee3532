import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import { failures, readAll, readChunks, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('CSV reader', () => {
  it('maps the header row to field names, with record numbers and start lines', async () => {
    const path = await writeInput(dir, 'basic.csv', 'ref, name ,postcode\nA1,Jane,SW1A 1AA\nA2,"Smith, John",LS1 1AA\n');
    expect(await readAll(path)).toEqual([
      { ok: true, value: { ref: 'A1', name: 'Jane', postcode: 'SW1A 1AA' }, at: { file: path, record: 1, line: 2 } },
      { ok: true, value: { ref: 'A2', name: 'Smith, John', postcode: 'LS1 1AA' }, at: { file: path, record: 2, line: 3 } },
    ]);
  });

  it('handles CRLF, embedded newlines, comment lines, blank lines and empty rows', async () => {
    const body = [
      '# exported 2024-01-02',
      'ref,note',
      'A1,"line one\r\nline two"',
      '',
      '# a comment in the middle',
      'A2,"He said ""hi"""',
      ',',
      'A3,"# not a comment"',
    ].join('\r\n');
    const path = await writeInput(dir, 'crlf.csv', `${body}\r\n`);
    const items = await readAll(path, { csv: { comment: '#' } });
    expect(items).toEqual([
      { ok: true, value: { ref: 'A1', note: 'line one\r\nline two' }, at: { file: path, record: 1, line: 3 } },
      { ok: true, value: { ref: 'A2', note: 'He said "hi"' }, at: { file: path, record: 2, line: 7 } },
      { ok: true, value: { ref: 'A3', note: '# not a comment' }, at: { file: path, record: 3, line: 9 } },
    ]);
  });

  it('honours delimiter, quote and escape options', async () => {
    const path = await writeInput(dir, 'semi.csv', "ref;note\nA1;'it\\'s; here'\nA2;plain\n");
    expect(values(await readAll(path, { csv: { delimiter: ';', quote: "'", escape: '\\' } }))).toEqual([
      { ref: 'A1', note: "it's; here" },
      { ref: 'A2', note: 'plain' },
    ]);
  });

  it('gives one error item per bad row in the middle and keeps every other row', async () => {
    const body = ['ref,name,fee', 'A1,Jane,5', 'A2,"Bad"x,6', 'A3,"multi', 'line",7', 'A4,short', 'A5,Ann,8', 'A6,Bo"b,9', 'A7,Cy,10'].join('\n');
    const path = await writeInput(dir, 'bad.csv', `${body}\n`);
    const items = await readAll(path);
    expect(values(items)).toEqual([
      { ref: 'A1', name: 'Jane', fee: '5' },
      { ref: 'A3', name: 'multi\nline', fee: '7' },
      { ref: 'A5', name: 'Ann', fee: '8' },
      { ref: 'A7', name: 'Cy', fee: '10' },
    ]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: 'a closing quote is followed by a character other than a delimiter in field 2 at line 3' },
        at: { file: path, record: 2, line: 3 },
      },
      { ok: false, error: { code: 'INPUT_COLUMN_COUNT', message: 'the row has 2 fields but the header has 3' }, at: { file: path, record: 4, line: 6 } },
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: 'a quote appears inside an unquoted field in field 2 at line 8' },
        at: { file: path, record: 6, line: 8 },
      },
    ]);
    expect(items.map((i) => i.at.record)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives the same items whatever the chunk size', async () => {
    const body = await readFile(await writeInput(dir, 'chunks.csv', 'a,b\r\n"x\r\n,y""",2\r\n# c\r\n3,"q"z\r\n4,5'));
    const read = (size: number) => readChunks((src) => readRecords(src, { file: 'c.csv', csv: { comment: '#' } }), body, size);
    const whole = await read(1 << 20);
    expect(whole.map((i) => [i.ok, i.at.line])).toEqual([
      [true, 2],
      [false, 5],
      [true, 6],
    ]);
    for (const size of [1, 2, 3, 5]) expect(await read(size)).toEqual(whole);
  });

  it('reports a quoted field left open at the end of the file after the good rows', async () => {
    const path = await writeInput(dir, 'open.csv', 'a,b\n1,2\n3,"never closed\n4,5\n');
    const items = await readAll(path);
    expect(values(items)).toEqual([{ a: '1', b: '2' }]);
    expect(items[1]).toEqual({
      ok: false,
      error: { code: 'INPUT_TRUNCATED', message: 'the file ends inside a quoted field of this record (truncated, or a stray quote)' },
      at: { file: path, record: 2, line: 3 },
    });
  });

  it('refuses duplicate header names by default, with every duplicate named', async () => {
    const path = await writeInput(dir, 'dup.csv', 'email,name,email,name,email\n1,2,3,4,5\n');
    expect(await readAll(path)).toEqual([
      {
        ok: false,
        error: {
          code: 'INPUT_DUPLICATE_COLUMN',
          message:
            'header row: duplicate column names "email" (column 3), "name" (column 4), "email" (column 5); rename them or set csv.duplicateColumns to "suffix" or "array"',
        },
        at: { file: path, record: 1, line: 1 },
      },
    ]);
    expect(values(await readAll(path, { csv: { duplicateColumns: 'suffix' } }))).toEqual([
      { email: '1', name: '2', email_2: '3', name_2: '4', email_3: '5' },
    ]);
    expect(values(await readAll(path, { csv: { duplicateColumns: 'array' } }))).toEqual([{ email: ['1', '3', '5'], name: ['2', '4'] }]);
  });

  it('yields string arrays without a header row, and keeps "__proto__" as a plain key', async () => {
    const path = await writeInput(dir, 'nohead.csv', '1,2\n3\n');
    expect(values(await readAll(path, { csv: { columns: false } }))).toEqual([['1', '2'], ['3']]);
    const proto = await writeInput(dir, 'proto.csv', '__proto__,a\nx,y\n');
    const [item] = await readAll(proto);
    expect(item?.ok && Object.keys(item.value as object)).toEqual(['__proto__', 'a']);
  });

  it('skips a row over maxRecordBytes with one error item', async () => {
    const path = await writeInput(dir, 'big.csv', `a,b\n1,2\n3,"${'x'.repeat(5000)}"\n4,5\n`);
    const items = await readAll(path, { maxRecordBytes: 1000 });
    expect(values(items)).toEqual([
      { a: '1', b: '2' },
      { a: '4', b: '5' },
    ]);
    expect(failures(items).map((f) => [f.error.code, f.at.record, f.at.line])).toEqual([['INPUT_RECORD_TOO_LARGE', 2, 3]]);
  });

  it('never copies field values into messages', async () => {
    const path = await writeInput(dir, 'pii.csv', 'name,nino\nJane,QQ"123456C\n');
    const [item] = await readAll(path);
    expect(item?.ok).toBe(false);
    expect(JSON.stringify(item)).not.toMatch(/Jane|QQ|123456C/);
  });
});

describe('CSV reader against csv-parse on the whole text', () => {
  it('agrees on generated files at random chunk sizes', async () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['a', 'b c', ',', '"', '""', '\r\n', '\n', 'é£', '😀', "'", ';', '#'];
    const field = () => {
      const text = Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]).join('');
      return /[",\r\n]/.test(text) || rand(3) === 0 ? `"${text.replace(/"/g, '""')}"` : text;
    };
    for (let round = 0; round < 30; round++) {
      const width = 1 + rand(5);
      const header = Array.from({ length: width }, (_, i) => `col${i}`).join(',');
      const rows = Array.from({ length: 1 + rand(15) }, () => ['x', ...Array.from({ length: width - 1 }, field)].join(','));
      const eol = rand(2) ? '\r\n' : '\n';
      const text = [header, ...rows].join(eol) + (rand(2) ? eol : '');
      const expected = parse(text, { columns: true, record_delimiter: ['\r\n', '\n'] });
      const items = await readChunks((src) => readRecords(src, { file: 'g.csv' }), text, 1 + rand(40));
      expect(failures(items)).toEqual([]);
      expect(values(items)).toEqual(expected);
    }
  });
});

describe('csv.relaxQuotes', () => {
  const body = 'ref,name,fee\nA1,Bo"b,9\nA2,"Bad"x,6\nA3,"Ann ""A""",7\n';

  it('off (default): a quote inside an unquoted field fails the record', async () => {
    const path = await writeInput(dir, 'quotes.csv', body);
    const items = await readAll(path);
    expect(values(items)).toEqual([{ ref: 'A3', name: 'Ann "A"', fee: '7' }]);
    expect(failures(items).map((f) => [f.at.record, f.error.message])).toEqual([
      [1, 'a quote appears inside an unquoted field in field 2 at line 2'],
      [2, 'a closing quote is followed by a character other than a delimiter in field 2 at line 3'],
    ]);
  });

  it('on: such quotes are kept as they stand, and quoted fields still unquoted', async () => {
    const path = await writeInput(dir, 'quotes-relaxed.csv', body);
    const items = await readAll(path, { csv: { relaxQuotes: true } });
    expect(failures(items)).toEqual([]);
    expect(values(items)).toEqual([
      { ref: 'A1', name: 'Bo"b', fee: '9' },
      { ref: 'A2', name: '"Bad"x', fee: '6' },
      { ref: 'A3', name: 'Ann "A"', fee: '7' },
    ]);
  });
});
