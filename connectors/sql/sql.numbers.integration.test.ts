import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlTarget } from './sql.target.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb, caseCtx as ctx } from './sql.test-helpers.js';
import type { MappedRecord } from '../connector.types.js';

const rec = (key: string, record: Record<string, unknown>): MappedRecord => ({ key, record, children: {}, mappingVersion: 'sha256:x', uncertain: false });

describe.each([
  ['PostgreSQL', legacyPostgres],
  ['MariaDB', legacyMariaDb],
])('sql target on %s: numbers checked against the live column types before sending', (name, make) => {
  let db: LegacyDb;
  beforeAll(async () => {
    db = await make();
    const id = name === 'PostgreSQL' ? 'ID INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY' : 'ID INTEGER AUTO_INCREMENT PRIMARY KEY';
    await db.query(`CREATE TABLE ${db.t('orders')} (${id}, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, QTY SMALLINT, AMOUNT NUMERIC(5,2), NAME VARCHAR(5), SEATS ${name === 'PostgreSQL' ? 'SMALLINT' : 'TINYINT UNSIGNED'})`);
  }, 60_000);
  afterAll(() => db?.drop());

  it('rejects a record naming every field out of its column (range, whole number, digits, length), and delivers the rest', async () => {
    const t = sqlTarget.create({ url: db.url, table: db.t('orders'), keyColumn: 'SUBMISSION_KEY' }, { baseDir: '.', pipeline: 't' });
    await t.connect(ctx);
    const out = await t.deliver([rec('n/1', { QTY: 70000, AMOUNT: '1234.5', NAME: 'ABCDEFG', SEATS: 300 }), rec('n/2', { QTY: 12, AMOUNT: 999.99, NAME: 'ABCDE', SEATS: 255 }), rec('n/3', { QTY: 1.5, AMOUNT: '0.125' })], ctx);
    await t.close();
    const pg = name === 'PostgreSQL';
    const table = pg ? db.t('orders') : `${db.url.split('/').pop()}.ORDERS`;
    const c = (col: string, type: string) => `column ${table}.${pg ? col.toLowerCase() : col} (${type})`;
    const seats = pg ? c('SEATS', 'smallint') : c('SEATS', 'tinyint(3) unsigned');
    expect(out[0]).toEqual({
      key: 'n/1',
      status: 'rejected',
      error: {
        code: 'SQL_VALUE',
        disposition: 'reject',
        field: 'QTY, AMOUNT, NAME' + (pg ? '' : ', SEATS'),
        message: [
          `field QTY is out of range for ${c('QTY', pg ? 'smallint' : 'smallint(6)')}: it holds -32768 to 32767`,
          `field AMOUNT has 4 digits before the point; ${c('AMOUNT', pg ? 'numeric(5,2)' : 'decimal(5,2)')} holds at most 3`,
          `field NAME is 7 characters long; ${c('NAME', pg ? 'character varying(5)' : 'varchar(5)')} holds at most 5`,
          ...(pg ? [] : [`field SEATS is out of range for ${seats}: it holds 0 to 255`]),
        ].join('; '),
      },
    });
    expect(out[1]).toMatchObject({ key: 'n/2', status: 'delivered' });
    expect(out[2]).toMatchObject({ key: 'n/3', status: 'rejected', error: { field: 'QTY, AMOUNT' } });
    const rows = await db.query(`SELECT SUBMISSION_KEY AS k FROM ${db.t('orders')} ORDER BY 1`);
    expect(rows.map((r) => r.k ?? r.K)).toEqual(['n/2']);
  });
});
