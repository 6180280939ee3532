/**
 * `rekey validate --connect` on the PostgreSQL example pipeline, as a real
 * process: the mapping is checked against the live DRV_ADDR_CHG table and
 * each mismatch is printed at its mapping field.
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
