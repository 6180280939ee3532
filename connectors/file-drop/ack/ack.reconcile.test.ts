import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR } from '../formats/formats.test-support.js';
import type { AckConfig } from './ack.config.js';
import { ackNameFor, decodeAck, matchAcks, reconcileAck } from './ack.reconcile.js';

const FIXED: AckConfig = {
  match: '{name}.ack',
  linePrefix: 'D',
  record: { start: 2, length: 7 },
  status: { start: 9, length: 1 },
  reason: { start: 11, length: 60 },
  accepted: ['A'],
  rejected: ['R'],
};
const CSV: AckConfig = { match: 'ACK_{seq:6}.csv', format: 'csv', delimiter: ';', record: { column: 'record' }, status: { column: 'result' }, reason: { column: 3 }, accepted: ['OK'], rejected: ['REJ'] };
const file = (name: string, seq: number, n: number) => ({ name, seq, keys: Array.from({ length: n }, (_, i) => `form/K${i + 1}`) });
const read = (name: string, c: AckConfig) => decodeAck(readFileSync(resolve(GOLDEN_DIR, 'acks', name)), c);

describe('acknowledgement files', () => {
  it('reconciles a fixed-width answer line by line: accepted, rejected with the reason, problems with line numbers, unanswered records', () => {
    const drop = file('DRV_20240305_000001.dat', 1, 6);
    expect(reconcileAck(drop, 'DRV_20240305_000001.dat.ack', read('DRV_20240305_000001.dat.ack', FIXED), FIXED)).toEqual({
      file: 'DRV_20240305_000001.dat',
      ack: 'DRV_20240305_000001.dat.ack',
      results: [
        { key: 'form/K1', record: 1, status: 'accepted' },
        { key: 'form/K2', record: 2, status: 'rejected', reason: 'E114 POSTCODE NOT ON ADDRESS FILE' },
        { key: 'form/K3', record: 3, status: 'accepted' },
      ],
      unanswered: ['form/K4', 'form/K5', 'form/K6'],
      problems: [
        { line: 5, message: 'record 9 is not in DRV_20240305_000001.dat, which has 6' },
        { line: 6, message: 'record 3 was already answered on line 4' },
        { line: 7, message: 'record number "00000X4" is not a number' },
        { line: 8, message: 'status "Q" of record 5 is neither accepted (A) nor rejected (R)' },
      ],
    });
  });

  it('reconciles a CSV answer by header names and column numbers, a reason with the delimiter in quotes', () => {
    const drop = file('ADDR_000007.csv', 7, 4);
    expect(reconcileAck(drop, 'ACK_000007.csv', read('ACK_000007.csv', CSV), CSV)).toEqual({
      file: 'ADDR_000007.csv',
      ack: 'ACK_000007.csv',
      results: [
        { key: 'form/K1', record: 1, status: 'rejected', reason: 'Licence number not found; check DRIVER_NO' },
        { key: 'form/K2', record: 2, status: 'accepted' },
        { key: 'form/K4', record: 4, status: 'accepted' },
      ],
      unanswered: ['form/K3'],
      problems: [],
    });
  });

  it('keeps a reason without the values it quotes (the legacy system may echo what it refused), first line only', () => {
    const answer = decodeAck(Buffer.from("D0000001R Postcode 'M1 1AE' not on file for \"O'Connor\"\nD0000002R E114\n"), FIXED);
    expect(reconcileAck(file('F.dat', 1, 2), 'F.dat.ack', answer, FIXED).results).toEqual([
      { key: 'form/K1', record: 1, status: 'rejected', reason: 'Postcode "…" not on file for "…"' },
      { key: 'form/K2', record: 2, status: 'rejected', reason: 'E114' },
    ]);
  });

  it('finds the answer to each file by name or sequence number', () => {
    const files = [file('DRV_20240305_000001.dat', 1, 1), file('DRV_20240306_000002.dat', 2, 1), file('ADDR_000007.csv', 7, 1)];
    expect(ackNameFor('{base}.rej', files[0]!)).toBe('DRV_20240305_000001.rej');
    expect(ackNameFor('ACK_{seq:6}.csv', files[2]!)).toBe('ACK_000007.csv');
    expect(matchAcks('{name}.ack', files, ['DRV_20240305_000001.dat.ack', 'other.ack', 'DRV_20240306_000002.dat']).map((m) => m.ack)).toEqual(['DRV_20240305_000001.dat.ack']);
    expect(matchAcks('ACK_{seq:6}.csv', files, ['ACK_000007.csv', 'ACK_000002.csv']).map((m) => `${m.file.name} <- ${m.ack}`)).toEqual(['DRV_20240306_000002.dat <- ACK_000002.csv', 'ADDR_000007.csv <- ACK_000007.csv']);
  });

  it('says when a CSV answer cannot be read at all, leaving every record unanswered', () => {
    const r = reconcileAck(file('F.csv', 1, 2), 'A.csv', 'record;result\n"1;OK\n', CSV);
    expect(r.results).toEqual([]);
    expect(r.unanswered).toEqual(['form/K1', 'form/K2']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.message).toMatch(/^cannot be read as csv: /);
  });
});
