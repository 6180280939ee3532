/**
 * A SQLite table's columns as the mapping check, the writer and read-back
 * take them (the server dialects' come from sql.schema.ts), from PRAGMA
 * table_xinfo: the declared type and the broad family of values it names,
 * the declared length, NOT NULL, default, and whether SQLite assigns the
 * value itself (a generated column, an INTEGER PRIMARY KEY). SQLite stores
 * text of any length in any column; the declared length (`CHAR(35)`) is
 * the legacy application's, and rekey holds values to it as it does on a
 * server. SQLite never pads CHAR(n).
 */
import type { ColumnInfo } from './sql.config.js';
import { familyOf } from './sql.schema.js';
import { sqliteDialect } from './sqlite.dialect.js';

/** One row of PRAGMA table_xinfo, as far as used. */
export interface SqliteColumnRow {
  name: string;
  type: string;
  notnull: number;
  dflt_value: unknown;
  pk: number;
  /** 0 plain, 1 hidden (virtual tables), 2 and 3 generated (virtual, stored). */
  hidden: number;
}

/** PRAGMA table_xinfo of `table` (`table` or `schema.table`); it gives no rows when there is no such table. */
export function tableXinfoSql(table: string): string {
  const dot = table.indexOf('.');
  const q = sqliteDialect.quote;
  return dot < 0 ? `pragma table_xinfo(${q(table)})` : `pragma ${q(table.slice(0, dot))}.table_xinfo(${q(table.slice(dot + 1))})`;
}

/** `rows` of PRAGMA table_xinfo as the driver returns them (hidden columns of virtual tables left out). */
export function sqliteColumnRows(rows: readonly Record<string, unknown>[]): SqliteColumnRow[] {
  return rows
    .map((r) => ({ name: String(r.name), type: String(r.type ?? ''), notnull: Number(r.notnull), dflt_value: r.dflt_value, pk: Number(r.pk), hidden: Number(r.hidden ?? 0) }))
    .filter((r) => r.hidden !== 1);
}

/** The columns of one table, from its {@link sqliteColumnRows}, in order. Pure. */
export function sqliteColumns(rows: readonly SqliteColumnRow[]): ColumnInfo[] {
  const pks = rows.filter((r) => r.pk > 0);
  const rowidAlias = pks.length === 1 && /^INTEGER$/i.test(pks[0]?.type ?? '') ? pks[0]?.name : undefined;
  return rows.map((r) => {
    const family = familyOf(r.type.replace(/\(.*$/, '').trim());
    const length = /\(\s*(\d+)\s*\)\s*$/.exec(r.type)?.[1];
    const c: ColumnInfo = {
      name: r.name,
      type: r.type || 'ANY',
      family,
      fixed: false,
      nullable: r.notnull === 0,
      hasDefault: r.dflt_value !== null && r.dflt_value !== undefined,
      generated: r.hidden === 2 || r.hidden === 3 || r.name === rowidAlias,
    };
    if (family === 'text' && length !== undefined && Number(length) > 0) c.maxLength = Number(length);
    return c;
  });
}
