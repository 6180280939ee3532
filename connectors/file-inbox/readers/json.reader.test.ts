import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import { failures, readAll, readChunks, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const sub = (ref: string) => ({ form_name: 'Apply', submission_reference: ref, answers: [{ question_id: 'q1', answer_text: `a ${ref}` }] });

describe('JSON reader', () => {
  it('reads an array of submissions with record numbers and start lines (CRLF)', async () => {
    const body = JSON.stringify([sub('A'), sub('B'), sub('C')], null, 2).replace(/\n/g, '\r\n');
    const path = await writeInput(dir, 'array.json', body);
    const items = await readAll(path);
    expect(values(items)).toEqual([sub('A'), sub('B'), sub('C')]);
    expect(items.map((i) => i.at)).toEqual([
      { file: path, record: 1, line: 2 },
      { file: path, record: 2, line: 12 },
      { file: path, record: 3, line: 22 },
    ]);
  });

  it('reads a file that is one submission object', async () => {
    const path = await writeInput(dir, 'one.json', `\n\n${JSON.stringify(sub('X'), null, 1)}\n`);
    expect(await readAll(path)).toEqual([{ ok: true, value: sub('X'), at: { file: path, record: 1, line: 3 } }]);
  });

  it('is not confused by brackets, commas and escaped quotes inside strings', async () => {
    const tricky = [{ t: 'a],[{"b":1}', u: 'quote \\" and \\\\' }, { t: '}{' }];
    const path = await writeInput(dir, 'tricky.json', JSON.stringify(tricky));
    expect(values(await readAll(path))).toEqual(tricky);
  });

  it('gives the same result whatever the chunk size', async () => {
    const body = JSON.stringify([sub('A'), { s: 'é£😀 "q" \\ ]' }, [1, [2]], 'x', 3, null, true]);
    const whole = await readChunks((src) => readRecords(src, { file: 'c.json' }), body, 1 << 20);
    for (const size of [1, 2, 3, 7]) {
      expect(await readChunks((src) => readRecords(src, { file: 'c.json' }), body, size)).toEqual(whole);
    }
    expect(values(whole)).toHaveLength(7);
  });

  it('reads the array at json.recordsPath and skips everything else', async () => {
    const doc = { meta: { count: 2, list: [9, 9] }, data: { submissions: [sub('A'), sub('B')], after: [0] } };
    const path = await writeInput(dir, 'path.json', JSON.stringify(doc));
    expect(values(await readAll(path, { json: { recordsPath: 'data.submissions' } }))).toEqual([sub('A'), sub('B')]);
    const missing = await readAll(path, { json: { recordsPath: 'data.nope' } });
    expect(missing).toEqual([
      { ok: false, error: { code: 'INPUT_MALFORMED_FILE', message: 'no value at json.recordsPath "data.nope"' }, at: { file: path, record: 1, line: 1 } },
    ]);
  });

  it('gives one error item for a malformed element in the middle and keeps every other record', async () => {
    const body = ['[', '  {"ref": "A"},', '  {"ref": "B" "oops": 1},', '  {"ref": "C"},', '  {"ref": "D", "bad": tru},', '  {"ref": "E"}', ']'].join('\n');
    const path = await writeInput(dir, 'malformed.json', body);
    const items = await readAll(path);
    expect(values(items)).toEqual([{ ref: 'A' }, { ref: 'C' }, { ref: 'E' }]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: "not valid JSON: Expected ',' or '}' after property value at line 3, column 15" },
        at: { file: path, record: 2, line: 3 },
      },
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: "not valid JSON: Unexpected token '}'" },
        at: { file: path, record: 4, line: 5 },
      },
    ]);
    expect(items.map((i) => i.at.record)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never copies record text into messages', async () => {
    const path = await writeInput(dir, 'pii.json', '[{"name": "Jane Smith", "nino": QQ123456C}]');
    const [item] = await readAll(path);
    expect(item?.ok).toBe(false);
    expect(JSON.stringify(item)).not.toMatch(/Jane|QQ123456C/);
  });

  it('recovers after a raw line break inside a string', async () => {
    const path = await writeInput(dir, 'newline.json', '[\n{"a": "one\ntwo"},\n{"a": "three"}\n]');
    const items = await readAll(path);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: 'not valid JSON: Bad control character in string literal at line 2, column 11' },
        at: { file: path, record: 1, line: 2 },
      },
    ]);
    expect(values(items)).toEqual([{ a: 'three' }]);
  });

  it('ends a truncated array with INPUT_TRUNCATED after the complete records', async () => {
    const path = await writeInput(dir, 'truncated.json', '[\n{"ref": "A"},\n{"ref": "B"},\n{"ref": "C", "answers": [{"q"');
    const items = await readAll(path);
    expect(values(items)).toEqual([{ ref: 'A' }, { ref: 'B' }]);
    expect(items[2]).toEqual({
      ok: false,
      error: { code: 'INPUT_TRUNCATED', message: 'the file ends inside this record: the JSON is incomplete' },
      at: { file: path, record: 3, line: 4 },
    });
    expect(items).toHaveLength(3);
  });

  it('reports an array cut off between elements, an empty file and trailing content', async () => {
    const between = await writeInput(dir, 'between.json', '[{"a":1},\n');
    expect(failures(await readAll(between))).toEqual([
      { ok: false, error: { code: 'INPUT_TRUNCATED', message: 'the file ends before the top-level JSON value is closed' }, at: { file: between, record: 2, line: 1 } },
    ]);
    const empty = await writeInput(dir, 'empty.json', ' \n');
    expect(failures(await readAll(empty))[0]?.error.code).toBe('INPUT_TRUNCATED');
    const trailing = await writeInput(dir, 'trailing.json', '[{"a":1}]\n[{"a":2}]');
    const items = await readAll(trailing);
    expect(values(items)).toEqual([{ a: 1 }]);
    expect(failures(items)).toEqual([
      { ok: false, error: { code: 'INPUT_MALFORMED_FILE', message: 'unexpected content after the end of the JSON at line 2, column 1' }, at: { file: trailing, record: 2, line: 2 } },
    ]);
  });

  it('reports stray commas without losing records', async () => {
    const path = await writeInput(dir, 'commas.json', '[{"a":1},,{"a":2},]');
    const items = await readAll(path);
    expect(values(items)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(failures(items).map((f) => f.error.code)).toEqual(['INPUT_MALFORMED_FILE', 'INPUT_MALFORMED_FILE']);
  });

  it('skips an element over maxRecordBytes with one error item and reads on', async () => {
    const path = await writeInput(dir, 'big.json', JSON.stringify([{ a: 1 }, { big: 'x'.repeat(5000) }, { a: 3 }]));
    const items = await readChunks((src) => readRecords(src, { file: 'big.json', maxRecordBytes: 1000 }), await readFile(path), 256);
    expect(values(items)).toEqual([{ a: 1 }, { a: 3 }]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_RECORD_TOO_LARGE', message: 'the record is larger than the limit of 1000 bytes (maxRecordBytes); it was skipped' },
        at: { file: 'big.json', record: 2, line: 1 },
      },
    ]);
  });
});

describe('JSON reader, top-level values other than arrays', () => {
  it('reads a top-level scalar as one record and flags content after a top-level string', async () => {
    const num = await writeInput(dir, 'num.json', ' 42 \n');
    expect(values(await readAll(num))).toEqual([42]);
    const str = await writeInput(dir, 'str.json', '"a" "b"');
    const items = await readAll(str);
    expect(values(items)).toEqual(['a']);
    expect(failures(items).map((f) => f.error.code)).toEqual(['INPUT_MALFORMED_FILE']);
  });

  it('reads a single object at json.recordsPath as one record', async () => {
    const path = await writeInput(dir, 'obj-at-path.json', '{"envelope": {"id": 1}, "submission": {"ref": "A", "list": [1, {"x": "}"}]}}');
    expect(await readAll(path, { json: { recordsPath: 'submission' } })).toEqual([
      { ok: true, value: { ref: 'A', list: [1, { x: '}' }] }, at: { file: path, record: 1, line: 1 } },
    ]);
  });
});

describe('JSON reader against JSON.parse', () => {
  it('agrees with JSON.parse on generated arrays at random chunk sizes', async () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const strings = ['', 'a', '"', '\\', ']', '}', ',', '[{', 'é£', '😀', '\n', '\u2028'];
    const value = (depth: number): unknown => {
      const kind = rand(depth > 3 ? 4 : 6);
      if (kind === 0) return strings[rand(strings.length)]! + strings[rand(strings.length)]!;
      if (kind === 1) return rand(1000) - 500;
      if (kind === 2) return [true, false, null][rand(3)];
      if (kind === 3) return rand(100) / 7;
      if (kind === 4) return Array.from({ length: rand(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(4) }, (_, i) => [`${strings[rand(strings.length)]}${i}`, value(depth + 1)]));
    };
    for (let round = 0; round < 30; round++) {
      const records = Array.from({ length: 1 + rand(20) }, () => value(0));
      const text = JSON.stringify(records, null, rand(2) ? 2 : undefined);
      const items = await readChunks((src) => readRecords(src, { file: 'g.json' }), text, 1 + rand(50));
      expect(values(items)).toEqual(JSON.parse(text));
      expect(failures(items)).toEqual([]);
    }
  });
});
