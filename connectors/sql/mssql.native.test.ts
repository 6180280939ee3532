import { describe, expect, it } from 'vitest';
import { mssqlTypeOf } from './mssql.native.js';
import { procedureCall, procedureValues } from './sql.procedure.js';
import { mssqlDialect } from './mssql.dialect.js';
import { postgresDialect } from './postgres.dialect.js';
import { mariadbDialect } from './mariadb.dialect.js';
import type { SqlProcedureConfig } from './sql.config.js';

describe('SQL Server parameter types (mssql)', () => {
  it('reads type names as the config and the catalogue write them', () => {
    expect(mssqlTypeOf('varchar(35)')).toEqual({ name: 'VarChar', args: [35] });
    expect(mssqlTypeOf('NVARCHAR(max)')).toEqual({ name: 'NVarChar', args: [-1] });
    expect(mssqlTypeOf('decimal(7, 2)')).toEqual({ name: 'Decimal', args: [7, 2] });
    expect(mssqlTypeOf('int')).toEqual({ name: 'Int', args: [] });
    expect(mssqlTypeOf('char(3)')).toEqual({ name: 'Char', args: [3] });
    expect(mssqlTypeOf('datetime2')).toEqual({ name: 'DateTime2', args: [] });
  });
  it('refuses a type it cannot bind, as a fatal schema problem', () => {
    expect(() => mssqlTypeOf('geography')).toThrow(expect.objectContaining({ code: 'SQL_SCHEMA', disposition: 'fatal' }));
    expect(() => mssqlTypeOf('int; DROP TABLE x')).toThrow(expect.objectContaining({ code: 'SQL_SCHEMA' }));
  });
});

describe('procedure calls by dialect', () => {
  const proc: SqlProcedureConfig = {
    name: 'legacy.open_case',
    params: [
      { name: 'p_key', type: 'varchar(120)', from: '$key' },
      { name: 'p_type', type: 'char(3)', from: 'CASE_TYPE' },
      { name: 'p_id', type: 'int', out: true },
    ],
  };
  const rec = { key: 'k/1', record: { CASE_TYPE: 'COA' }, children: {}, mappingVersion: 'x', uncertain: false };
  it('takes $key and fields in order, NULL for a missing field', () => {
    expect(procedureValues(proc, rec)).toEqual(['k/1', 'COA']);
    expect(procedureValues(proc, { ...rec, record: {} })).toEqual(['k/1', null]);
  });
  it('PostgreSQL: CALL with named, typed parameters and NULL for the OUT one; a function by SELECT', () => {
    expect(procedureCall(postgresDialect, proc, ['k/1', 'COA'])).toEqual({ sql: 'CALL "legacy"."open_case"("p_key" => $1::varchar(120), "p_type" => $2::char(3), "p_id" => NULL::int)', params: ['k/1', 'COA'] });
    const fn = { ...proc, kind: 'function' as const, params: proc.params.slice(0, 2) };
    expect(procedureCall(postgresDialect, fn, ['k/1', 'COA']).sql).toBe('SELECT "legacy"."open_case"("p_key" => $1::varchar(120), "p_type" => $2::char(3)) AS "rekey_ref"');
  });
  it('MariaDB: CALL with the OUT parameter in a session variable, read after', () => {
    expect(procedureCall(mariadbDialect, proc, ['k/1', 'COA'])).toEqual({ sql: 'CALL `legacy`.`open_case`($1, $2, @rekey_ref)', params: ['k/1', 'COA'], then: 'SELECT @rekey_ref AS `rekey_ref`' });
  });
  it('SQL Server without mssql: EXEC with OUTPUT into a declared variable', () => {
    expect(procedureCall(mssqlDialect, proc, ['k/1', 'COA']).sql).toBe('DECLARE @rekey_ref int; EXEC [legacy].[open_case] @p_key = $1, @p_type = $2, @p_id = @rekey_ref OUTPUT; SELECT CONVERT(nvarchar(100), @rekey_ref) AS [rekey_ref]');
  });
});
