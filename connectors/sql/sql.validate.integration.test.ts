/**
 * `rekey validate --connect` as a real process: on the PostgreSQL example
 * pipeline the mapping is checked against the live DRV_ADDR_CHG table, on
 * a SQLite pipeline against CASES and (group by group) ADDRESSES, and each
 * mismatch is printed at its mapping field.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekey, root } from '../../runner/cli.test-helpers.js';
import { PG_URL } from './sql.test-helpers.js';

const schema = `rekey_v_${randomBytes(4).toString('hex')}`;
let db: Sequelize;
let dir: string;
let pipeline: string;

beforeAll(async () => {
  db = new Sequelize(PG_URL, { logging: false });
  await db.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema};\n${readFileSync(join(root, 'fixtures/legacy/drv_addr_chg.postgres.sql'), 'utf8')}`);
  dir = mkdtempSync(join(tmpdir(), 'rekey-validate-'));
  const text = readFileSync(join(root, 'examples/pipelines/sql-postgres-change-of-address.yaml'), 'utf8')
    .replace('table: DRV_ADDR_CHG', `table: ${schema}.DRV_ADDR_CHG`)
    .replace(/\.\.\/\.\.\//g, `${root}/`)
    .replace('../mappings/', `${root}/examples/mappings/`);
  pipeline = join(dir, 'pipeline.yaml');
  writeFileSync(pipeline, text);
});
afterAll(async () => {
  await db.query(`DROP SCHEMA ${schema} CASCADE`);
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rekey validate --connect (PostgreSQL example pipeline)', () => {
  const env = { REKEY_LEGACY_URL: PG_URL };
  const run = (args: string[]) => {
    Object.assign(process.env, env);
    return rekey(args);
  };

  it('finds the example mapping fits the live table', async () => {
    const r = await run(['validate', '--connect', pipeline]);
    expect(r.stderr.trim()).toBe('1 file(s) valid');
    expect(r.code).toBe(0);
  });

  it('prints each mismatch at its mapping field once the table changes under it', async () => {
    await db.query(`ALTER TABLE ${schema}.drv_addr_chg ALTER COLUMN surname TYPE CHAR(20), ADD COLUMN clerk_id CHAR(6) NOT NULL`);
    const r = await run(['validate', '--connect', pipeline]);
    const mapping = join(root, 'examples/mappings/change-of-address.yaml');
    expect(r.stdout.trim().split('\n')).toEqual([
      `${mapping}:48:3 mapping field SURNAME: can be 35 characters long (validate length max 35); column ${schema}.drv_addr_chg.surname (character(20)) holds at most 20`,
      `${pipeline}:1:1 column ${schema}.drv_addr_chg.clerk_id (character(6)) is NOT NULL without a default, and no mapping field writes it`,
    ]);
    expect(r.code).toBe(1);
  });
});

describe('rekey validate --connect (SQLite, parent and child tables)', () => {
  let home: string;
  let file: string;
  let mapping: string;
  const write = (parent: string[], group: string[]) => {
    writeFileSync(mapping, ['mapping: m', 'fields:', ...parent, 'groups:', '  PREV_ADDR:', '    each: addresses', '    fields:', ...group, ''].join('\n'));
  };
  const fittingParent = ['  CASE_TYPE: { const: COA }', '  DRIVER_NO: { from: driver_no }', '  SURNAME: { from: surname, validate: { length: { max: 35 } } }', '  MOVE_DATE: { from: moved }'];
  const fittingGroup = ['      ADDR_KIND: { const: P }', '      LINE_1: { from: $item.line1 }', '      TOWN: { from: $item.town }', '      POSTCODE: { from: $item.postcode }'];
  const run = () => {
    process.env.REKEY_LEGACY_URL = `sqlite:${join(home, 'legacy.sqlite')}`;
    return rekey(['validate', '--connect', file]);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'rekey-validate-sqlite-'));
    mapping = join(home, 'm.yaml');
    file = join(home, 'pipeline.yaml');
    writeFileSync(join(home, 'in.ndjson'), '');
    writeFileSync(
      file,
      [
        'pipeline: children',
        'mapping: ./m.yaml',
        'source: { kind: file, config: { path: ./in.ndjson } }',
        'target:',
        '  kind: sql',
        '  config:',
        '    url: { env: REKEY_LEGACY_URL }',
        '    table: CASES',
        '    keyColumn: SUBMISSION_KEY',
        `    setupSql: ${join(root, 'fixtures/legacy/dvla-cases.sqlite.sql')}`,
        '    children: { PREV_ADDR: { table: ADDRESSES, parentColumn: CASE_ID } }',
        '',
      ].join('\n'),
    );
    write(fittingParent, fittingGroup);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('finds a mapping that fits CASES and ADDRESSES', async () => {
    const r = await run();
    expect(r.stderr.trim()).toBe('1 file(s) valid');
    expect(r.code).toBe(0);
  });

  it('prints each mismatch of the parent table at its mapping field', async () => {
    write(['  CASE_TYPE: { const: COA }', '  DRIVER_NO: { from: driver_no }', '  SURNAME: { from: surname, validate: { length: { max: 40 } } }'], fittingGroup);
    const r = await run();
    expect(r.stdout.trim().split('\n')).toEqual([
      `${mapping}:5:3 mapping field SURNAME: can be 40 characters long (validate length max 40); column CASES.SURNAME (CHAR(35)) holds at most 35`,
      `${file}:1:1 column CASES.MOVE_DATE (CHAR(10)) is NOT NULL without a default, and no mapping field writes it`,
    ]);
    expect(r.code).toBe(1);
  });

  it('prints each mismatch of a child table at its group field, or at the group', async () => {
    write(fittingParent, ['      ADDR_KIND: { const: P }', '      LINE_1: { from: $item.line1 }', '      CITY: { from: $item.town }', '      POSTCODE: { from: $item.postcode, validate: { length: 10 } }']);
    const r = await run();
    expect(r.stdout.trim().split('\n')).toEqual([
      `${mapping}:13:7 mapping field PREV_ADDR[].CITY: table ADDRESSES has no column CITY (name another in children.PREV_ADDR.columns:)`,
      `${mapping}:14:7 mapping field PREV_ADDR[].POSTCODE: can be 10 characters long (validate length 10); column ADDRESSES.POSTCODE (CHAR(8)) holds at most 8`,
      `${mapping}:8:3 column ADDRESSES.TOWN (VARCHAR(30)) is NOT NULL without a default, and no mapping field of group PREV_ADDR writes it`,
    ]);
    expect(r.code).toBe(1);
  });
});
