/**
 * Read-back confirmation: after the batch's commit, the rows just written
 * are read again by key and compared, field by field, with what was sent.
 * A difference (a trigger rewrote a value, MariaDB in non-strict mode
 * cut or clipped one) turns the outcome into `delivered` with
 * `confirmed: false` and the differing fields in `mismatches`; a match
 * gives `confirmed: true`. Values are compared as the column holds them:
 * CHAR padding trimmed, dates as calendar days, numbers numerically.
 * Never logs or returns a value, only field names.
 *
 * Child rows (`children:`) are compared too. Each child table is read once
 * per batch (per chunk of keys), joined to the parent rows through its
 * parent column and the parent's identity, as the writer inserted them.
 * A record's rows in one table are the rows of its groups for that table,
 * in the order the writer inserted them (group by group, each group's rows
 * in order). Where the table has an order column ({@link SqlChildSpec.order}:
 * a generated key, SQLite's rowid) they are read in its order and paired by
 * position: the n-th row read is the n-th row sent. Without one, the
 * database keeps no order, so a row read is paired with an equal row sent
 * where there is one, and the rest in the order read. A differing value is
 * named `GROUP[i].FIELD`; a row sent but not found names each of its fields
 * (`GROUP[i].FIELD`, or `GROUP[i]` for a row without fields); a row found
 * but not sent is named `GROUP[i]`, `i` counting on from the group's last
 * row sent (the table's first group when the record sent it none).
 */
import type { Ctx, MappedRecord, Outcome } from '../connector.types.js';
import type { ColumnInfo, SqlChildSpec, SqlTableSpec } from './sql.config.js';
import { selectByKeys, type SqlDialect } from './sql.dialect.js';

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

/** Group field -> column (as the database spells it) of the fields of a child row the writer put in `child`'s table: the parent column and unknown fields left out, as the writer refuses them. */
function childComparable(row: Readonly<Record<string, unknown>>, child: SqlChildSpec): [string, string][] {
  const parent = child.parentColumn.toUpperCase();
  const out: [string, string][] = [];
  for (const field of Object.keys(row)) {
    if (row[field] === undefined) continue;
    const name = child.columns[field] ?? field;
    const upper = name.toUpperCase();
    if (upper === parent || !child.known.has(upper)) continue;
    out.push([field, child.info?.get(upper)?.name ?? name]);
  }
  return out;
}

/** One child row sent: its place (`GROUP[i]`), its values and its group's table. */
interface SentChild {
  at: string;
  row: Readonly<Record<string, unknown>>;
  child: SqlChildSpec;
}

/** The groups of `children:` by the table (and parent column) their rows go into, in the config's order. */
function childTables(spec: SqlTableSpec): Record<string, SqlChildSpec>[] {
  const tables = new Map<string, Record<string, SqlChildSpec>>();
  for (const [group, child] of Object.entries(spec.children ?? {})) {
    const id = `${child.table}\u0000${child.parentColumn}`.toUpperCase();
    tables.set(id, { ...tables.get(id), [group]: child });
  }
  return [...tables.values()];
}

/** The rows `rec` sent into the table of `groups`, in the order the writer inserted them (its groups in the record's order), named as the mapping numbers them (`GROUP[n]`, from 1), and the name of the k-th row (from 0) found beyond them. */
function sentInto(rec: MappedRecord, groups: Readonly<Record<string, SqlChildSpec>>): { sent: SentChild[]; extra: (k: number) => string } {
  const sent: SentChild[] = [];
  let last: [string, number] = [Object.keys(groups)[0] as string, 0];
  for (const [group, rows] of Object.entries(rec.children)) {
    const child = Object.hasOwn(groups, group) ? groups[group] : undefined;
    if (!rows.length || !child) continue;
    rows.forEach((row, i) => sent.push({ at: `${group}[${i + 1}]`, row, child }));
    last = [group, rows.length];
  }
  return { sent, extra: (k) => `${last[0]}[${last[1] + k + 1}]` };
}

/**
 * The mismatches of the child rows `rec` sent into one table (the rows of
 * `groups`: the groups `children:` sends there, all naming that table)
 * against `got`, the rows read back from it for the record (column as the
 * database spells it -> value), in the order of the table's
 * {@link SqlChildSpec.order} where it has one: paired and named as the
 * module comment says, in row order; empty when all match. Pure.
 */
export function childRowMismatches(rec: MappedRecord, groups: Readonly<Record<string, SqlChildSpec>>, got: readonly Readonly<Record<string, unknown>>[]): string[] {
  const { sent, extra } = sentInto(rec, groups);
  const differing = (s: SentChild, g: Readonly<Record<string, unknown>>) =>
    childComparable(s.row, s.child)
      .filter(([field, column]) => !sameValue(s.row[field], g[column], s.child.info?.get(column.toUpperCase())))
      .map(([field]) => `${s.at}.${field}`);
  const ordered = Object.values(groups)[0]?.order !== undefined;
  const pairOf: (number | undefined)[] = sent.map((_, i) => (ordered && i < got.length ? i : undefined));
  if (!ordered) {
    const claimed = new Set<number>();
    const claim = (i: number, fits: (j: number) => boolean) => {
      const j = got.findIndex((_, n) => !claimed.has(n) && fits(n));
      if (j < 0) return;
      claimed.add(j);
      pairOf[i] = j;
    };
    for (const [i, s] of sent.entries()) claim(i, (j) => differing(s, got[j] as Record<string, unknown>).length === 0);
    for (const i of sent.keys()) if (pairOf[i] === undefined) claim(i, () => true);
  }
  const out: string[] = [];
  for (const [i, s] of sent.entries()) {
    const j = pairOf[i];
    if (j !== undefined) out.push(...differing(s, got[j] as Record<string, unknown>));
    else {
      const fields = childComparable(s.row, s.child).map(([field]) => `${s.at}.${field}`);
      out.push(...(fields.length ? fields : [s.at]));
    }
  }
  const paired = new Set(pairOf);
  const unsent = got.map((_, j) => j).filter((j) => !paired.has(j));
  return [...out, ...unsent.map((_, k) => extra(k))];
}

/**
 * Reads back the child rows of the records in `todo` (every record
 * delivered by this batch) from each child table, in one query per table
 * and chunk of keys, and returns the differing fields of each record that
 * has any (see the module comment), by its index in the batch.
 */
async function childMismatches(read: ReadQuery, dialect: SqlDialect, spec: SqlTableSpec, todo: readonly { rec: MappedRecord; i: number }[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (!spec.ref || !spec.children) return out;
  const q = (id: string) => dialect.quote(id);
  const [p, c] = [q('rekey_p'), q('rekey_c')];
  const keys = [...new Set(todo.map(({ rec }) => rec.key))];
  for (const groups of childTables(spec)) {
    const child = Object.values(groups)[0] as SqlChildSpec;
    const columns = [...new Set(todo.flatMap(({ rec }) => sentInto(rec, groups).sent.flatMap((r) => childComparable(r.row, r.child).map(([, column]) => column))))];
    const rows = new Map<string, Record<string, unknown>[]>();
    for (let n = 0; n < keys.length; n += dialect.maxKeys) {
      const picks = [`${p}.${q(spec.keyColumn)} AS ${q('rekey_key')}`, ...columns.map((col, k) => `${c}.${q(col)} AS ${q(`c${k}`)}`)];
      const { sql, params } = selectByKeys(dialect, spec, spec.keyColumn, keys.slice(n, n + dialect.maxKeys), picks.join(', '), {
        alias: p,
        join: `JOIN ${q(child.table)} ${c} ON ${c}.${q(child.parentColumn)} = ${p}.${q(spec.ref.column)}`,
        orderBy: child.order ? `ORDER BY ${c}.${q(child.order)}` : undefined,
      });
      for (const r of await read(sql, params)) {
        const key = String(r.rekey_key).trimEnd();
        const row = Object.fromEntries(columns.map((col, k) => [col, r[`c${k}`]]));
        const list = rows.get(key);
        if (list) list.push(row);
        else rows.set(key, [row]);
      }
    }
    for (const { rec, i } of todo) {
      const diffs = childRowMismatches(rec, groups, rows.get(rec.key.trimEnd()) ?? []);
      if (diffs.length) out.set(i, [...(out.get(i) ?? []), ...diffs]);
    }
  }
  return out;
}

/**
 * Reads back the rows of the records `batch` delivered (not those already
 * present), and their child rows where the target has `children:`, and
 * returns their outcomes with `confirmed` set, and `mismatches` where a
 * value differs or a row cannot be found: the parent's mapping field
 * names, sorted, then the child rows' `GROUP[i].FIELD` and `GROUP[i]`
 * (see the module comment), table by table in row order. Outcomes of
 * other records are returned unchanged. Rejects with the database's error
 * when a read fails.
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
    const picks = columns.map((c, n) => `${q(c)} AS ${q(`c${n}`)}`);
    const { sql, params } = selectByKeys(dialect, spec, matchColumn, keys.slice(i, i + dialect.maxKeys), [...picks, `${q(matchColumn)} AS ${q('rekey_key')}`].join(', '));
    for (const r of await read(sql, params)) rows.set(String(r.rekey_key).trimEnd(), r);
  }
  const children = await childMismatches(read, dialect, spec, todo);
  const out = [...outcomes];
  for (const { rec, i } of todo) {
    const o = out[i] as Extract<Outcome, { status: 'delivered' }>;
    const got = rows.get(matchOf(rec).trimEnd());
    const pairs = comparable(rec, spec);
    const differing = got
      ? pairs.filter(([field, column]) => !sameValue(rec.record[field], got[`c${columns.indexOf(column)}`], spec.info?.get(column.toUpperCase()))).map(([field]) => field)
      : pairs.map(([field]) => field);
    const mismatches = [...differing.sort(), ...(children.get(i) ?? [])];
    out[i] = mismatches.length ? { ...o, confirmed: false, mismatches } : { ...o, confirmed: true };
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
