/**
 * Read-back confirmation: after the batch's commit, the rows just written
 * are read again by key and compared, field by field, with what was sent.
 * A difference (a trigger rewrote a value, MariaDB in non-strict mode cut
 * or clipped one) turns the outcome into `delivered` with
 * `confirmed: false` and the differing fields in `mismatches`; a match
 * gives `confirmed: true`. Values are compared as the column holds them:
 * CHAR padding trimmed, dates as calendar days, numbers numerically.
 * Never logs or returns a value, only field names.
 */
import type { Ctx, MappedRecord, Outcome } from '../connector.types.js';
import type { ColumnInfo, SqlTableSpec } from './sql.config.js';
import type { SqlDialect } from './sql.dialect.js';

/** Runs one SELECT with the dialect's placeholders, outside the batch's transaction. */
export type ReadQuery = (sql: string, params: readonly unknown[]) => Promise<Record<string, unknown>[]>;

const pad = (n: number) => String(n).padStart(2, '0');

/** A calendar day `yyyy-MM-dd` of a date value as drivers and mappings give it, or undefined. */
function day(v: unknown): string | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : `${v.getFullYear()}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/.exec(String(v));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

function instant(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  const t = Date.parse(String(v));
  return Number.isNaN(t) ? undefined : t;
}

function truthy(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['1', 't', 'true', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'n', 'no'].includes(s)) return false;
  return undefined;
}

/**
 * Whether the value read back from `column` is the value sent. Pure.
 * Text: equal, trailing spaces ignored for CHAR(n); numbers: equal as
 * numbers; dates: the same day; timestamps: the same instant; booleans:
 * the same truth.
 */
export function sameValue(sent: unknown, got: unknown, column: ColumnInfo | undefined): boolean {
  if (sent === null || sent === undefined || got === null || got === undefined) return (sent ?? null) === (got ?? null);
  if (typeof sent === 'boolean') {
    const b = truthy(got);
    if (b !== undefined) return sent === b;
  }
  const family = column?.family ?? 'text';
  if (family === 'number') {
    const a = Number(sent);
    const b = Number(got);
    if (!Number.isNaN(a) && !Number.isNaN(b)) return a === b;
  } else if (family === 'date') {
    const a = day(sent);
    if (a !== undefined) return a === day(got);
  } else if (family === 'timestamp') {
    const a = instant(sent);
    if (a !== undefined) return a === instant(got);
  } else if (family === 'boolean') {
    const a = truthy(sent);
    if (a !== undefined) return a === truthy(got);
  }
  const text = (v: unknown) => (v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return column?.fixed ? text(sent).trimEnd() === text(got).trimEnd() : text(sent) === text(got);
}

/** Mapping fields of `rec` that are columns of the table (the key column and unknown fields left out), with their columns. */
function comparable(rec: MappedRecord, spec: SqlTableSpec): [string, string][] {
  const key = spec.keyColumn.toUpperCase();
  const out: [string, string][] = [];
  for (const field of Object.keys(rec.record)) {
    if (rec.record[field] === undefined) continue;
    const name = spec.columns[field] ?? field;
    const upper = name.toUpperCase();
    if (upper === key || !spec.known.has(upper)) continue;
    out.push([field, spec.info?.get(upper)?.name ?? name]);
  }
  return out;
}

/**
 * Reads back the rows of the records `batch` delivered (not those already
 * present) and returns their outcomes with `confirmed` set, and
 * `mismatches` (mapping field names, sorted) where a value differs or the
 * row cannot be found. Outcomes of other records are returned unchanged.
 * Rejects with the database's error when the read fails.
 */
export async function confirmByReadBack(read: ReadQuery, dialect: SqlDialect, spec: SqlTableSpec, batch: readonly MappedRecord[], outcomes: readonly Outcome[]): Promise<Outcome[]> {
  const q = (id: string) => dialect.quote(id);
  const matchColumn = spec.matchOn?.column ?? spec.keyColumn;
  const matchOf = (rec: MappedRecord) => (spec.matchOn ? String(rec.record[spec.matchOn.field] instanceof Date ? (rec.record[spec.matchOn.field] as Date).toISOString() : rec.record[spec.matchOn.field]) : rec.key);
  const todo = batch.map((rec, i) => ({ rec, i })).filter(({ i }) => {
    const o = outcomes[i];
    return o?.status === 'delivered' && !o.alreadyPresent;
  });
  if (!todo.length) return [...outcomes];
  const columns = [...new Set(todo.flatMap(({ rec }) => comparable(rec, spec).map(([, c]) => c)))];
  const rows = new Map<string, Record<string, unknown>>();
  const keys = [...new Set(todo.map(({ rec }) => matchOf(rec)))];
  for (let i = 0; i < keys.length; i += dialect.maxKeys) {
    const where = dialect.keyIn(q(matchColumn), keys.slice(i, i + dialect.maxKeys));
    const picks = columns.map((c, n) => `${q(c)} AS ${q(`c${n}`)}`);
    const sql = `SELECT ${[...picks, `${q(matchColumn)} AS ${q('rekey_key')}`].join(', ')} FROM ${q(spec.table)} WHERE ${where.sql}`;
    for (const r of await read(sql, where.params)) rows.set(String(r.rekey_key).trimEnd(), r);
  }
  const out = [...outcomes];
  for (const { rec, i } of todo) {
    const o = out[i] as Extract<Outcome, { status: 'delivered' }>;
    const got = rows.get(matchOf(rec).trimEnd());
    const pairs = comparable(rec, spec);
    const mismatches = got
      ? pairs.filter(([field, column]) => !sameValue(rec.record[field], got[`c${columns.indexOf(column)}`], spec.info?.get(column.toUpperCase()))).map(([field]) => field)
      : pairs.map(([field]) => field);
    out[i] = mismatches.length ? { ...o, confirmed: false, mismatches: mismatches.sort() } : { ...o, confirmed: true };
  }
  return out;
}

/**
 * {@link confirmByReadBack} for a target: logs the mapping fields (never
 * the values) of each record read back different, and when the read fails
 * logs why (its message through `redact`) and returns `outcomes`
 * unchanged, the batch being committed either way. Never rejects.
 */
export async function readBack(read: ReadQuery, dialect: SqlDialect, spec: SqlTableSpec, batch: readonly MappedRecord[], outcomes: Outcome[], ctx: Ctx, redact: (text: string) => string = (t) => t): Promise<Outcome[]> {
  try {
    const confirmed = await confirmByReadBack(read, dialect, spec, batch, outcomes);
    for (const o of confirmed) {
      if (o.status === 'delivered' && o.mismatches) ctx.log.warn({ table: spec.table, key: o.key, fields: o.mismatches }, 'read-back differs from what was sent (a trigger or the database changed these fields)');
    }
    return confirmed;
  } catch (e) {
    ctx.log.warn({ table: spec.table, error: redact(dialect.classify(e).message) }, 'read-back failed: the batch is committed but unconfirmed');
    return outcomes;
  }
}

/** Whether read-back runs: `readBack` when given, else on for upsert and procedure modes. */
export function readBackOn(readBack: boolean | undefined, mode: string | undefined): boolean {
  return readBack ?? (mode === 'upsert' || mode === 'procedure');
}
