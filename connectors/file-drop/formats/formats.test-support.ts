/**
 * Shared data of the format tests: records with hostile values, file facts,
 * and the byte-exact golden comparison (REKEY_UPDATE_GOLDEN=1 rewrites the
 * golden files; review the diff before committing them).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { FixedWidthFormatConfig } from './fixed-width.format.js';
import type { FileFacts, FormatRecord } from './format.types.js';

/** fixtures/file-drop, where golden files live. */
export const GOLDEN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/file-drop');

/** Compares `bytes` with the golden file `name`, byte for byte. */
export function expectGolden(name: string, bytes: Buffer): void {
  const path = resolve(GOLDEN_DIR, name);
  if (process.env.REKEY_UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
  expect(existsSync(path), `golden file ${path} is missing (REKEY_UPDATE_GOLDEN=1 writes it)`).toBe(true);
  const golden = readFileSync(path);
  if (!golden.equals(bytes)) {
    expect(bytes.toString('latin1'), `bytes differ from ${name}`).toBe(golden.toString('latin1'));
    expect(bytes.equals(golden)).toBe(true);
  }
}

/** The facts of the golden files: a fixed date and sequence number. */
export const FACTS: FileFacts = { name: 'DRV_20240305_000042.dat', sequence: 42, createdAt: new Date('2024-03-05T23:30:00Z'), pipeline: 'change-of-address' };

const rec = (record: Record<string, unknown>, children: FormatRecord['children'] = {}): FormatRecord => ({ record, children });

/** Records every encoding can hold (latin1 letters, quotes, separators, formula starts, line breaks). */
export const RECORDS: FormatRecord[] = [
  rec({ WEB_REF: 'AB12CD34', SURNAME: 'SMITH', FORENAMES: 'JOHN PAUL', POSTCODE: 'SW1A 1AA', FEE: '14.00', ADJ: -3, NOTE: 'plain' }),
  rec({ WEB_REF: 'EF56GH78', SURNAME: "O'BRIEN, \"JR\"", FORENAMES: 'SEÁN', POSTCODE: 'CF10 1AA', FEE: 1.1, ADJ: '12.5', NOTE: 'line one\r\nline two' }, { VEHICLES: [{ REG: 'AB12 CDE', AMOUNT: '0.99' }, { REG: 'XY99 ZZZ', AMOUNT: 250 }] }),
  rec({ WEB_REF: 'IJ90KL12', SURNAME: 'MÜLLER-LÜDENSCHEIDT', FORENAMES: 'ZOË ß', POSTCODE: 'LL57 2DG', FEE: '0.10', ADJ: 0, NOTE: '=HYPERLINK("http://x","click")' }),
  rec({ WEB_REF: 'MN34OP56', SURNAME: 'DAVIES', FORENAMES: '+44 TEST', POSTCODE: 'B1 1AA', FEE: 1234567.89, ADJ: '-0.01', NOTE: '-2+3' }),
  rec({ WEB_REF: 'QR78ST90', SURNAME: 'JONES', FORENAMES: '@SUM(A1)', POSTCODE: 'M1 1AE', FEE: null, ADJ: null, NOTE: '\tTAB;SEMI|PIPE £5' }),
];

/** A record with a euro sign: windows-1252 and UTF-8 hold it, latin1 does not. */
export const EURO: FormatRecord = rec({ WEB_REF: 'UV12WX34', SURNAME: 'EUROPA', FORENAMES: 'ANNA', POSTCODE: 'N1 9GU', FEE: '2.50', ADJ: 1, NOTE: 'cost €3' });

/** A record with a Polish letter: only UTF-8 holds it. */
export const POLISH: FormatRecord = rec({ WEB_REF: 'YZ56AB78', SURNAME: 'WAŁĘSA', FORENAMES: 'LECH', POSTCODE: 'E1 6AN', FEE: '3.00', ADJ: 2, NOTE: 'ok' });

/** The fixed-width layout of the golden files (header, detail with a child layout, trailer with totals), UTF-8 unless `over` says. */
export const GOLDEN_LAYOUT = (over: Partial<FixedWidthFormatConfig> = {}): FixedWidthFormatConfig => ({
  kind: 'fixed-width',
  timezone: 'Europe/London',
  header: {
    fields: [
      { name: 'TYPE', length: 1, value: 'H' },
      { name: 'SYSTEM', length: 8, value: 'DRVADDR' },
      { name: 'DATE', length: 8, date: 'yyyyMMdd' },
      { name: 'SEQ', length: 6, sequence: true },
      { name: 'RECORDS', length: 7, count: 'records' },
    ],
    length: 64,
  },
  detail: {
    fields: [
      { name: 'TYPE', length: 1, value: 'D' },
      { name: 'WEB_REF', length: 8 },
      { name: 'SURNAME', length: 12, truncate: true },
      { name: 'FORENAMES', length: 10, truncate: true },
      { name: 'POSTCODE', start: 33, length: 8 },
      { name: 'FEE', length: 10, type: 'numeric', decimals: 2 },
      { name: 'ADJ', length: 6, type: 'numeric', decimals: 2, sign: 'trailing' },
      { name: 'ADJ', length: 5, type: 'numeric', decimals: 2, sign: 'overpunch' },
    ],
    length: 64,
  },
  children: {
    VEHICLES: {
      fields: [
        { name: 'TYPE', length: 1, value: 'V' },
        { name: 'REG', length: 8 },
        { name: 'AMOUNT', length: 9, type: 'numeric', decimals: 2, pad: ' ' },
      ],
      length: 64,
    },
  },
  trailer: {
    fields: [
      { name: 'TYPE', length: 1, value: 'T' },
      { name: 'RECORDS', length: 7, count: 'records' },
      { name: 'LINES', length: 7, count: 'lines' },
      { name: 'FEE_TOTAL', length: 14, sum: 'FEE', decimals: 2 },
      { name: 'ADJ_TOTAL', length: 10, sum: 'ADJ', decimals: 3, sign: 'leading' },
    ],
    length: 64,
  },
  ...over,
});
