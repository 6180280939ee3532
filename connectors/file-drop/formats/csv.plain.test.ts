import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvFormat, type CsvFormatConfig } from './csv.format.js';
import { EURO, POLISH, RECORDS } from './formats.test-support.js';

const COLUMNS = ['A', 'B', 'C'];
const VALUES: unknown[] = [
  'plain',
  '',
  ' spaced ',
  'a,b',
  'a;b',
  'a|b',
  'a\tb',
  'a:',
  ':b',
  'a::b',
  'say "hi"',
  "it's",
  '"',
  "'",
  'line\nbreak',
  'cr\rhere',
  'crlf\r\nend',
  'ends with cr\r',
  '=SUM(A1)',
  '-1',
  '@x',
  '+44',
  '\tTAB',
  '\\back\\slash',
  ']^-[',
  'ZOË €5 Wałęsa',
  'SEÁN',
  '€',
  '\u0081',
  '\uD800',
  '😀',
  42,
  -0.5,
  12345678901234567890n,
  true,
  null,
  undefined,
  new Date('2024-01-02T03:04:05Z'),
  ['list'],
  { an: 'object' },
];

const DIALECTS: CsvFormatConfig[] = [
  { kind: 'csv' },
  { kind: 'csv', delimiter: ';', lineEnding: 'lf', header: false },
  { kind: 'csv', delimiter: '|', quote: "'", lineEnding: 'cr' },
  { kind: 'csv', delimiter: '\t', defuseFormulas: false },
  { kind: 'csv', delimiter: ']' },
  { kind: 'csv', delimiter: '^', quote: '-' },
  { kind: 'csv', delimiter: '::' },
  { kind: 'csv', quoting: 'all' },
  { kind: 'csv', encoding: 'latin1' },
  { kind: 'csv', encoding: 'windows-1252', delimiter: ';' },
  { kind: 'csv', encoding: 'utf-8-bom', defuseFormulas: false },
];

describe('csv records without quoting are written as csv-stringify writes them', () => {
  for (const config of DIALECTS) {
    it(`in ${JSON.stringify(config)}`, () => {
      const fast = csvFormat(config, COLUMNS);
      const library = csvFormat(config, COLUMNS, { library: true });
      let compared = 0;
      for (const a of VALUES) {
        for (const b of VALUES) {
          const r = { record: { A: a, B: b, C: 'x' }, children: {} };
          expect(fast.format(r), JSON.stringify([String(a), String(b)])).toEqual(library.format(r));
          compared++;
        }
      }
      for (const r of [...RECORDS, EURO, POLISH].map((x) => ({ record: { A: x.record.SURNAME, B: x.record.NOTE, C: x.record.FEE }, children: {} }))) {
        expect(fast.format(r)).toEqual(library.format(r));
      }
      expect(compared).toBe(VALUES.length ** 2);
      expect(fast.begin({ name: 'f.csv', sequence: 1, createdAt: new Date(), pipeline: 'p' })).toBe(library.begin({ name: 'f.csv', sequence: 1, createdAt: new Date(), pipeline: 'p' }));
    });
  }

  it('parses back with csv-parse to the values written', () => {
    const f = csvFormat({ kind: 'csv', defuseFormulas: false }, COLUMNS);
    const strings = VALUES.filter((v): v is string => typeof v === 'string' && v !== '\uD800');
    const texts = strings.map((v) => {
      const r = f.format({ record: { A: v, B: 'plain', C: '' }, children: {} });
      return r.ok ? r.text : '';
    });
    expect(parse(texts.join(''), { record_delimiter: '\r\n' })).toEqual(strings.map((v) => [v, 'plain', '']));
  });
});
