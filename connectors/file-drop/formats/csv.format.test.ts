import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { csvFormat, type CsvFormatConfig } from './csv.format.js';
import type { OutputEncoding } from './encoding.js';
import { renderFile } from './render.js';
import { EURO, expectGolden, FACTS, POLISH, RECORDS } from './formats.test-support.js';

const COLUMNS = ['WEB_REF', 'SURNAME', 'FORENAMES', 'POSTCODE', 'FEE', 'ADJ', 'NOTE'];
const FLAT = RECORDS.map((r) => ({ ...r, children: {} }));
const ALL = [...FLAT, EURO, POLISH];
const base = (over: Partial<CsvFormatConfig> = {}): CsvFormatConfig => ({ kind: 'csv', columns: COLUMNS, ...over });

describe('csv format', () => {
  for (const encoding of ['utf-8', 'utf-8-bom', 'windows-1252', 'latin1'] as OutputEncoding[]) {
    it(`matches the golden file in ${encoding}, refusing only what ${encoding} cannot hold`, () => {
      const out = renderFile(csvFormat(base({ encoding })), ALL, FACTS);
      expectGolden(`csv-${encoding}.csv`, out.bytes);
      const refused = out.results.flatMap((r, i) => (r.ok ? [] : [{ i, ...r.error }]));
      const expected = [];
      if (encoding === 'latin1') expected.push({ i: 5, code: 'FILE_DROP_ENCODING', disposition: 'reject', field: 'NOTE', message: 'NOTE: character "€" (U+20AC) cannot be written in latin1' });
      if (encoding === 'latin1' || encoding === 'windows-1252') expected.push({ i: 6, code: 'FILE_DROP_ENCODING', disposition: 'reject', field: 'SURNAME', message: `SURNAME: character "Ł" (U+0141) cannot be written in ${encoding}` });
      expect(refused).toEqual(expected);
    });
  }

  it('reads back with csv-parse: every value as written, formula starts behind a quote', () => {
    for (const encoding of ['utf-8-bom', 'windows-1252'] as OutputEncoding[]) {
      const out = renderFile(csvFormat(base({ encoding })), FLAT, FACTS);
      const text = iconv.decode(out.bytes, encoding === 'utf-8-bom' ? 'utf-8' : encoding, { stripBOM: true });
      const rows = parse(text, { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];
      expect(rows).toHaveLength(RECORDS.length);
      RECORDS.forEach((r, i) => {
        for (const c of COLUMNS) {
          const v = r.record[c];
          const s = v === null || v === undefined ? '' : String(v);
          expect(rows[i]![c], `${c} of record ${i + 1}`).toBe(typeof v === 'string' && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
        }
      });
    }
  });

  it('takes its dialect: semicolons, everything quoted, LF, no header, formulas left alone', () => {
    const out = renderFile(csvFormat(base({ delimiter: ';', quoting: 'all', lineEnding: 'lf', header: false, defuseFormulas: false })), FLAT, FACTS);
    expectGolden('csv-semicolon-quoted-lf.csv', out.bytes);
    const rows = parse(out.bytes.toString('utf8'), { delimiter: ';', record_delimiter: '\n' }) as string[][];
    expect(rows.map((r) => r[6])).toEqual(RECORDS.map((r) => String(r.record.NOTE)));
    expect(out.bytes.toString('utf8').split('\n')[0]).toBe('"AB12CD34";"SMITH";"JOHN PAUL";"SW1A 1AA";"14.00";"-3";"plain"');
  });

  it('writes headers from column declarations and the mapping fields by default', () => {
    const f = csvFormat({ kind: 'csv', columns: ['A', { field: 'B', header: 'Bee; "b"' }] });
    expect(f.begin(FACTS)).toBe('A,"Bee; ""b"""\r\n');
    expect(csvFormat({ kind: 'csv' }, ['X', 'Y']).format({ record: { X: 1, Y: '=1' }, children: {} })).toEqual({ ok: true, text: "1,'=1\r\n", lines: 1, amounts: undefined });
    expect(() => csvFormat({ kind: 'csv' })).toThrow(/no columns/);
  });

  it('refuses lists, objects, non-finite numbers and child rows, naming the field', () => {
    const f = csvFormat(base());
    const r = (record: Record<string, unknown>, children = {}) => f.format({ record: { ...RECORDS[0]!.record, ...record }, children });
    expect(r({ NOTE: ['a'] })).toEqual({ ok: false, error: { code: 'FILE_DROP_VALUE', disposition: 'reject', field: 'NOTE', message: 'NOTE: is a list; a file field holds one value' } });
    expect(r({ FEE: { a: 1 } })).toMatchObject({ ok: false, error: { field: 'FEE', message: 'FEE: is an object; a file field holds one value' } });
    expect(r({ FEE: Number.NaN })).toMatchObject({ ok: false, error: { field: 'FEE', message: 'FEE: NaN is not a finite number' } });
    expect(r({}, { VEHICLES: [{ REG: 'X' }] })).toMatchObject({ ok: false, error: { field: 'VEHICLES', code: 'FILE_DROP_VALUE' } });
    expect(r({ SURNAME: 'A\uD800B' })).toMatchObject({ ok: false, error: { field: 'SURNAME', code: 'FILE_DROP_ENCODING', message: 'SURNAME: character (U+D800) cannot be written in utf-8' } });
  });
});
