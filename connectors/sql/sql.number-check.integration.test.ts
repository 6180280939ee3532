/**
 * Issue 21, numeric ranges: `rekey validate --connect` as a real process
 * against live PostgreSQL and MariaDB tables tells, before any record,
 * what the mapping declares of its numbers that the columns cannot hold
 * (a problem: exit 1) or may not hold for some records (a warning on
 * standard error: exit 0), each at its mapping field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekey } from '../../runner/cli.test-helpers.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb } from './sql.test-helpers.js';

describe.each([
  ['PostgreSQL', legacyPostgres],
  ['MariaDB', legacyMariaDb],
])('rekey validate --connect on %s: numbers the mapping declares against the live column types', (name, make) => {
  const pg = name === 'PostgreSQL';
  let db: LegacyDb;
  let dir: string;
  let mapping: string;
  let pipeline: string;
  let table: string;
  const col = (c: string, type: string) => `column ${table}.${pg ? c.toLowerCase() : c} (${type})`;
  const write = (...fields: string[]) => writeFileSync(mapping, ['mapping: orders', 'key: "{{ref}}"', 'fields:', ...fields, ''].join('\n'));
  const run = () => rekey(['validate', '--connect', pipeline], dir, { REKEY_LEGACY_URL: db.url });

  beforeAll(async () => {
    db = await make();
    await db.query(`CREATE TABLE ${db.t('orders')} (SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, QTY SMALLINT, AMOUNT NUMERIC(5,2), SEATS ${pg ? 'SMALLINT' : 'TINYINT UNSIGNED'})`);
    table = pg ? db.t('orders') : `${new URL(db.url).pathname.slice(1)}.ORDERS`;
    dir = mkdtempSync(join(tmpdir(), 'rekey-numbers-'));
    mapping = join(dir, 'orders.yaml');
    pipeline = join(dir, 'pipeline.yaml');
    writeFileSync(join(dir, 'in.ndjson'), '');
    writeFileSync(
      pipeline,
      ['pipeline: orders', 'mapping: ./orders.yaml', 'source: { kind: file, config: { path: ./in.ndjson } }', 'target:', '  kind: sql', '  config:', '    url: { env: REKEY_LEGACY_URL }', `    table: ${db.t('orders')}`, '    keyColumn: SUBMISSION_KEY', ''].join('\n'),
    );
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds nothing to say of numbers bounded to fit', async () => {
    write('  QTY: { from: qty, transform: [{ number: { integer: true } }], validate: { range: { min: 0, max: 999 } } }', '  AMOUNT: { from: amount, transform: [{ formatNumber: 2 }], validate: { range: { min: 0, max: 999.99 } } }', '  SEATS: { const: 4 }');
    const r = await run();
    expect(r.stderr.trim()).toBe('1 file(s) valid');
    expect(r.code).toBe(0);
  });

  it('refuses a range, a constant and decimals the columns cannot hold, naming field, column and reason, every one at once', async () => {
    write('  QTY: { from: qty, transform: [{ number: { integer: true } }], validate: { range: { min: 0, max: 100000 } } }', '  AMOUNT: { from: amount, transform: [{ formatNumber: 3 }], validate: { range: { min: 0, max: 999 } } }', '  SEATS: { const: 300 }');
    const r = await run();
    const seats = pg ? col('SEATS', 'smallint') : col('SEATS', 'tinyint(3) unsigned');
    expect(r.stdout.trim().split('\n')).toEqual([
      `${mapping}:4:3 mapping field QTY: validate range allows up to 100000; ${col('QTY', pg ? 'smallint' : 'smallint(6)')} holds -32768 to 32767`,
      `${mapping}:5:3 mapping field AMOUNT: writes 3 digits after the point (formatNumber { decimals: 3 }); ${col('AMOUNT', pg ? 'numeric(5,2)' : 'decimal(5,2)')} keeps 2`,
      ...(pg ? [] : [`${mapping}:6:3 mapping field SEATS: its constant 300 is out of range; ${seats} holds 0 to 255`]),
    ]);
    expect(r.code).toBe(1);
  });

  it('warns, and passes, of a number with no range into a smallint and of an unrounded number into a decimal', async () => {
    write('  QTY: { from: qty, transform: [{ number: { integer: true } }] }', '  AMOUNT: { from: amount, transform: [number], validate: { range: { min: 0, max: 999 } } }');
    const r = await run();
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `warning: ${mapping}:4:3 mapping field QTY: can be any number (number { integer: true }, no validate range); ${col('QTY', pg ? 'smallint' : 'smallint(6)')} holds -32768 to 32767: a record outside is refused when it is sent, and validate: { range: { min: -32768, max: 32767 } } would refuse it when it is mapped`,
      `warning: ${mapping}:5:3 mapping field AMOUNT: can have more than 2 digits after the point (number); ${col('AMOUNT', pg ? 'numeric(5,2)' : 'decimal(5,2)')} keeps 2: round it in the mapping (formatNumber: { decimals: 2 })`,
      '1 file(s) valid',
    ]);
    expect(r.code).toBe(0);
  });
});
