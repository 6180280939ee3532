/**
 * Parent and child rows in one unit on PostgreSQL, MariaDB and SQLite: an
 * application (a CASES row) with its previous addresses (ADDRESSES rows
 * holding the case's generated CASE_ID), and read-back comparing both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import pino from 'pino';
import { QueryTypes, Sequelize } from 'sequelize';
import type { Ctx, MappedRecord, Target } from '../connector.types.js';
import type { FieldSpec, GroupSpec } from '../../mappings/mapping.types.js';
import { root } from '../../runner/cli.test-helpers.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import { SqlSchemaFailure, type CheckedMapping } from './sql.mapping-check.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb } from './sql.test-helpers.js';

const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
const DRIVER = 'MORGA657054SM9IJ';

const addr = (line: string, over: Record<string, unknown> = {}) => ({ ADDR_KIND: 'P', LINE_1: line, TOWN: 'Cardiff', POSTCODE: 'CF10 1AA', FROM_DATE: '20190101', ...over });
const rec = (key: string, addresses: Record<string, unknown>[], over: Record<string, unknown> = {}, uncertain = false): MappedRecord => ({
  key,
  record: { CASE_TYPE: 'COA', DRIVER_NO: DRIVER, SURNAME: 'MORGAN', MOVE_DATE: '01.02.2024', ...over },
  children: { PREV_ADDR: addresses },
  mappingVersion: 'sha256:x',
  uncertain,
});

function sqliteDb(): LegacyDb & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-sql-children-'));
  const file = join(dir, 'legacy.sqlite');
  let db: Sequelize | undefined;
  const open = () => (db ??= new Sequelize({ dialect: 'sqlite', storage: file, logging: false }));
  return {
    dir,
    dialect: 'sqlite',
    url: `sqlite:${file}`,
    t: (name) => name.toUpperCase(),
    query: async (sql, params = []) => {
      if (/^\s*select/i.test(sql)) return open().query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, replacements: params });
      await open().query(sql, { type: QueryTypes.RAW, replacements: params });
      return [];
    },
    drop: async () => {
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe.each([
  ['PostgreSQL', legacyPostgres],
  ['MariaDB', legacyMariaDb],
  ['SQLite', async () => sqliteDb()],
])('sql target on %s: parent and child rows in one unit', (name, make) => {
  let db: LegacyDb;
  const targets: Target[] = [];
  beforeAll(async () => {
    db = await make();
  }, 60_000);
  afterAll(async () => {
    for (const t of targets) await t.close();
    await db?.drop();
  });

  const sqlite = name === 'SQLite';
  const open = async (config: Partial<SqlTargetConfig> = {}, mapping?: CheckedMapping) => {
    const t = sqlTarget.create(
      {
        url: db.url,
        table: db.t('cases'),
        keyColumn: 'SUBMISSION_KEY',
        children: { PREV_ADDR: { table: db.t('addresses'), parentColumn: 'CASE_ID' } },
        ...(sqlite && { setupSql: 'fixtures/legacy/dvla-cases.sqlite.sql' }),
        ...config,
      },
      { baseDir: root, pipeline: 't', ...(mapping && { mapping: { name: 'm', ...mapping } }) },
    );
    targets.push(t);
    await t.connect(ctx);
    return t;
  };
  const extra = (over: Record<string, unknown>) => (sqlite ? over : { WEB_REF: 'WEB00001', FORENAMES: 'SARAH', POSTCODE: 'SW1A 1AA', ...over });
  const casesOf = async (prefix: string) => db.query(`SELECT CASE_ID AS id, SUBMISSION_KEY AS k FROM ${db.t('cases')} WHERE SUBMISSION_KEY LIKE ? ORDER BY CASE_ID`, [`${prefix}%`]);
  const addressesOf = async (caseId: unknown) => db.query(`SELECT LINE_1 AS line FROM ${db.t('addresses')} WHERE CASE_ID = ? ORDER BY ADDRESS_ID`, [caseId]);

  it('inserts the parent, gives its generated identity to every child row, and writes nothing again for a known key', async () => {
    const t = await open();
    const three = [addr('1 HIGH ST'), addr('2 LOW RD'), addr('3 MILL LANE', { ADDR_KIND: 'N', FROM_DATE: null })];
    const out = await t.deliver([rec('fam/1', three, extra({})), rec('fam/2', [addr('9 PARK RD')], extra({}))], ctx);
    const [c1, c2] = await casesOf('fam/');
    expect(out).toEqual([
      { key: 'fam/1', status: 'delivered', legacyRef: String(c1?.id) },
      { key: 'fam/2', status: 'delivered', legacyRef: String(c2?.id) },
    ]);
    expect((await addressesOf(c1?.id)).map((r) => r.line)).toEqual(['1 HIGH ST', '2 LOW RD', '3 MILL LANE']);
    expect((await addressesOf(c2?.id)).map((r) => r.line)).toEqual(['9 PARK RD']);
    const again = await t.deliver([rec('fam/1', three, extra({}), true)], ctx);
    expect(again).toEqual([{ key: 'fam/1', status: 'delivered', legacyRef: String(c1?.id), alreadyPresent: true }]);
    expect(await casesOf('fam/')).toHaveLength(2);
    expect(await addressesOf(c1?.id)).toHaveLength(3);
  });

  it('a refused child row undoes its parent: that record is rejected with rekey’s reason and the database’s message as legacyText, the rest of the batch goes in', async () => {
    const t = await open();
    const out = await t.deliver(
      [
        rec('bad/1', [addr('1 HIGH ST')], extra({})),
        rec('bad/2', [addr('22 LOW RD'), addr('lower case road')], extra({})),
        rec('bad/3', [], extra({})),
        rec('bad/4', [addr('44 HILL ST')], extra({ SURNAME: 'morgan' })),
      ],
      ctx,
    );
    expect(out.map((o) => o.status)).toEqual(['delivered', 'rejected', 'delivered', 'rejected']);
    const child = out[1] as { error: { code: string; message: string; field?: string; legacyText?: string } };
    expect(child.error).toMatchObject({ code: 'SQL_CONSTRAINT', field: 'PREV_ADDR[].LINE_1' });
    expect(child.error.message).toBe(
      name === 'PostgreSQL'
        ? 'the legacy database refused the record (code 23514, constraint addresses_line_1_check, field PREV_ADDR[].LINE_1)'
        : name === 'MariaDB'
          ? 'the legacy database refused the record (field PREV_ADDR[].LINE_1)'
          : 'the legacy database refused the record (code SQLITE_CONSTRAINT, field PREV_ADDR[].LINE_1)',
    );
    expect(child.error.legacyText).toBe(
      name === 'PostgreSQL'
        ? 'new row for relation "addresses" violates check constraint "addresses_line_1_check"'
        : name === 'MariaDB'
          ? `CONSTRAINT \`ADDRESSES.LINE_1\` failed for \`${db.url.split('/').pop()}\`.\`ADDRESSES\``
          : 'CHECK constraint failed: LINE_1 = upper(LINE_1)',
    );
    expect((out[3] as { error: { field?: string } }).error.field).toBe('SURNAME');
    const cases = (await casesOf('bad/')).sort((a, b) => String(a.k).localeCompare(String(b.k)));
    expect(cases.map((c) => c.k)).toEqual(['bad/1', 'bad/3']);
    expect(await addressesOf(cases[0]?.id)).toHaveLength(1);
    const orphans = await db.query(`SELECT COUNT(*) AS n FROM ${db.t('addresses')} WHERE LINE_1 IN ('22 LOW RD', '44 HILL ST')`);
    expect(Number(orphans[0]?.n)).toBe(0);
  });

  it('rejects child rows of a group the config does not name, and a child field writing the parent column', async () => {
    const t = await open();
    const stray: MappedRecord = { ...rec('grp/1', [], extra({})), children: { VEHICLES: [{ VRM: 'AB12CDE' }] } };
    const out = await t.deliver([stray, rec('grp/2', [addr('1 HIGH ST', { CASE_ID: 7 })], extra({}))], ctx);
    expect(out).toEqual([
      { key: 'grp/1', status: 'rejected', error: { code: 'SQL_VALUE', disposition: 'reject', message: 'the record has child rows of group VEHICLES, which children: does not name (it names PREV_ADDR)' } },
      { key: 'grp/2', status: 'rejected', error: { code: 'SQL_VALUE', disposition: 'reject', message: `field PREV_ADDR[1].CASE_ID writes ${name === 'PostgreSQL' ? db.t('addresses') : name === 'MariaDB' ? `${db.url.split('/').pop()}.ADDRESSES` : 'ADDRESSES'}.${name === 'PostgreSQL' ? 'case_id' : 'CASE_ID'}, which takes the parent row's identity`, field: 'PREV_ADDR[1].CASE_ID' } },
    ]);
    expect(await casesOf('grp/')).toHaveLength(0);
  });

  it('refuses children: outside insert mode at connect', async () => {
    await expect(open({ mode: 'upsert' })).rejects.toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal', message: 'children: writes child rows with their parent in insert mode only, not upsert' });
  });

  describe('read-back compares the child rows too', () => {
    const caseOf = async (...keys: string[]) => Promise.all(keys.map(async (k) => (await db.query(`SELECT CASE_ID AS id FROM ${db.t('cases')} WHERE SUBMISSION_KEY = ?`, [k]))[0]));
    const townsOf = async (caseId: unknown) => (await db.query(`SELECT TOWN AS town FROM ${db.t('addresses')} WHERE CASE_ID = ? ORDER BY ADDRESS_ID`, [caseId])).map((r) => r.town);
    /** Runs `create`, then `work`, and drops what `create` made (`drop`) whatever happens. */
    const withTrigger = async (create: string[], drop: string[], work: () => Promise<void>) => {
      for (const sql of create) await db.query(sql);
      try {
        await work();
      } finally {
        for (const sql of drop) await db.query(sql);
      }
    };
    const schema = () => db.t('addresses').split('.')[0] as string;

    it('confirms a record whose child rows read back as sent', async () => {
      const t = await open({ readBack: true });
      const out = await t.deliver([rec('rbc/1', [addr('1 HIGH ST'), addr('2 LOW RD', { POSTCODE: 'CF5' }), addr('3 MILL LANE', { FROM_DATE: null })], extra({})), rec('rbc/2', [], extra({}))], ctx);
      const [c1, c2] = await caseOf('rbc/1', 'rbc/2');
      expect(out).toEqual([
        { key: 'rbc/1', status: 'delivered', legacyRef: String(c1?.id), confirmed: true },
        { key: 'rbc/2', status: 'delivered', legacyRef: String(c2?.id), confirmed: true },
      ]);
      expect((await addressesOf(c1?.id)).map((r) => r.line)).toEqual(['1 HIGH ST', '2 LOW RD', '3 MILL LANE']);
    });

    it('a trigger that rewrites a child value: the record is delivered unconfirmed, naming group, row and field, and every row is there', async () => {
      const trigger = {
        PostgreSQL: [
          [
            `CREATE FUNCTION ${schema()}.addresses_town_upper() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.town := upper(NEW.town); RETURN NEW; END $$`,
            `CREATE TRIGGER addresses_town_upper BEFORE INSERT ON ${db.t('addresses')} FOR EACH ROW EXECUTE FUNCTION ${schema()}.addresses_town_upper()`,
          ],
          [`DROP TRIGGER addresses_town_upper ON ${db.t('addresses')}`, `DROP FUNCTION ${schema()}.addresses_town_upper()`],
        ],
        MariaDB: [['CREATE TRIGGER ADDRESSES_TOWN_UPPER BEFORE INSERT ON ADDRESSES FOR EACH ROW SET NEW.TOWN = UPPER(NEW.TOWN)'], ['DROP TRIGGER ADDRESSES_TOWN_UPPER']],
        SQLite: [['CREATE TRIGGER ADDRESSES_TOWN_UPPER AFTER INSERT ON ADDRESSES BEGIN UPDATE ADDRESSES SET TOWN = upper(TOWN) WHERE ADDRESS_ID = NEW.ADDRESS_ID; END'], ['DROP TRIGGER ADDRESSES_TOWN_UPPER']],
      }[name] as [string[], string[]];
      await withTrigger(...trigger, async () => {
        const t = await open({ readBack: true });
        const upper = [addr('1 HIGH ST', { TOWN: 'CARDIFF' }), addr('2 LOW RD', { TOWN: 'SWANSEA' })];
        const out = await t.deliver([rec('rbt/1', [...upper, addr('3 MILL LANE')], extra({})), rec('rbt/2', upper, extra({}))], ctx);
        const [c1, c2] = await caseOf('rbt/1', 'rbt/2');
        expect(out).toEqual([
          { key: 'rbt/1', status: 'delivered', legacyRef: String(c1?.id), confirmed: false, mismatches: ['PREV_ADDR[3].TOWN'] },
          { key: 'rbt/2', status: 'delivered', legacyRef: String(c2?.id), confirmed: true },
        ]);
        expect(await townsOf(c1?.id)).toEqual(['CARDIFF', 'SWANSEA', 'CARDIFF']);
        expect(await townsOf(c2?.id)).toEqual(['CARDIFF', 'SWANSEA']);
      });
    });

    it.runIf(name === 'PostgreSQL')('finds the parents of the child rows it reads back one by one in the key’s index, not by scanning the parent table', async () => {
      const query = vi.spyOn(Sequelize.prototype, 'query');
      try {
        const t = await open({ readBack: true });
        const out = await t.deliver(Array.from({ length: 400 }, (_, i) => rec(`rbi/${i}`, [addr('1 HIGH ST')], extra({}))), ctx);
        expect(out.every((o) => o.status === 'delivered' && o.confirmed)).toBe(true);
        const reads = query.mock.calls.filter(([sql]) => String(sql).includes('"rekey_c"'));
        expect(reads).toHaveLength(1);
        const [sql, options] = reads[0] as [string, { bind: unknown[] }];
        expect((options.bind[0] as string[]).length).toBe(400);
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, options.bind).finally(() => client.end());
        const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
        expect(text).toMatch(/Index Scan using cases_submission_key_key/);
        expect(text).not.toMatch(/Seq Scan on cases/);
      } finally {
        query.mockRestore();
      }
    });

    it.runIf(name !== 'MariaDB')('a trigger that silently skips a child row, and one that adds a row: the missing row’s fields and the extra row are named', async () => {
      const trigger = {
        PostgreSQL: [
          [
            `CREATE FUNCTION ${schema()}.addresses_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.line_1 = '99 NOWHERE RD' THEN RETURN NULL; END IF; RETURN NEW; END $$`,
            `CREATE TRIGGER addresses_skip BEFORE INSERT ON ${db.t('addresses')} FOR EACH ROW EXECUTE FUNCTION ${schema()}.addresses_skip()`,
            `CREATE FUNCTION ${schema()}.addresses_copy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${db.t('addresses')} (case_id, addr_kind, line_1, town, postcode) VALUES (NEW.case_id, 'N', 'COPY OF ' || NEW.line_1, NEW.town, NEW.postcode); RETURN NULL; END $$`,
            `CREATE TRIGGER addresses_copy AFTER INSERT ON ${db.t('addresses')} FOR EACH ROW WHEN (NEW.line_1 = '5 TWICE ST') EXECUTE FUNCTION ${schema()}.addresses_copy()`,
          ],
          [`DROP TRIGGER addresses_skip ON ${db.t('addresses')}`, `DROP TRIGGER addresses_copy ON ${db.t('addresses')}`, `DROP FUNCTION ${schema()}.addresses_skip()`, `DROP FUNCTION ${schema()}.addresses_copy()`],
        ],
        SQLite: [
          [
            "CREATE TRIGGER ADDRESSES_SKIP BEFORE INSERT ON ADDRESSES WHEN NEW.LINE_1 = '99 NOWHERE RD' BEGIN SELECT RAISE(IGNORE); END",
            "CREATE TRIGGER ADDRESSES_COPY AFTER INSERT ON ADDRESSES WHEN NEW.LINE_1 = '5 TWICE ST' BEGIN INSERT INTO ADDRESSES (CASE_ID, ADDR_KIND, LINE_1, TOWN, POSTCODE) VALUES (NEW.CASE_ID, 'N', 'COPY OF ' || NEW.LINE_1, NEW.TOWN, NEW.POSTCODE); END",
          ],
          ['DROP TRIGGER ADDRESSES_SKIP', 'DROP TRIGGER ADDRESSES_COPY'],
        ],
      }[name as 'PostgreSQL' | 'SQLite'] as [string[], string[]];
      await withTrigger(...trigger, async () => {
        const t = await open({ readBack: true });
        const out = await t.deliver([rec('rbs/1', [addr('1 HIGH ST'), addr('99 NOWHERE RD')], extra({})), rec('rbs/2', [addr('1 HIGH ST'), addr('5 TWICE ST')], extra({}))], ctx);
        const [c1, c2] = await caseOf('rbs/1', 'rbs/2');
        const missing = ['ADDR_KIND', 'LINE_1', 'TOWN', 'POSTCODE', 'FROM_DATE'].map((f) => `PREV_ADDR[2].${f}`);
        expect(out).toEqual([
          { key: 'rbs/1', status: 'delivered', legacyRef: String(c1?.id), confirmed: false, mismatches: missing },
          { key: 'rbs/2', status: 'delivered', legacyRef: String(c2?.id), confirmed: false, mismatches: ['PREV_ADDR[3]'] },
        ]);
        expect((await addressesOf(c1?.id)).map((r) => r.line)).toEqual(['1 HIGH ST']);
        expect((await addressesOf(c2?.id)).map((r) => r.line)).toEqual(['1 HIGH ST', '5 TWICE ST', 'COPY OF 5 TWICE ST']);
      });
    });
  });

  describe('checks each group’s fields against its child table at connect', () => {
    const at = (line: number) => ({ file: 'm.yaml', line, col: 5 });
    const field = (name: string, line: number, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, transform: [], required: false, pii: false, pos: at(line), ...extra });
    const parent = () => ['CASE_TYPE', 'DRIVER_NO', 'SURNAME', 'MOVE_DATE', ...(sqlite ? [] : ['WEB_REF', 'FORENAMES', 'POSTCODE'])].map((f, i) => field(f, 3 + i));
    const group = (name: string, line: number, fields: FieldSpec[]): GroupSpec => ({ name, each: 'addresses', fields, pos: { file: 'm.yaml', line, col: 3 } });
    const fitting = () => [field('ADDR_KIND', 21), field('LINE_1', 22), field('TOWN', 23), field('POSTCODE', 24), field('FROM_DATE', 25, { transform: [{ name: 'date', args: { from: 'dd/MM/yyyy', to: 'yyyyMMdd' } }] })];

    it('reports nothing for a child table that fits, and delivers', async () => {
      const t = await open({}, { fields: parent(), groups: [group('PREV_ADDR', 20, fitting())] });
      expect((await t.deliver([rec('fit/1', [addr('1 HIGH ST')], extra({}))], ctx))[0]).toMatchObject({ status: 'delivered' });
    });

    it('reports every problem at once, each naming group field and child column, placed at the field or the group', async () => {
      const fields = [
        field('ADDR_KIND', 21),
        field('LINE1', 22),
        field('CITY', 23),
        field('POSTCODE', 24, { validate: { length: 10 } }),
        field('FROM_DATE', 25, { transform: [{ name: 'date', args: { from: 'dd/MM/yyyy', to: 'dd.MM.yyyy' } }] }),
        field('CASE_ID', 26),
        field('ADDRESS_ID', 27),
      ];
      const mapping = { fields: parent(), groups: [group('PREV_ADDR', 20, fields), group('VEHICLES', 30, [field('VRM', 31)])] };
      const config = { children: { PREV_ADDR: { table: db.t('addresses'), parentColumn: 'CASE_ID', columns: { LINE1: 'LINE_ONE' } }, OLD_ADDR: { table: db.t('addresses'), parentColumn: 'CASE_ID' } } };
      const e = await open(config, mapping).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(SqlSchemaFailure);
      expect(e).toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal' });
      const table = name === 'PostgreSQL' ? db.t('addresses') : name === 'MariaDB' ? `${db.url.split('/').pop()}.ADDRESSES` : 'ADDRESSES';
      const c = (column: string) => (name === 'PostgreSQL' ? column.toLowerCase() : column);
      const type = (pg: string, maria: string, lite: string) => (name === 'PostgreSQL' ? pg : name === 'MariaDB' ? maria : lite);
      const char8 = type('character(8)', 'char(8)', 'CHAR(8)');
      expect((e as SqlSchemaFailure).problems.map((p) => p.message)).toEqual([
        `mapping field PREV_ADDR[].LINE1: table ${table} has no column LINE_ONE`,
        `mapping field PREV_ADDR[].CITY: table ${table} has no column CITY (name another in children.PREV_ADDR.columns:)`,
        `mapping field PREV_ADDR[].POSTCODE: can be 10 characters long (validate length 10); column ${table}.${c('POSTCODE')} (${char8}) holds at most 8`,
        `mapping field PREV_ADDR[].FROM_DATE: is a date formatted dd.MM.yyyy (10 characters), longer than column type ${char8} holds (column ${table}.${c('FROM_DATE')} (${char8}))`,
        `mapping field PREV_ADDR[].CASE_ID: column ${table}.${c('CASE_ID')} (${type('integer', 'int(11)', 'INTEGER')}) takes the parent row's identity; the field would overwrite it`,
        `mapping field PREV_ADDR[].ADDRESS_ID: column ${table}.${c('ADDRESS_ID')} (${type('integer', 'int(11)', 'INTEGER')}) is generated by the database (identity, auto-increment or computed) and cannot be written`,
        `column ${table}.${c('LINE_1')} (${type('character varying(30)', 'varchar(30)', 'VARCHAR(30)')}) is NOT NULL without a default, and no mapping field of group PREV_ADDR writes it`,
        `column ${table}.${c('TOWN')} (${type('character varying(30)', 'varchar(30)', 'VARCHAR(30)')}) is NOT NULL without a default, and no mapping field of group PREV_ADDR writes it`,
        'children.OLD_ADDR: the mapping has no group OLD_ADDR (its groups: PREV_ADDR, VEHICLES)',
        'mapping group VEHICLES: no table takes its rows (name one under children:)',
      ]);
      const problems = (e as SqlSchemaFailure).problems;
      expect(problems[1]).toMatchObject({ field: 'PREV_ADDR[].CITY', pos: at(23) });
      expect(problems[6]).toMatchObject({ column: c('LINE_1'), pos: { file: 'm.yaml', line: 20, col: 3 } });
      expect(problems[9]).toMatchObject({ pos: { file: 'm.yaml', line: 30, col: 3 } });
    });
  });
});
