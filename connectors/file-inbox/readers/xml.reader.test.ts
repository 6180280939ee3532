import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from './index.js';
import { failures, readAll, readChunks, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const recordPath = 'submissions.submission';

describe('XML reader', () => {
  it('reads records by local name, keeping attributes and strings, dropping comments and PIs', async () => {
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<!-- export of <submission> elements -->',
      '<gf:submissions xmlns:gf="urn:example:forms" gf:version="1">',
      '  <gf:submission gf:ref="H7K2M9P4" note="a > b">',
      '    <gf:licence>007</gf:licence>',
      '    <name first="Jane">Smith &amp; Sons &#163;5 &#xE9;</name>',
      '    <comment><![CDATA[<b>not</b> markup & </gf:submission>]]></comment>',
      '    <?ignore me?><!-- </gf:submission> -->',
      '    <answer>one</answer>',
      '    <answer>two</answer>',
      '    <empty/>',
      '  </gf:submission>',
      '  <gf:submission gf:ref="R3T5V7W9"/>',
      '  <other><submission>not at the path</submission></other>',
      '</gf:submissions>',
    ].join('\r\n');
    const path = await writeInput(dir, 'subs.xml', xml);
    expect(await readAll(path, { xml: { recordPath } })).toEqual([
      {
        ok: true,
        value: {
          '@_ref': 'H7K2M9P4',
          '@_note': 'a > b',
          licence: '007',
          name: { '#text': 'Smith & Sons £5 é', '@_first': 'Jane' },
          comment: '<b>not</b> markup & </gf:submission>',
          answer: ['one', 'two'],
          empty: '',
        },
        at: { file: path, record: 1, line: 4 },
      },
      { ok: true, value: { '@_ref': 'R3T5V7W9' }, at: { file: path, record: 2, line: 13 } },
    ]);
  });

  it('makes configured paths arrays even when they occur once, and honours attributePrefix', async () => {
    const xml = '<submissions><submission id="1"><answers><answer>one</answer></answers></submission></submissions>';
    const path = await writeInput(dir, 'arrays.xml', xml);
    expect(values(await readAll(path, { xml: { recordPath, arrays: ['answers.answer'], attributePrefix: '$' } }))).toEqual([
      { $id: '1', answers: { answer: ['one'] } },
    ]);
  });

  it('gives the same items whatever the chunk size', async () => {
    const xml = '<s:a xmlns:s="u"><s:b x=\'>\'>1<![CDATA[]]]]>2</s:b><!----><s:b/><s:b><c>&lt;</c></s:b></s:a>';
    const read = (size: number) => readChunks((src) => readRecords(src, { file: 'c.xml', xml: { recordPath: 'a.b' } }), xml, size);
    const whole = await read(1 << 20);
    expect(values(whole)).toEqual([{ '#text': '1]]2', '@_x': '>' }, '', { c: '<' }]);
    for (const size of [1, 2, 3, 5, 8]) expect(await read(size)).toEqual(whole);
  });

  it('gives one error item for a malformed record in the middle and keeps every other record', async () => {
    const xml = [
      '<submissions>',
      '  <submission><ref>A</ref></submission>',
      '  <submission><ref>B</ref>',
      '    <name>unclosed',
      '  </submission>',
      '  <submission><ref>C</ref></submission>',
      '  <submission><ref a=1>D</ref></submission>',
      '  <submission><ref>E</ref></submission>',
      '</submissions>',
    ].join('\n');
    const path = await writeInput(dir, 'malformed.xml', xml);
    const items = await readAll(path, { xml: { recordPath } });
    expect(values(items)).toEqual([{ ref: 'A' }, { ref: 'C' }, { ref: 'E' }]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: {
          code: 'INPUT_MALFORMED_RECORD',
          message: "not well-formed XML: Expected closing tag 'name' (opened at line 4) instead of closing tag 'submission' at line 5",
        },
        at: { file: path, record: 2, line: 3 },
      },
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_RECORD', message: "not well-formed XML: Attribute 'a' is without value at line 7" },
        at: { file: path, record: 4, line: 7 },
      },
    ]);
  });

  it('never quotes text that only looks like a tag name: a value with a stray < is no element', async () => {
    const xml = ['<submissions>', '  <submission><name>Jones <jones@zqx7canary.example></name></submission>', '  <submission><ref>B</ref></submission>', '</submissions>'].join('\n');
    const path = await writeInput(dir, 'stray.xml', xml);
    const items = await readAll(path, { xml: { recordPath } });
    expect(values(items)).toEqual([{ ref: 'B' }]);
    expect(failures(items)).toEqual([{ ok: false, error: { code: 'INPUT_MALFORMED_RECORD', message: 'not well-formed XML: a tag has an invalid name at line 2' }, at: { file: path, record: 1, line: 2 } }]);
  });

  it('ends a truncated file with INPUT_TRUNCATED after the complete records', async () => {
    const path = await writeInput(dir, 'truncated.xml', '<submissions>\n<submission><ref>A</ref></submission>\n<submission><ref>B</re');
    const items = await readAll(path, { xml: { recordPath } });
    expect(items).toEqual([
      { ok: true, value: { ref: 'A' }, at: { file: path, record: 1, line: 2 } },
      { ok: false, error: { code: 'INPUT_TRUNCATED', message: 'the file ends inside this record: the XML is incomplete' }, at: { file: path, record: 2, line: 3 } },
    ]);
    const between = await writeInput(dir, 'between.xml', '<submissions>\n<submission/>\n');
    expect(failures(await readAll(between, { xml: { recordPath } }))).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_TRUNCATED', message: 'the file ends before the root element <submissions> is closed: the XML is incomplete' },
        at: { file: between, record: 2, line: 3 },
      },
    ]);
  });

  it('refuses a billion-laughs file at once, expanding nothing', async () => {
    const entities = ['<!ENTITY lol0 "lol">'];
    for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
    const records = '<submission><x>&lol9;</x></submission>'.repeat(1000);
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE submissions [\n ${entities.join('\n ')}\n]>\n<submissions>${records}</submissions>`;
    const path = await writeInput(dir, 'bomb.xml', xml);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const items = await readAll(path, { xml: { recordPath } });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(50 * 1024 * 1024);
    expect(items).toEqual([
      {
        ok: false,
        error: {
          code: 'INPUT_XML_FORBIDDEN',
          message:
            'the DOCTYPE declares entities (<!ENTITY ...>); entity declarations are refused so that nothing can expand them. Export the file without a DOCTYPE.',
        },
        at: { file: path, record: 1, line: 2 },
      },
    ]);
  });

  it('leaves undeclared entity references as written and accepts a DOCTYPE without entities', async () => {
    const xml = '<!DOCTYPE submissions SYSTEM "http://example.invalid/x.dtd">\n<submissions><submission><a>&nbsp;&unknown;</a></submission></submissions>';
    const path = await writeInput(dir, 'ent.xml', xml);
    expect(values(await readAll(path, { xml: { recordPath } }))).toEqual([{ a: '&nbsp;&unknown;' }]);
  });

  it('skips an oversized record and a too-deep record, each with one error item, and reads on', async () => {
    const big = `<submission><blob>${'x'.repeat(300_000)}</blob></submission>`;
    const deep = `<submission>${'<a>'.repeat(10)}x${'</a>'.repeat(10)}</submission>`;
    const xml = `<submissions>\n<submission><ref>A</ref></submission>\n${big}\n${deep}\n<submission><ref>D</ref></submission>\n</submissions>`;
    const bytes = await readFile(await writeInput(dir, 'limits.xml', xml));
    const items = await readChunks((src) => readRecords(src, { file: 'limits.xml', xml: { recordPath, maxRecordBytes: 100_000, maxDepth: 8 } }), bytes, 4096);
    expect(values(items)).toEqual([{ ref: 'A' }, { ref: 'D' }]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_RECORD_TOO_LARGE', message: 'the record is larger than the limit of 100000 bytes (maxRecordBytes); it was skipped' },
        at: { file: 'limits.xml', record: 2, line: 3 },
      },
      { ok: false, error: { code: 'INPUT_TOO_DEEP', message: 'elements nest deeper than 8 levels (xml.maxDepth)' }, at: { file: 'limits.xml', record: 3, line: 4 } },
    ]);
  });

  it('names the depth limit for a record nested 10,000 elements deep, never a stack overflow, and reads on', async () => {
    const deep = `<submission>${'<a>'.repeat(10_000)}Zqx7Canary${'</a>'.repeat(10_000)}</submission>`;
    const xml = `<submissions>\n${deep}\n<submission><ref>B</ref></submission>\n</submissions>`;
    const items = await readAll(await writeInput(dir, 'deep.xml', xml), { xml: { recordPath } });
    expect(values(items)).toEqual([{ ref: 'B' }]);
    expect(failures(items)).toEqual([{ ok: false, error: { code: 'INPUT_TOO_DEEP', message: 'elements nest deeper than 64 levels (xml.maxDepth)' }, at: { file: expect.any(String), record: 1, line: 2 } }]);
    expect(JSON.stringify(items)).not.toMatch(/Maximum call stack|Zqx7Canary/);
  });

  it('reports a wrong root, a second root and a stray end tag as file errors', async () => {
    const wrong = await writeInput(dir, 'wrong.xml', '<forms><form/></forms>');
    expect(failures(await readAll(wrong, { xml: { recordPath } }))).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_FILE', message: 'no records at xml.recordPath "submissions.submission": the root element is <forms>' },
        at: { file: wrong, record: 1, line: 1 },
      },
    ]);
    const two = await writeInput(dir, 'two.xml', '<submissions><submission/></submissions>\n<submissions><submission/></submissions>');
    const items = await readAll(two, { xml: { recordPath } });
    expect(items.map((i) => (i.ok ? 'ok' : i.error.code))).toEqual(['ok', 'INPUT_MALFORMED_FILE']);
    const stray = await writeInput(dir, 'stray.xml', '<submissions><x></y></submissions>');
    expect(failures(await readAll(stray, { xml: { recordPath } }))[0]?.error).toEqual({
      code: 'INPUT_MALFORMED_FILE',
      message: 'end tag </y> does not match <x> at line 1',
    });
  });

  it('reports an empty file', async () => {
    const path = await writeInput(dir, 'empty.xml', '<?xml version="1.0"?>\n');
    expect(failures(await readAll(path, { xml: { recordPath } }))[0]?.error.code).toBe('INPUT_TRUNCATED');
  });
});
