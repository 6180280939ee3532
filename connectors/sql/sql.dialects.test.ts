import { describe, expect, it } from 'vitest';
import { classifyMariaDbError, mariadbDialect } from './mariadb.dialect.js';
import { classifyMssqlError, mssqlDialect } from './mssql.dialect.js';
import { classifyPostgresError, postgresDialect } from './postgres.dialect.js';
import { parseSqlUrl } from './sql.url.js';

const wrapped = (parent: Record<string, unknown>) => ({ name: 'SequelizeDatabaseError', message: 'outer', parent });

describe('server dialects: statements fit the parameter limits', () => {
  it.each([
    [postgresDialect, 65_535],
    [mariadbDialect, 65_535],
    [mssqlDialect, 2_099],
  ])('%s: rows x width never exceeds the limit', (d, limit) => {
    expect(d.maxParams).toBe(limit);
    for (const width of [1, 7, 13, 31, 200, 2_000, 5_000]) expect(d.maxRows(width) * width <= limit || d.maxRows(width) === 1).toBe(true);
    expect(mssqlDialect.maxRows(2)).toBe(1000);
    expect(mssqlDialect.maxRows(15)).toBe(139);
  });

  it('SQL Server: a multi-row INSERT with one @ parameter per value, savepoints as SAVE TRANSACTION', () => {
    const s = mssqlDialect.insertSkippingKeys('dbo.CASES', ['SURNAME', 'K'], [['A', 'k1'], ['B', 'k2']], 'K');
    expect(s).toEqual({ sql: 'INSERT INTO [dbo].[CASES] ([SURNAME], [K]) VALUES ($1, $2), ($3, $4)', params: ['A', 'k1', 'B', 'k2'] });
    expect(mssqlDialect.updateByKey('CASES', ['A', 'B'], [1, true], 'K', 'k1')).toEqual({ sql: 'UPDATE [CASES] SET [A] = $1, [B] = $2 WHERE [K] = $3', params: [1, true, 'k1'] });
    expect([mssqlDialect.savepoint('s1'), ...mssqlDialect.rollbackTo('s1'), ...mssqlDialect.release('s1')]).toEqual(['SAVE TRANSACTION [s1]', 'ROLLBACK TRANSACTION [s1]']);
    expect(mssqlDialect.toDb(true)).toBe(1);
  });

  it('PostgreSQL: ON CONFLICT on the key only; keys as one array parameter', () => {
    expect(postgresDialect.insertSkippingKeys('s.cases', ['a', 'k'], [['x', 'k1']], 'k').sql).toBe('INSERT INTO "s"."cases" ("a", "k") VALUES ($1, $2) ON CONFLICT ("k") DO NOTHING');
    expect(postgresDialect.keyIn('"k"', ['a', 'b'])).toEqual({ sql: '"k" = ANY($1)', params: [['a', 'b']] });
  });
});

describe('server dialects: what an error means', () => {
  it.each([
    ['23505', 'constraint'],
    ['23514', 'constraint'],
    ['22001', 'constraint'],
    ['P0001', 'constraint'],
    ['40001', 'busy'],
    ['40P01', 'busy'],
    ['55P03', 'busy'],
    ['57014', 'transient'],
    ['08006', 'transient'],
    ['ECONNREFUSED', 'transient'],
    ['42P01', 'fatal'],
    ['42703', 'fatal'],
    ['42501', 'fatal'],
    ['28P01', 'fatal'],
  ])('PostgreSQL SQLSTATE %s is %s', (code, kind) => {
    expect(classifyPostgresError(wrapped({ code, message: 'm' })).kind).toBe(kind);
  });

  it('marks the errors where the database refused the user (login, grants), in every dialect', () => {
    for (const code of ['28P01', '28000', '42501']) expect(classifyPostgresError(wrapped({ code, message: 'm' }))).toMatchObject({ kind: 'fatal', access: true });
    expect(classifyPostgresError(wrapped({ code: '42P01', message: 'm' })).access).toBeUndefined();
    for (const errno of [1044, 1045, 1142, 1143, 1698]) expect(classifyMariaDbError(wrapped({ errno, sqlMessage: 'm' }))).toMatchObject({ kind: 'fatal', access: true });
    expect(classifyMariaDbError(wrapped({ errno: 1146, sqlMessage: 'm' })).access).toBeUndefined();
  });

  it('PostgreSQL: the column of a check constraint named table_column_check is a candidate field', () => {
    const info = classifyPostgresError(wrapped({ code: '23514', message: 'new row for relation "cases" violates check constraint "cases_surname_check"', table: 'cases', constraint: 'cases_surname_check' }));
    expect(info.names.slice(0, 1)).toEqual(['surname']);
  });

  it.each([
    [1062, 'constraint'],
    [4025, 'constraint'],
    [1406, 'constraint'],
    [1644, 'constraint'],
    [1452, 'constraint'],
    [1213, 'busy'],
    [1205, 'busy'],
    [1969, 'transient'],
    [2013, 'transient'],
    [1146, 'fatal'],
    [1054, 'fatal'],
    [1142, 'fatal'],
    [1471, 'fatal'],
  ])('MariaDB errno %i is %s', (errno, kind) => {
    expect(classifyMariaDbError(wrapped({ errno, sqlMessage: 'm' })).kind).toBe(kind);
  });

  it('MariaDB: a duplicate entry’s value is left out of the message', () => {
    const info = classifyMariaDbError(wrapped({ errno: 1062, sqlMessage: "Duplicate entry 'sarah@example.org' for key 'EMAIL'" }));
    expect(info).toEqual({ kind: 'constraint', message: "Duplicate entry '…' for key 'EMAIL'", names: ['EMAIL'] });
  });

  it.each([
    [2627, 'constraint'],
    [547, 'constraint'],
    [2628, 'constraint'],
    [50001, 'constraint'],
    [1205, 'busy'],
    [1222, 'busy'],
    [208, 'fatal'],
    [207, 'fatal'],
    [229, 'fatal'],
    [4406, 'fatal'],
  ])('SQL Server error %i is %s', (n, kind) => {
    expect(classifyMssqlError(wrapped({ number: n, message: 'm' })).kind).toBe(kind);
  });

  it('SQL Server: a duplicate key value is left out of the message', () => {
    const m = "Violation of UNIQUE KEY constraint 'UQ_EMAIL'. Cannot insert duplicate key in object 'dbo.CASES'. The duplicate key value is (sarah@example.org).";
    expect(classifyMssqlError(wrapped({ number: 2627, message: m })).message).toBe("Violation of UNIQUE KEY constraint 'UQ_EMAIL'. Cannot insert duplicate key in object 'dbo.CASES'.");
  });
});

describe('database URLs', () => {
  it('pick the dialect by scheme', () => {
    expect(parseSqlUrl('postgres://u:p%40ss@db:5433/legacy?ssl=true')).toEqual({ dialect: 'postgres', host: 'db', port: 5433, username: 'u', password: 'p@ss', database: 'legacy', options: { ssl: 'true' } });
    expect(parseSqlUrl('mysql://root@127.0.0.1/test').dialect).toBe('mariadb');
    expect(parseSqlUrl('mssql://sa:x@sql/db').dialect).toBe('mssql');
    expect(parseSqlUrl('sqlite:../legacy.sqlite')).toEqual({ dialect: 'sqlite', path: '../legacy.sqlite' });
    expect(parseSqlUrl('./legacy.sqlite')).toEqual({ dialect: 'sqlite', path: './legacy.sqlite' });
    expect(() => parseSqlUrl('oracle://u:secret@h/db')).toThrow('unknown database URL scheme "oracle://": use postgres://, mariadb://, mysql://, mssql:// or sqlite:');
  });
});
