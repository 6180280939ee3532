import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { OutputEncoding } from './encoding.js';
import { fixedWidthFormat } from './fixed-width.format.js';
import { renderFile } from './render.js';
import { EURO, expectGolden, FACTS, GOLDEN_LAYOUT as LAYOUT, POLISH, RECORDS } from './formats.test-support.js';


/** Sums a column of the detail lines by reading digits off the file, independently of the format's code. */
function columnSum(lines: string[], start: number, length: number, decimalsIn: number, decimalsOut: number): bigint {
  let sum = 0n;
  for (const l of lines.filter((x) => x.startsWith('D'))) {
    const raw = l.slice(start - 1, start - 1 + length).trim();
    if (raw === '') continue;
    const sign = raw.endsWith('-') ? -1n : 1n;
    sum += sign * BigInt(raw.replace(/[+-]$/, ''));
  }
  return sum * 10n ** BigInt(decimalsOut - decimalsIn);
}

describe('fixed-width format', () => {
  for (const encoding of ['utf-8', 'utf-8-bom', 'windows-1252', 'latin1'] as OutputEncoding[]) {
    it(`matches the golden file in ${encoding}; header and trailer totals agree with the lines`, () => {
      const records = [...RECORDS, EURO, POLISH].map((r) => ({ ...r, record: { ...r.record, FORENAMES: String(r.record.FORENAMES).replace(/[\t\r\n]/g, ' ') } }));
      const out = renderFile(fixedWidthFormat(LAYOUT({ encoding })), records, FACTS);
      expectGolden(`fixed-width-${encoding}.dat`, out.bytes);
      const bytes = encoding === 'utf-8-bom' ? out.bytes.subarray(3) : out.bytes;
      expect(iconv.decode(bytes, encoding.startsWith('utf-8') ? 'utf-8' : encoding)).toContain('MÜLLER-LÜD');
      const lines = bytes.toString('latin1').split('\r\n');
      expect(lines.pop()).toBe('');
      const refused = out.results.flatMap((r, i) => (r.ok ? [] : [i]));
      expect(refused).toEqual(encoding.startsWith('utf-8') ? [] : [6]);
      const details = lines.filter((l) => l.startsWith('D'));
      expect(details).toHaveLength(records.length - refused.length);
      const header = lines[0]!;
      const trailer = lines.at(-1)!;
      expect(header.slice(0, 23)).toBe('HDRVADDR 20240305000042');
      expect(Number(header.slice(23, 30))).toBe(details.length);
      expect(trailer[0]).toBe('T');
      expect(Number(trailer.slice(1, 8))).toBe(details.length);
      expect(Number(trailer.slice(8, 15))).toBe(lines.length);
      expect(BigInt(trailer.slice(15, 29))).toBe(columnSum(lines, 41, 10, 2, 2));
      const adj = trailer.slice(29, 39);
      expect(BigInt(adj.slice(1)) * (adj[0] === '-' ? -1n : 1n)).toBe(columnSum(lines, 51, 6, 2, 3));
      for (const l of lines) expect(l.length).toBe(64);
    });
  }

  it('writes implied decimals, zero-fill, signs and zoned overpunch exactly', () => {
    const f = fixedWidthFormat({
      kind: 'fixed-width',
      lineEnding: 'lf',
      detail: {
        fields: [
          { name: 'A', length: 7, type: 'numeric', decimals: 2 },
          { name: 'B', length: 6, type: 'numeric', decimals: 2, sign: 'leading' },
          { name: 'C', length: 5, type: 'numeric', decimals: 1, sign: 'overpunch' },
          { name: 'D', length: 6, type: 'numeric', align: 'left', pad: ' ' },
          { name: 'E', length: 4, align: 'right', pad: '*' },
        ],
      },
    });
    const line = (record: Record<string, unknown>) => {
      const r = f.format({ record, children: {} });
      return r.ok ? r.text : r.error.message;
    };
    expect(line({ A: '1.5', B: -0.07, C: '-12.3', D: 42, E: 'ab' })).toBe('0000150-000070012L42    **ab\n');
    expect(line({ A: 0.3, B: '+99.99', C: 10, D: '0', E: '' })).toBe('0000030+099990010{0     ****\n');
    expect(line({ A: '1,234.56', B: 0, C: '0.1', D: null, E: 'abcd' })).toBe('0123456+000000000A      abcd\n');
    expect(line({ A: '1.234', B: 0, C: 0, D: 0, E: '' })).toBe('A: has 3 decimal places; the field has 2');
    expect(line({ A: '100000', B: 0, C: 0, D: 0, E: '' })).toBe('A: needs 8 digits; the field holds 7');
    expect(line({ A: '-1', B: 0, C: 0, D: 0, E: '' })).toBe('A: is negative and the field has no sign');
    expect(line({ A: 'twelve', B: 0, C: 0, D: 0, E: '' })).toBe('A: is not a number');
    expect(line({ A: 1, B: 0, C: 0, D: 0, E: 'abcde' })).toBe('E: is 5 bytes long; the field holds 4');
    expect(line({ A: 1, B: 0, C: 0, D: 0, E: 'a\nb' })).toBe('E: holds a line break, which would split the record');
  });

  it('refuses an unencodable character and a too-long value, naming the field; truncates only where asked', () => {
    const f = fixedWidthFormat(LAYOUT({ encoding: 'latin1' }));
    const r = f.format({ record: { ...RECORDS[0]!.record, SURNAME: 'WAŁĘSA' }, children: {} });
    expect(r).toEqual({ ok: false, error: { code: 'FILE_DROP_ENCODING', disposition: 'reject', field: 'SURNAME', message: 'SURNAME: character "Ł" (U+0141) cannot be written in latin1' } });
    const long = f.format({ record: { ...RECORDS[0]!.record, SURNAME: 'A'.repeat(20), WEB_REF: 'TOOLONGREF' }, children: {} });
    expect(long).toMatchObject({ ok: false, error: { field: 'WEB_REF', message: 'WEB_REF: is 10 characters long; the field holds 8' } });
    const cut = fixedWidthFormat(LAYOUT({ encoding: 'utf-8' })).format({ record: { ...RECORDS[0]!.record, SURNAME: 'ÅÅÅÅÅÅÅ' }, children: {} });
    expect(cut.ok && cut.text.slice(9, 25)).toBe('ÅÅÅÅÅÅJOHN PAUL ');
    const child = f.format({ record: RECORDS[0]!.record, children: { VEHICLES: [{ REG: 'A', AMOUNT: 'x' }] } });
    expect(child).toMatchObject({ ok: false, error: { field: 'VEHICLES[1].AMOUNT', message: 'VEHICLES[1].AMOUNT: is not a number' } });
    expect(f.format({ record: RECORDS[0]!.record, children: { OTHER: [{}] } })).toMatchObject({ ok: false, error: { field: 'OTHER' } });
  });

  it('refuses layouts that cannot work, listing every problem', () => {
    expect(() =>
      fixedWidthFormat({
        kind: 'fixed-width',
        detail: { fields: [{ name: 'A', length: 5 }, { name: 'B', start: 3, length: 2 }, { name: 'C', length: 1, decimals: 2 }], length: 4 },
        trailer: { fields: [{ name: 'S', length: 5, sum: 'A' }, { name: 'X', length: 2 }] },
      }),
    ).toThrow(
      'fixed-width layout: detail.B starts at column 3, inside detail.A (which ends at column 5); detail.C: decimals and sign apply to numeric fields; detail: length 4 is shorter than its fields, which end at column 8',
    );
    expect(() => fixedWidthFormat({ kind: 'fixed-width', detail: { fields: [{ name: 'A', length: 5, type: 'numeric', decimals: 2 }] }, trailer: { fields: [{ name: 'S', length: 5, sum: 'A' }, { name: 'X', length: 2 }] } })).toThrow(
      'fixed-width layout: trailer.S: 0 decimals cannot hold the total of A, which has 2; trailer.X: a header or trailer field needs a value, count, sum, date, sequence or fileName',
    );
  });

  it('sums exactly where floating point would drift, and says when a total does not fit', () => {
    const f = fixedWidthFormat({
      kind: 'fixed-width',
      detail: { fields: [{ name: 'V', length: 6, type: 'numeric', decimals: 2 }] },
      trailer: { fields: [{ name: 'T', length: 8, sum: 'V', decimals: 2 }, { name: 'N', length: 2, count: 'records' }] },
    });
    const records = Array.from({ length: 10 }, () => ({ record: { V: 0.1 }, children: {} }));
    const out = renderFile(f, records, FACTS);
    expect(records.reduce((a, r) => a + r.record.V, 0)).not.toBe(1);
    expect(out.bytes.toString('latin1').split('\r\n').at(-2)).toBe('0000010010');
    expect(f.maxRecords).toBe(97);
    const many = Array.from({ length: 100 }, () => ({ record: { V: 1 }, children: {} }));
    expect(() => renderFile(f, many, FACTS)).toThrow('file DRV_20240305_000042.dat: trailer.N: needs 3 digits; the field holds 2');
  });
});
