import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DropFile, publishDataFile } from '../drop-file.js';
import { encodeText, type OutputEncoding } from './encoding.js';
import { fixedWidthFormat } from './fixed-width.format.js';
import { GOLDEN_DIR, GOLDEN_LAYOUT, EURO, FACTS, POLISH, RECORDS } from './formats.test-support.js';
import type { FileFormat, FileTotals, FormatRecord } from './format.types.js';
import { addToTotals } from './render.js';

const ENCODINGS: OutputEncoding[] = ['utf-8', 'utf-8-bom', 'windows-1252', 'latin1'];


const base = RECORDS[0]!.record;
const rec = (over: Record<string, unknown>): FormatRecord => ({ record: { ...base, ...over }, children: {} });
/** Values at every edge of the byte path: widths, truncation, line breaks, characters per encoding, numbers, empties, non-values. */
const HOSTILE: FormatRecord[] = [
  rec({ WEB_REF: '12345678' }),
  rec({ WEB_REF: '123456789' }),
  rec({ SURNAME: 'A'.repeat(12) }),
  rec({ SURNAME: 'MÜLLER-LÜDENSCHEIDT-X' }),
  rec({ SURNAME: 'ÅÅÅÅÅÅÅ' }),
  rec({ SURNAME: 'line\nbreak' }),
  rec({ SURNAME: 'cr\rhere' }),
  rec({ SURNAME: '€URO' }),
  rec({ SURNAME: 'WAŁĘSA' }),
  rec({ SURNAME: '\u0081\u009d' }),
  rec({ SURNAME: 'ÿþ' }),
  rec({ SURNAME: '\uD800' }),
  rec({ SURNAME: '😀' }),
  rec({ POSTCODE: 42 }),
  rec({ POSTCODE: true }),
  rec({ POSTCODE: null }),
  rec({ POSTCODE: undefined }),
  rec({ POSTCODE: '' }),
  rec({ POSTCODE: ['x'] }),
  rec({ POSTCODE: new Date('2024-01-02T03:04:05Z') }),
  rec({ FEE: '99999999.99' }),
  rec({ FEE: '1.234' }),
  rec({ FEE: -1 }),
  rec({ FEE: 'twelve' }),
  rec({ FEE: '' }),
  ...['007', '0.00', '0', '0.5', '10.10', '12.', '.5', ' 12', '1,234.56', '£5', '+5', '5-', '1.2.3', '00000000000000', '123456789012345', '9999999.99', '١٢'].map((FEE) => rec({ FEE })),
  rec({ ADJ: '-999.99' }),
  rec({ ADJ: '-0.01' }),
  rec({ ADJ: 12345n }),
  { record: base, children: { VEHICLES: [] } },
  { record: base, children: { VEHICLES: [{ REG: 'AB12 CDE', AMOUNT: '1.50' }] } },
  { record: base, children: { OTHER: [{}] } },
];

async function writeThrough(format: FileFormat, records: FormatRecord[], dir: string): Promise<Buffer> {
  const file = new DropFile(dir, FACTS.name, format.encoding, false);
  await file.open(format.begin(FACTS));
  const totals: FileTotals = { records: 0, lines: 0, sums: Object.fromEntries(format.totals.map((t) => [t.field, 0n])) };
  for (const r of records) {
    const f = format.encode!(r);
    if (!f.ok) continue;
    const wait = file.appendBytes(f.bytes);
    if (wait) await wait;
    addToTotals(totals, f);
  }
  const { head, tail } = format.end(FACTS, totals);
  await file.finish(tail, head);
  await publishDataFile(dir, FACTS.name);
  return readFile(join(dir, FACTS.name));
}

describe('fixed-width bytes (the fast path)', () => {
  for (const encoding of ENCODINGS) {
    it(`gives every record the bytes its text encodes to, or the same error, in ${encoding}`, () => {
      for (const lineEnding of ['crlf', 'none'] as const) {
        const f = fixedWidthFormat(GOLDEN_LAYOUT({ encoding, lineEnding }));
        expect(f.encode).toBeDefined();
        for (const r of [...RECORDS, EURO, POLISH, ...HOSTILE]) {
          const text = f.format(r);
          const bytes = f.encode!(r);
          if (!text.ok) expect(bytes).toEqual(text);
          else {
            expect(bytes.ok).toBe(true);
            if (!bytes.ok) continue;
            expect(Buffer.from(bytes.bytes).toString('hex'), JSON.stringify(r.record)).toBe(encodeText(text.text, encoding).toString('hex'));
            expect([bytes.lines, bytes.amounts]).toEqual([text.lines, text.amounts]);
          }
        }
      }
    });

    it(`writes the golden file byte for byte through the writer in ${encoding}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rekey-fw-bytes-'));
      try {
        const records = [...RECORDS, EURO, POLISH].map((r) => ({ ...r, record: { ...r.record, FORENAMES: String(r.record.FORENAMES).replace(/[\t\r\n]/g, ' ') } }));
        const written = await writeThrough(fixedWidthFormat(GOLDEN_LAYOUT({ encoding })), records, dir);
        expect(written.equals(await readFile(join(GOLDEN_DIR, `fixed-width-${encoding}.dat`)))).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('writes plain digits as renderNumeric does, in zero-filled, blank-padded, left-aligned and wide fields', () => {
    const f = fixedWidthFormat({
      kind: 'fixed-width',
      encoding: 'windows-1252',
      lineEnding: 'lf',
      detail: {
        fields: [
          { name: 'A', length: 7, type: 'numeric', decimals: 2 },
          { name: 'B', length: 6, type: 'numeric', align: 'left', pad: ' ' },
          { name: 'C', length: 20, type: 'numeric', decimals: 6 },
          { name: 'D', length: 9, type: 'numeric', decimals: 14, pad: '#' },
          { name: 'E', length: 4, align: 'right', pad: '*' },
        ],
      },
      trailer: { fields: [{ name: 'S', length: 12, sum: 'A', decimals: 2 }, { name: 'T', length: 24, sum: 'C', decimals: 6 }] },
    });
    const values = ['0', '1', '007', '12.5', '0.01', '99999.99', '100000', '123456789', '1.1234567', '0.00000000000001', '000.000', '', '12.'];
    let written = 0;
    for (const field of ['A', 'B', 'C', 'D', 'E']) {
      for (const value of values) {
        const r = { record: { A: '', B: '', C: '', D: '', E: '', [field]: value }, children: {} };
        const text = f.format(r);
        const bytes = f.encode!(r);
        if (!text.ok) expect(bytes).toEqual(text);
        else if (bytes.ok) {
          expect(Buffer.from(bytes.bytes).toString('latin1'), `${field}: ${value}`).toBe(text.text);
          expect(bytes.amounts).toEqual(text.amounts);
          written++;
        } else expect.fail(`encode refused ${JSON.stringify(r.record)}`);
      }
    }
    expect(written).toBeGreaterThan(30);
  });

  it('has no fast path when a constant cannot be written, and then refuses every record as the text path does', () => {
    const f = fixedWidthFormat({ kind: 'fixed-width', encoding: 'latin1', detail: { fields: [{ name: 'T', length: 2, value: 'Ł' }, { name: 'A', length: 3 }] } });
    expect(f.encode).toBeUndefined();
    expect(f.format({ record: { A: 'x' }, children: {} })).toMatchObject({ ok: false, error: { code: 'FILE_DROP_ENCODING', field: 'T' } });
  });
});
