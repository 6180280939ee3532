/**
 * Reads a table's live definition from the database's catalogue
 * (information_schema, with pg_catalog / sys where it says too little):
 * the table's real name, whether it can be written, its columns (types,
 * lengths, nullability, defaults, identity, character set), its
 * single-column UNIQUE indexes and its primary key. One reader per server
 * dialect; SQLite's lives in sqlite.schema.ts (PRAGMA table_xinfo).
 */
import type { ColumnInfo } from './sql.config.js';
import type { SqlDialectName } from './sql.url.js';

/** A table as the database describes it. */
export interface TableInfo {
  /** `schema.table` (or `database.table`) as the database spells both. */
  name: string;
  /** False for a view that cannot take INSERT or UPDATE. */
  writable: boolean;
  isView: boolean;
  columns: ColumnInfo[];
  /** Upper-cased columns that alone carry a UNIQUE constraint or index (not partial). */
  unique: ReadonlySet<string>;
  /** The primary key's columns as spelt. */
  primaryKey: string[];
}

/** Runs one catalogue query with `$N` parameters. */
export type CatalogQuery = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** The broad family of a database type name. */
export function familyOf(dataType: string): ColumnInfo['family'] {
  const t = dataType.toLowerCase();
  if (/^(bool|boolean|bit)$/.test(t)) return 'boolean';
  if (/char|text|clob|string|enum|set|uuid|xml|json/.test(t)) return 'text';
  if (/^(date)$/.test(t)) return 'date';
  if (/time|date/.test(t)) return 'timestamp';
  if (/int|numeric|decimal|real|double|float|money|number|year/.test(t)) return 'number';
  return 'other';
}

/** Bits of each integer type, by the names the three databases give them. */
const INT_BITS: Readonly<Record<string, number>> = { tinyint: 8, smallint: 16, int2: 16, mediumint: 24, int: 32, integer: 32, int4: 32, bigint: 64, int8: 64 };

/**
 * The numbers a column of `dataType` (its full text `type`: `numeric(5,2)`,
 * `tinyint(3) unsigned`) holds, where the type bounds them; SQL Server's
 * tinyint is unsigned (`unsignedTiny`).
 */
export function numericRange(dataType: string, type: string, unsignedTiny = false): ColumnInfo['numeric'] {
  const dt = dataType.toLowerCase();
  const bits = INT_BITS[dt];
  if (bits !== undefined) {
    const unsigned = /\bunsigned\b/i.test(type) || (dt === 'tinyint' && unsignedTiny);
    const span = 1n << BigInt(bits);
    return unsigned ? { kind: 'integer', min: 0n, max: span - 1n } : { kind: 'integer', min: -(span / 2n), max: span / 2n - 1n };
  }
  if (dt === 'numeric' || dt === 'decimal') {
    const m = /\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)/.exec(type);
    if (m) return { kind: 'decimal', precision: Number(m[1]), scale: Number(m[2] ?? 0) };
  }
  return undefined;
}

const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));
const num = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : Number(v));

function column(name: unknown, type: string, dataType: string, maxLength: unknown, nullable: unknown, hasDefault: boolean, generated: boolean, charset?: string): ColumnInfo {
  const family = familyOf(dataType);
  const info: ColumnInfo = {
    name: String(name),
    type,
    family,
    fixed: family === 'text' && /^(character|char|nchar|bpchar)$/i.test(dataType),
    nullable: String(nullable).toUpperCase() === 'YES',
    hasDefault,
    generated,
  };
  const max = num(maxLength);
  if (family === 'text' && max !== undefined && max > 0) info.maxLength = max;
  if (charset && /^latin1$/i.test(charset)) info.charset = 'latin1';
  return info;
}

/** Picks `wanted` among `names`: the exact spelling, else the one name equal ignoring case. */
function pick(names: string[], wanted: string): string | undefined {
  if (names.includes(wanted)) return wanted;
  const same = names.filter((n) => n.toLowerCase() === wanted.toLowerCase());
  return same.length === 1 ? same[0] : undefined;
}

function split(table: string): [string | undefined, string] {
  const i = table.indexOf('.');
  return i < 0 ? [undefined, table] : [table.slice(0, i), table.slice(i + 1)];
}

async function postgres(query: CatalogQuery, table: string): Promise<TableInfo | undefined> {
  const [schemaWanted, tableWanted] = split(table);
  const [{ s: current } = { s: 'public' }] = (await query('SELECT current_schema() AS s', [])) as { s: string }[];
  const tables = await query(
    `SELECT table_schema AS s, table_name AS t, table_type AS kind, is_insertable_into AS ins FROM information_schema.tables WHERE lower(table_schema) = lower($1) AND lower(table_name) = lower($2)`,
    [schemaWanted ?? current, tableWanted],
  );
  const schema = pick([...new Set(tables.map((r) => String(r.s)))], schemaWanted ?? current);
  const name = pick(tables.filter((r) => r.s === schema).map((r) => String(r.t)), tableWanted);
  const row = tables.find((r) => r.s === schema && r.t === name);
  if (!row || !schema || !name) return undefined;
  const rel = `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
  const cols = await query(
    `SELECT c.column_name AS name, format_type(a.atttypid, a.atttypmod) AS type, c.data_type AS dt, c.udt_name AS udt, c.character_maximum_length AS len,
            c.is_nullable AS nullable, c.column_default AS def, c.is_identity AS ident, c.is_generated AS gen,
            quote_ident(tn.nspname) || '.' || quote_ident(t.typname) AS base
       FROM information_schema.columns c
       JOIN pg_attribute a ON a.attrelid = $3::regclass AND a.attname = c.column_name
       JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
      WHERE c.table_schema = $1 AND c.table_name = $2 ORDER BY c.ordinal_position`,
    [schema, name, rel],
  );
  const uniques = await query(
    `SELECT a.attname AS name, i.indisprimary AS pk, i.indisunique AS uq, i.indnkeyatts AS n, i.indpred IS NULL AS whole
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass`,
    [rel],
  );
  return {
    name: `${schema}.${name}`,
    isView: row.kind === 'VIEW',
    writable: row.ins === 'YES',
    columns: cols.map((c) => {
      const dt = String(c.dt) === 'USER-DEFINED' || String(c.dt) === 'ARRAY' ? String(c.udt) : String(c.dt);
      const def = str(c.def);
      const info = column(c.name, String(c.type), dt, c.len, c.nullable, def !== undefined, c.ident === 'YES' || c.gen === 'ALWAYS' || /^nextval\(/.test(def ?? ''));
      const numeric = numericRange(String(c.udt), String(c.type));
      return { ...info, baseType: String(c.base), ...(numeric && { numeric }) };
    }),
    unique: new Set(uniques.filter((u) => u.uq && u.whole && Number(u.n) === 1).map((u) => String(u.name).toUpperCase())),
    primaryKey: uniques.filter((u) => u.pk).map((u) => String(u.name)),
  };
}

async function mariadb(query: CatalogQuery, table: string): Promise<TableInfo | undefined> {
  const [schemaWanted, tableWanted] = split(table);
  const tables = await query(
    `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, t.TABLE_TYPE AS kind, v.IS_UPDATABLE AS upd
       FROM information_schema.TABLES t LEFT JOIN information_schema.VIEWS v ON v.TABLE_SCHEMA = t.TABLE_SCHEMA AND v.TABLE_NAME = t.TABLE_NAME
      WHERE t.TABLE_SCHEMA = COALESCE($1, DATABASE()) AND lower(t.TABLE_NAME) = lower($2)`,
    [schemaWanted ?? null, tableWanted],
  );
  const name = pick(tables.map((r) => String(r.t)), tableWanted);
  const row = tables.find((r) => r.t === name);
  if (!row || !name) return undefined;
  const schema = String(row.s);
  const cols = await query(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dt, CHARACTER_MAXIMUM_LENGTH AS len, IS_NULLABLE AS nullable,
            COLUMN_DEFAULT AS def, EXTRA AS extra, CHARACTER_SET_NAME AS cs, COLUMN_KEY AS ck
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = $1 AND TABLE_NAME = $2 ORDER BY ORDINAL_POSITION`,
    [schema, name],
  );
  const indexes = await query(
    `SELECT INDEX_NAME AS idx, MIN(COLUMN_NAME) AS name, COUNT(*) AS n FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = $1 AND TABLE_NAME = $2 AND NON_UNIQUE = 0 GROUP BY INDEX_NAME`,
    [schema, name],
  );
  const isView = row.kind === 'VIEW';
  return {
    name: `${schema}.${name}`,
    isView,
    writable: !isView || row.upd === 'YES',
    columns: cols.map((c) => {
      const extra = String(c.extra ?? '').toLowerCase();
      const info = column(c.name, String(c.type), String(c.dt), c.len, c.nullable, c.def !== null && c.def !== undefined, /auto_increment|generated|virtual|persistent|stored/.test(extra), str(c.cs));
      const numeric = numericRange(String(c.dt), String(c.type));
      return numeric ? { ...info, numeric } : info;
    }),
    unique: new Set(indexes.filter((i) => Number(i.n) === 1).map((i) => String(i.name).toUpperCase())),
    primaryKey: cols.filter((c) => c.ck === 'PRI').map((c) => String(c.name)),
  };
}

async function mssql(query: CatalogQuery, table: string): Promise<TableInfo | undefined> {
  const [schemaWanted, tableWanted] = split(table);
  const tables = await query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, TABLE_TYPE AS kind FROM INFORMATION_SCHEMA.TABLES
      WHERE TABLE_SCHEMA = COALESCE($1, SCHEMA_NAME()) AND TABLE_NAME = $2`,
    [schemaWanted ?? null, tableWanted],
  );
  const row = tables[0];
  if (!row) return undefined;
  const schema = String(row.s);
  const name = String(row.t);
  const full = `[${schema}].[${name}]`;
  const cols = await query(
    `SELECT c.name AS name, t.name AS dt, c.max_length AS bytes, c.is_nullable AS nullable, c.default_object_id AS def, c.is_identity AS ident, c.is_computed AS comp,
            c.collation_name AS coll, c.precision AS p, c.scale AS sc
       FROM sys.columns c JOIN sys.types t ON t.user_type_id = c.user_type_id WHERE c.object_id = OBJECT_ID($1) ORDER BY c.column_id`,
    [full],
  );
  const indexes = await query(
    `SELECT i.name AS idx, MIN(c.name) AS name, COUNT(*) AS n, MAX(CAST(i.is_primary_key AS int)) AS pk FROM sys.indexes i
       JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id AND ic.is_included_column = 0
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
      WHERE i.object_id = OBJECT_ID($1) AND i.is_unique = 1 AND i.has_filter = 0 GROUP BY i.name`,
    [full],
  );
  const isView = row.kind === 'VIEW';
  return {
    name: `${schema}.${name}`,
    isView,
    writable: !isView,
    columns: cols.map((c) => {
      const dt = String(c.dt);
      const bytes = Number(c.bytes);
      const len = bytes < 0 ? undefined : /^n/.test(dt) ? bytes / 2 : bytes;
      const type = familyOf(dt) === 'text' ? `${dt}(${len ?? 'max'})` : /decimal|numeric/.test(dt) ? `${dt}(${String(c.p)},${String(c.sc)})` : dt;
      const latin1 = /^(char|varchar|text)$/.test(dt) && /^(Latin1_|SQL_Latin1_)/.test(String(c.coll ?? '')) ? 'latin1' : undefined;
      const info = column(c.name, type, dt, len, c.nullable ? 'YES' : 'NO', Number(c.def) !== 0, Boolean(c.ident) || Boolean(c.comp), latin1);
      const numeric = numericRange(dt, type, true);
      return numeric ? { ...info, numeric } : info;
    }),
    unique: new Set(indexes.filter((i) => Number(i.n) === 1).map((i) => String(i.name).toUpperCase())),
    primaryKey: indexes.filter((i) => Number(i.pk) === 1 && Number(i.n) === 1).map((i) => String(i.name)),
  };
}

/** Reads `table` (`table` or `schema.table`, matched ignoring case when only one name fits); undefined when there is none. */
export function readTable(dialect: Exclude<SqlDialectName, 'sqlite'>, query: CatalogQuery, table: string): Promise<TableInfo | undefined> {
  if (dialect === 'postgres') return postgres(query, table);
  if (dialect === 'mariadb') return mariadb(query, table);
  return mssql(query, table);
}
