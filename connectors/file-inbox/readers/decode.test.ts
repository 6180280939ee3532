import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeText, encodingFromBom, encodingFromXmlDeclaration } from './decode.js';
import { readRecords } from './index.js';
import { failures, readAll, readChunks, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

async function text(bytes: Buffer, encoding: 'utf-8' | 'windows-1252' | 'latin1' | undefined, size: number): Promise<string> {
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  let out = '';
  for await (const t of decodeText(source(), encoding)) out += t;
  return out;
}

describe('decodeText', () => {
  it('decodes windows-1252 £, é and the euro sign (0x80)', async () => {
    const bytes = Buffer.from([0xa3, 0x35, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x20, 0x80]);
    expect(await text(bytes, 'windows-1252', 1)).toBe('£5 café €');
  });

  it('decodes latin1', async () => {
    expect(await text(Buffer.from([0x4e, 0xe9, 0xe9, 0xa3]), 'latin1', 2)).toBe('Néé£');
  });

  it('strips a UTF-8 BOM even when it arrives one byte at a time', async () => {
    expect(await text(Buffer.from('\uFEFFname,£\r\n'), undefined, 1)).toBe('name,£\r\n');
  });

  it('lets a UTF-8 BOM override a configured windows-1252', async () => {
    expect(await text(Buffer.from('\uFEFFcafé £'), 'windows-1252', 4)).toBe('café £');
  });

  it('decodes UTF-16LE with a BOM', async () => {
    expect(await text(iconv.encode('a,é\n', 'utf-16le', { addBOM: true }), undefined, 3)).toBe('a,é\n');
  });

  it('joins a multi-byte UTF-8 character split across chunks', async () => {
    expect(await text(Buffer.from('££€😀'), 'utf-8', 1)).toBe('££€😀');
  });

  it('passes already-decoded string chunks through, stripping a leading BOM', async () => {
    async function* strings(): AsyncGenerator<string> {
      yield '\uFEFFab';
      yield 'c';
    }
    let out = '';
    for await (const t of decodeText(strings(), undefined)) out += t;
    expect(out).toBe('abc');
  });

  it('recognises BOMs and XML declarations', () => {
    expect(encodingFromBom(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toBe('utf-8');
    expect(encodingFromBom(Buffer.from([0x41, 0x42]))).toBeUndefined();
    expect(encodingFromXmlDeclaration(Buffer.from('<?xml version="1.0" encoding="windows-1252"?><a/>'))).toBe('windows-1252');
    expect(encodingFromXmlDeclaration(Buffer.from('<?xml version="1.0" encoding="no-such"?><a/>'))).toBeUndefined();
  });
});

describe('encodings through the readers', () => {
  it('reads a windows-1252 CSV with CRLF', async () => {
    const path = await writeInput(dir, 'fees.csv', iconv.encode('name,fee\r\nRené,£25\r\nZoë,£5\r\n', 'windows-1252'));
    const items = await readAll(path, { encoding: 'windows-1252' });
    expect(values(items)).toEqual([
      { name: 'René', fee: '£25' },
      { name: 'Zoë', fee: '£5' },
    ]);
    expect(items.map((i) => i.at.line)).toEqual([2, 3]);
  });

  it('reads a latin1 NDJSON file', async () => {
    const path = await writeInput(dir, 'l1.ndjson', iconv.encode('{"town":"Pontypridd","note":"£ é"}\n', 'latin1'));
    expect(values(await readAll(path, { encoding: 'latin1' }))).toEqual([{ town: 'Pontypridd', note: '£ é' }]);
  });

  it('reads a UTF-8 JSON file with a BOM', async () => {
    const path = await writeInput(dir, 'bom.json', Buffer.from('\uFEFF[{"fee":"£10"}]'));
    expect(values(await readAll(path))).toEqual([{ fee: '£10' }]);
  });

  it('reads a windows-1252 XML file by its declaration, and a UTF-8 BOM XML file', async () => {
    const xml = '<?xml version="1.0" encoding="windows-1252"?>\r\n<subs><sub><fee>£7</fee><town>Bézier</town></sub></subs>\r\n';
    const path = await writeInput(dir, 'w.xml', iconv.encode(xml, 'windows-1252'));
    expect(values(await readAll(path, { xml: { recordPath: 'subs.sub' } }))).toEqual([{ fee: '£7', town: 'Bézier' }]);
    const bom = await writeInput(dir, 'b.xml', Buffer.from('\uFEFF<subs><sub><fee>£8</fee></sub></subs>'));
    expect(values(await readAll(bom, { xml: { recordPath: 'subs.sub' } }))).toEqual([{ fee: '£8' }]);
  });

  it('reads a UTF-8 BOM GOV.UK Forms CSV with the header found', async () => {
    const csv = '\uFEFFReference,Submitted at,Fee\r\nABC2DEF3,2024-01-02T10:00:00+00:00,£3\r\n';
    const items = await readChunks((src) => readRecords(src, { file: 'e.csv', csv: { shape: 'govuk-forms' } }), csv, 2);
    expect(values(items)).toEqual([
      { submission_reference: 'ABC2DEF3', submitted_at: '2024-01-02T10:00:00.000Z', answers: [{ question_text: 'Fee', answer_text: '£3' }] },
    ]);
  });
});

describe('bytes the encoding cannot decode', () => {
  it('fail the records that hold them, naming the field, and the rest of the file is read', async () => {
    const csv = Buffer.concat([Buffer.from('name,fee\r\nRene,10\r\n'), iconv.encode('René,£25\r\n', 'windows-1252'), Buffer.from('Zoë,£5\r\n')]);
    const items = await readAll(await writeInput(dir, 'mixed.csv', csv));
    expect(values(items)).toEqual([
      { name: 'Rene', fee: '10' },
      { name: 'Zoë', fee: '£5' },
    ]);
    expect(failures(items)).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_UNDECODABLE', message: 'field name holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding' },
        at: expect.objectContaining({ record: 2, line: 3 }),
      },
    ]);
  });

  it('name the nested field in JSON', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":{"b":["ok","'), Buffer.from([0xa3]), Buffer.from('5"]}}\n{"a":1}\n')]);
    const items = await readAll(await writeInput(dir, 'nested.ndjson', bytes));
    expect(failures(items).map((f) => f.error.message)).toEqual(['field a.b[1] holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding']);
    expect(values(items)).toEqual([{ a: 1 }]);
  });
});

describe('U+FFFD in valid UTF-8 (EF BF BD) is a character, not an encoding error', () => {
  const bad = 'holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding';

  it('CSV: a field holding U+FFFD is read, a real invalid byte elsewhere in the file is still refused with the exact error', async () => {
    const csv = Buffer.concat([Buffer.from('name,note\r\nAna,a\uFFFDb\r\n'), Buffer.from('B'), Buffer.from([0xe9]), Buffer.from('a,x\r\nCy,\uFFFD\r\n')]);
    for (const size of [1, 2, 7, csv.length]) {
      const items = await readChunks((src) => readRecords(src, { file: 'r.csv' }), csv, size);
      expect(values(items)).toEqual([
        { name: 'Ana', note: 'a\uFFFDb' },
        { name: 'Cy', note: '\uFFFD' },
      ]);
      expect(failures(items)).toEqual([{ ok: false, error: { code: 'INPUT_UNDECODABLE', message: `field name ${bad}` }, at: { file: 'r.csv', record: 2, line: 3 } }]);
    }
  });

  it('CSV: a file whose only U+FFFD are valid is read whole', async () => {
    const items = await readAll(await writeInput(dir, 'fffd.csv', Buffer.from('name\r\n\uFFFD\r\nx\uFFFDy\r\n')));
    expect(values(items)).toEqual([{ name: '\uFFFD' }, { name: 'x\uFFFDy' }]);
    expect(failures(items)).toEqual([]);
  });

  it('NDJSON: a value holding U+FFFD is read, a line with a real invalid byte is refused naming file, record, line and field', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"\uFFFD"}\n{"b":"x'), Buffer.from([0xff]), Buffer.from('"}\n{"c":"y\uFFFD"}\n')]);
    const path = await writeInput(dir, 'fffd.ndjson', bytes);
    const items = await readAll(path);
    expect(values(items)).toEqual([{ a: '\uFFFD' }, { c: 'y\uFFFD' }]);
    expect(failures(items)).toEqual([{ ok: false, error: { code: 'INPUT_UNDECODABLE', message: `field b ${bad}` }, at: { file: path, record: 2, line: 2 } }]);
  });

  it('an invalid sequence cut short at the end of the file is still refused', async () => {
    const bytes = Buffer.concat([Buffer.from('name\n\uFFFD\nab'), Buffer.from([0xe2, 0x82])]);
    const items = await readChunks((src) => readRecords(src, { file: 'e.csv' }), bytes, 3);
    expect(values(items)).toEqual([{ name: '\uFFFD' }]);
    expect(failures(items)).toEqual([{ ok: false, error: { code: 'INPUT_UNDECODABLE', message: `field name ${bad}` }, at: { file: 'e.csv', record: 2, line: 3 } }]);
  });

  it('JSON and XML: the same, field named', async () => {
    const json = Buffer.concat([Buffer.from('[{"a":"\uFFFD"},{"b":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]')]);
    const j = await readChunks((src) => readRecords(src, { file: 'a.json' }), json, 5);
    expect(values(j)).toEqual([{ a: '\uFFFD' }]);
    expect(failures(j).map((f) => f.error.message)).toEqual([`field b ${bad}`]);
    const xml = Buffer.concat([Buffer.from('<s><r><a>\uFFFD</a></r><r><b>'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('</b></r></s>')]);
    const x = await readChunks((src) => readRecords(src, { file: 'a.xml', xml: { recordPath: 's.r' } }), xml, 4);
    expect(values(x)).toEqual([{ a: '\uFFFD' }]);
    expect(failures(x).map((f) => f.error.message)).toEqual([`field b ${bad}`]);
  });
});
