/**
 * Small helpers for the hand-written, dialect-neutral SQL the ledger and the
 * audit log run: lists and row sets passed as one JSON parameter, and
 * reading values the two drivers return differently (dates as text or Date,
 * bigints as text, booleans as 0/1).
 */
import type { StateStore, StoreTx } from './state-store.js';

/** Up to this many values, SQLite rows are bound one value each: a few rows with long texts (audit entries) are not escaped into JSON. */
const POSITIONAL_MAX = 200;

/**
 * Inserts `rows` (each an array in `columns` order) with ONE statement that
 * reads them from a single JSON parameter: `json_each` (each row parsed
 * once into JSONB) on SQLite, `jsonb_populate_recordset(NULL::<table>, ...)`
 * (typed by the table's own row type) on PostgreSQL. No bind-parameter
 * limit applies. A few rows on SQLite (up to `POSITIONAL_MAX` values) are
 * bound value by value instead. `suffix` is appended (e.g. `ON CONFLICT DO
 * NOTHING`); with `returning` (e.g. `id, key`), resolves to those columns
 * of the rows inserted, in no particular order.
 */
export async function insertMany<R = never>(
  store: StateStore,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  t: StoreTx,
  suffix = '',
  returning?: string,
): Promise<R[]> {
  if (!rows.length) return [];
  const cols = columns.join(',');
  const tail = returning ? `${suffix} RETURNING ${returning}` : suffix;
  const run = (sql: string, params: unknown[]) => (returning ? store.select<R>(sql, params, t) : store.exec(sql, params, t).then(() => []));
  if (store.dialect === 'sqlite') {
    if (rows.length * columns.length <= POSITIONAL_MAX) {
      const values = rows.map((_, r) => `(${columns.map((_c, i) => `$${r * columns.length + i + 1}`).join(', ')})`).join(', ');
      return run(`INSERT INTO ${table} (${cols}) VALUES ${values} ${tail}`, rows.flat());
    }
    const src = sqliteRowSet(rows, 1);
    return run(`WITH ${src.cte} INSERT INTO ${table} (${cols}) SELECT ${src.pick.join(', ')} FROM j WHERE true ${tail}`, src.params);
  }
  const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
  return run(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb) ${tail}`, [JSON.stringify(objects)]);
}

/** SQLite rows bound per statement by {@link sqliteInsertValues}, at most: fewer for wide rows, to stay under SQLite's 32,766 parameters. */
const VALUES_ROWS_PER_STATEMENT = 5_000;
const SQLITE_MAX_PARAMETERS = 32_766;

/**
 * SQLite: inserts `rows` (each an array in `columns` order) as `VALUES`
 * lists, every value a parameter of its own, as many rows a statement as
 * SQLite's parameter limit allows (at most `VALUES_ROWS_PER_STATEMENT`).
 * For values a JSON row set cannot carry (bytes) or should not escape
 * (long texts). `suffix` is appended (e.g. `ON CONFLICT ...`); `as` gives
 * a column's expression by its index, `$` standing for its parameter
 * (e.g. `CAST($ AS TEXT)` for text handed over as UTF-8 bytes).
 */
export async function sqliteInsertValues(
  store: StateStore,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  t: StoreTx,
  suffix = '',
  as: Readonly<Record<number, string>> = {},
): Promise<void> {
  const width = columns.length;
  const per = Math.min(VALUES_ROWS_PER_STATEMENT, Math.floor(SQLITE_MAX_PARAMETERS / width));
  for (let i = 0; i < rows.length; i += per) {
    const part = rows.slice(i, i + per);
    const values = part.map((_, j) => `(${columns.map((_c, c) => (as[c] ?? '$').replace('$', () => `$${width * j + c + 1}`)).join(', ')})`).join(', ');
    await store.exec(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ${suffix}`, part.flatMap((r) => r.slice(0, width)), t);
  }
}

/**
 * Updates rows of `table` by `id`, in ONE statement: each of `rows` is
 * `[id, ...values]`, the values in `columns` order, read from a single JSON
 * parameter (`json_each` on SQLite; `jsonb_populate_recordset` typed by the
 * table's row type on PostgreSQL). `guard` is a further condition on the row
 * as stored (alias `x`; its parameters, `guardParams`, are numbered from
 * `$2`): a row that no longer meets it is left alone.
 */
export async function updateMany(
  store: StateStore,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  t: StoreTx,
  guard = 'true',
  guardParams: readonly unknown[] = [],
): Promise<void> {
  if (!rows.length) return;
  if (store.dialect === 'sqlite') {
    const set = columns.map((c, i) => `${c} = j.value ->> ${i + 1}`).join(', ');
    await store.exec(`UPDATE ${table} AS x SET ${set} FROM json_each($1) AS j WHERE x.id = j.value ->> 0 AND (${guard})`, [JSON.stringify(rows), ...guardParams], t);
    return;
  }
  const objects = rows.map((r) => Object.fromEntries(['id', ...columns].map((c, i) => [c, r[i]])));
  const set = columns.map((c) => `${c} = u.${c}`).join(', ');
  await store.exec(
    `UPDATE ${table} AS x SET ${set} FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb) AS u WHERE x.id = u.id AND (${guard})`,
    [JSON.stringify(objects), ...guardParams],
    t,
  );
}

function isScalar(v: unknown): boolean {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/**
 * SQLite: `rows` (arrays, one value per column) as a CTE `j` to select
 * from, and the expression of each column in `pick`. A column whose value
 * is the same in every row is bound once as a parameter; the others travel
 * in one JSON parameter, each row parsed once into JSONB (extracting a
 * value from it costs about half a microsecond, so a batch whose rows share
 * most columns, such as new ledger rows, sends only the few that differ).
 * Parameters are numbered from `first`.
 */
export function sqliteRowSet(rows: readonly unknown[][], first: number): { cte: string; pick: string[]; params: unknown[] } {
  const width = rows[0]?.length ?? 0;
  const same = Array.from({ length: width }, (_, c) => rows.length > 1 && isScalar(rows[0]![c]) && rows.every((r) => r[c] === rows[0]![c]));
  const params: unknown[] = [null];
  const pick: string[] = [];
  const varying: number[] = [];
  for (let c = 0; c < width; c++) {
    if (same[c]) {
      params.push(rows[0]![c]);
      pick.push(`$${first + params.length - 1}`);
    } else {
      pick.push(`b ->> ${varying.length}`);
      varying.push(c);
    }
  }
  params[0] = JSON.stringify(varying.length === width ? rows : rows.map((r) => varying.map((c) => r[c])));
  return { cte: `j AS MATERIALIZED (SELECT jsonb(value) AS b FROM json_each($${first}))`, pick, params };
}

/** `column IN (<the list in $n>)`, for lists of text values (states, keys) or of row ids (`bigint`). */
export function inList(store: StateStore, column: string, n: number, type: 'text' | 'bigint' = 'text'): string {
  return store.dialect === 'sqlite' ? `${column} IN (SELECT value FROM json_each($${n}))` : `${column} = ANY($${n}::${type}[])`;
}

/** The parameter value `inList` (and lists joined by key) expect for `values`: JSON text on SQLite, an array on PostgreSQL. */
export function listParam(store: StateStore, values: readonly (string | number)[]): unknown {
  return store.dialect === 'sqlite' ? JSON.stringify(values) : [...values];
}

/** A timestamp as stored: ISO 8601 UTC with milliseconds (sorts as text on SQLite). */
export function iso(d: Date): string {
  return d.toISOString();
}

/** Reads a timestamp column (SQLite gives text, PostgreSQL a Date). */
export function readDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(String(v));
}

/** Reads a timestamp column that is never null. */
export function readDateStrict(v: unknown): Date {
  return readDate(v) ?? new Date(NaN);
}

/** Reads an integer column (PostgreSQL gives bigints as text). */
export function readInt(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Reads a boolean column (SQLite gives 0/1). */
export function readBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}

/** Parses a JSON text column; null stays null. */
export function readJson<T>(v: unknown): T | null {
  if (v === null || v === undefined) return null;
  return JSON.parse(String(v)) as T;
}
