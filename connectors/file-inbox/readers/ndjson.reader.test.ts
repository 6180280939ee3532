import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import { failures, readAll, readChunks, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('NDJSON reader', () => {
  it('reads one value per line, skipping blank lines, with exact line numbers (CRLF)', async () => {
    const path = await writeInput(dir, 'subs.ndjson', '{"ref":"A"}\r\n\r\n   \r\n{"ref":"B"}\r\n{"ref":"C"}');
    expect(await readAll(path)).toEqual([
      { ok: true, value: { ref: 'A' }, at: { file: path, record: 1, line: 1 } },
      { ok: true, value: { ref: 'B' }, at: { file: path, record: 2, line: 4 } },
      { ok: true, value: { ref: 'C' }, at: { file: path, record: 3, line: 5 } },
    ]);
  });

  it('accepts the .jsonl extension', async () => {
    const path = await writeInput(dir, 'subs.jsonl', '{"a":1}\n{"a":2}\n');
    expect(values(await readAll(path))).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('gives one error item for a bad line in the middle and keeps every other line', async () => {
    const lines = ['{"ref":"A"}', '{"ref":"B",}', '{"ref":"C"}', '', '{"ref": "D" "x"}', '{"ref":"E"}'];
    const path = await writeInput(dir, 'bad.ndjson', `${lines.join('\n')}\n`);
    const items = await readAll(path);
    expect(values(items)).toEqual([{ ref: 'A' }, { ref: 'C' }, { ref: 'E' }]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: 'not valid JSON: Expected double-quoted property name at line 2, column 12' },
        at: { file: path, record: 2, line: 2 },
      },
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: "not valid JSON: Expected ',' or '}' after property value at line 5, column 13" },
        at: { file: path, record: 4, line: 5 },
      },
    ]);
  });

  it('reports a last line cut short as INPUT_TRUNCATED', async () => {
    const path = await writeInput(dir, 'cut.ndjson', '{"a":1}\n{"a":2}\n{"a":"thr');
    const items = await readAll(path);
    expect(values(items)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(items[2]).toEqual({
      ok: false,
      error: { code: 'INPUT_TRUNCATED', message: 'the last line ends before its JSON value is complete: the file looks truncated' },
      at: { file: path, record: 3, line: 3 },
    });
  });

  it('skips a line over maxRecordBytes and reads on, whatever the chunk size', async () => {
    const body = `{"a":1}\n{"big":"${'x'.repeat(3000)}"}\n{"a":3}\n`;
    for (const size of [5, 64, 100_000]) {
      const items = await readChunks((src) => readRecords(src, { file: 'l.ndjson', maxRecordBytes: 500 }), body, size);
      expect(values(items)).toEqual([{ a: 1 }, { a: 3 }]);
      expect(failures(items).map((f) => [f.error.code, f.at.record, f.at.line])).toEqual([['INPUT_RECORD_TOO_LARGE', 2, 2]]);
    }
  });
});
