/**
 * Writes one batch of mapped records into one table inside a transaction
 * the caller holds, idempotently by submission key (or by the `matchOn`
 * field's value), for any dialect:
 *
 * 1. keys already in the table are, by mode, reported `delivered` with
 *    `alreadyPresent` and their reference and not written again (insert),
 *    or updated (upsert, update); a key missing in update mode is rejected
 *    (`SQL_NO_ROW`). Every record is probed, so an `uncertain` one needs
 *    nothing more; updates run under one savepoint, and when one fails on a
 *    constraint each runs again under its own, so that only it is rejected;
 * 2. the rest are inserted: bulk-loaded (PostgreSQL COPY) where the
 *    connection can and there are many, else (and when the load fails on
 *    a refused value) rows with the same columns together, in
 *    statements of at most `batchSize` rows under one savepoint; when a
 *    statement fails on a constraint, everything since the savepoint is
 *    undone, the statements before it are written again and its rows are
 *    split in halves under savepoints until the bad rows stand alone, each
 *    rejected with the database's own message, and the others go in; the
 *    statements after it start again under a new savepoint;
 * 3. the new rows' references are read back by key.
 *
 * A record with child rows (insert mode) is inserted on its own with them,
 * under a savepoint of its own (sql.families.ts).
 */
import type { ConnectorError, MappedRecord, Outcome } from '../connector.types.js';
import { ConnectorErrors, ConnectorFailure, connectorError } from '../connector.errors.js';
import { selectByKeys, type SqlDialect, type SqlErrorInfo, type SqlTx } from './sql.dialect.js';
import { sqlRefusal } from './sql.refusal.js';
import type { SqlTableSpec } from './sql.config.js';
import { valueProblem } from './sql.values.js';
import { insertFamilies, prepareChildren, type ChildRow, type Family } from './sql.families.js';

interface Row {
  index: number;
  key: string;
  /** The value that finds the row: the submission key, or the `matchOn` field's value. */
  match: string;
  columns: string[];
  values: unknown[];
  /** The mapping field of each column (the key column's is empty), for naming the field of a refused value. */
  fields: string[];
  /** Child rows, inserted with the row in one unit (see sql.families.ts). */
  children: ChildRow[];
}

type Scalar = string | number | boolean | bigint | Date | null;

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

/**
 * Mapping field -> column (as the database spells it) for one batch, each
 * field looked up once; null for the key column, which takes the
 * submission key instead. Throws `SQL_SCHEMA` for a field with no column.
 */
function columnsOf(spec: SqlTableSpec): (field: string) => string | null {
  const key = spec.keyColumn.toUpperCase();
  const seen = new Map<string, string | null>();
  return (field) => {
    const known = seen.get(field);
    if (known !== undefined) return known;
    const name = spec.columns[field] ?? field;
    const upper = name.toUpperCase();
    if (upper !== key && !spec.known.has(upper)) {
      throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `table ${spec.table} has no column "${name}" for mapping field ${field}: add the column, or name another in columns:`);
    }
    const column = upper === key ? null : (spec.info?.get(upper)?.name ?? name);
    seen.set(field, column);
    return column;
  };
}

function prepare(rec: MappedRecord, index: number, spec: SqlTableSpec, dialect: SqlDialect, columnOf: (field: string) => string | null): Row | ConnectorError {
  const prepared = prepareChildren(rec, spec, dialect);
  const children = Array.isArray(prepared) ? prepared : [];
  if (children.length && (spec.mode ?? 'insert') !== 'insert') return connectorError(ConnectorErrors.SQL_VALUE, `the record has child rows; ${spec.mode} mode writes ${spec.table} alone (child rows go in with insert mode only)`);
  let match = rec.key;
  if (spec.matchOn) {
    const v = rec.record[spec.matchOn.field];
    if (v === undefined || v === null || v === '' || (typeof v === 'object' && !(v instanceof Date))) {
      return connectorError(ConnectorErrors.SQL_VALUE, `field ${spec.matchOn.field} finds the row in ${spec.table} (matchOn) but is empty`, spec.matchOn.field);
    }
    match = v instanceof Date ? v.toISOString() : String(v);
  }
  const row: Row = { index, key: rec.key, match, columns: [], values: [], fields: [], children };
  // Every field that cannot go in is named, not the first only: one correction round, not one per field.
  const bad: { field: string; message: string }[] = [];
  for (const field of Object.keys(rec.record)) {
    const value = rec.record[field];
    if (value === undefined) continue;
    const column = columnOf(field);
    if (column === null) continue;
    if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      bad.push({ field, message: `field ${field} holds ${describe(value)}; a column takes one value` });
      continue;
    }
    const info = spec.info?.get(column.toUpperCase());
    const problem = info && valueProblem(value, info, field, spec.table);
    if (problem) {
      bad.push({ field, message: problem });
      continue;
    }
    row.columns.push(column);
    row.values.push(dialect.toDb(value as Scalar));
    row.fields.push(field);
  }
  if (!Array.isArray(prepared)) bad.push({ field: prepared.field ?? '', message: prepared.message });
  if (bad.length) return connectorError(ConnectorErrors.SQL_VALUE, bad.map((b) => b.message).join('; '), bad.map((b) => b.field).filter(Boolean).join(', ') || undefined);
  if (!(spec.matchOn && spec.mode === 'update')) {
    row.columns.push(spec.info?.get(spec.keyColumn.toUpperCase())?.name ?? spec.keyColumn);
    row.values.push(rec.key);
    row.fields.push('');
  }
  return row;
}

/** The column that finds rows: the matchOn field's, else the key column. */
const matchColumn = (spec: SqlTableSpec) => spec.matchOn?.column ?? spec.keyColumn;

async function refsOf(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, keys: string[]): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const q = (id: string) => dialect.quote(id);
  const column = matchColumn(spec);
  for (let i = 0; i < keys.length; i += dialect.maxKeys) {
    const { sql, params } = selectByKeys(dialect, spec, column, keys.slice(i, i + dialect.maxKeys), `${spec.refExpr} AS ${q('rekey_ref')}, ${q(column)} AS ${q('rekey_key')}`);
    for (const r of await tx.select(sql, params)) refs.set(String(r.rekey_key).trimEnd(), String(r.rekey_ref).trimEnd());
  }
  return refs;
}

function rejected(row: Row, info: SqlErrorInfo): Outcome {
  const fields = new Map(row.fields.map((f, i) => [(row.columns[i] as string).toUpperCase(), f]));
  const field = info.names.map((n) => fields.get(n.toUpperCase())).find((f) => f !== undefined && f !== '');
  return { key: row.key, status: 'rejected', error: sqlRefusal(info, field) };
}

/**
 * Runs one UPDATE per row of `rows` (existing keys) under one savepoint;
 * when one fails on a constraint, all are undone and each runs again under
 * its own savepoint, the failing ones rejected. Rethrows other errors.
 */
async function updateRows(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, rows: readonly Row[], outcomes: (Outcome | undefined)[]): Promise<void> {
  if (!rows.length) return;
  const column = matchColumn(spec).toUpperCase();
  const update = async (r: Row) => {
    const keep = r.columns.map((c, i) => i).filter((i) => (r.columns[i] as string).toUpperCase() !== column);
    if (!keep.length) return;
    const { sql, params } = dialect.updateByKey(spec.table, keep.map((i) => r.columns[i] as string), keep.map((i) => r.values[i]), matchColumn(spec), r.match);
    await tx.execute(sql, params);
  };
  const guarded = async (name: string, work: () => Promise<void>): Promise<unknown> => {
    await tx.execute(dialect.savepoint(name));
    try {
      await work();
      for (const sql of dialect.release(name)) await tx.execute(sql);
      return undefined;
    } catch (e) {
      for (const sql of dialect.rollbackTo(name)) await tx.execute(sql);
      if (dialect.classify(e).kind !== 'constraint') throw e;
      return e;
    }
  };
  const all = await guarded('rekey_upd', async () => {
    for (const r of rows) await update(r);
  });
  if (all === undefined) return;
  for (const [i, r] of rows.entries()) {
    const e = await guarded(`rekey_upd_${i}`, () => update(r));
    if (e !== undefined) {
      const info = dialect.classify(e);
      outcomes[r.index] = rejected(r, info);
    }
  }
}

const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/** Rows with the same columns, in order of first appearance, cut into statements. */
function partsOf(rows: readonly Row[], dialect: SqlDialect, batchSize: number): Row[][] {
  const groups = new Map<string, Row[]>();
  let last: Row[] | undefined;
  for (const r of rows) {
    const prev = last?.[last.length - 1];
    if (last && prev && sameColumns(prev.columns, r.columns)) {
      last.push(r);
      continue;
    }
    const sig = r.columns.join('\u0000');
    last = groups.get(sig);
    if (last) last.push(r);
    else groups.set(sig, (last = [r]));
  }
  const parts: Row[][] = [];
  for (const group of groups.values()) {
    const size = Math.max(1, Math.min(batchSize, dialect.maxRows((group[0] as Row).columns.length)));
    for (let i = 0; i < group.length; i += size) parts.push(group.slice(i, i + size));
  }
  return parts;
}

/** Fewest new rows worth a bulk load rather than INSERT statements. */
export const BULK_MIN_ROWS = 100;

/**
 * Loads `fresh` (keys just probed absent in this transaction) with the
 * connection's bulk load, under a savepoint, when there is one and enough
 * rows, and resolves true. When the load fails on a refused value (or a key
 * another writer inserted since the probe), everything it loaded is undone
 * and it resolves false: the caller inserts by statements, which isolates
 * the bad rows. Rethrows any other error.
 */
async function bulkLoaded(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, fresh: readonly Row[]): Promise<boolean> {
  if (!tx.copyRows || fresh.length < BULK_MIN_ROWS) return false;
  const groups = new Map<string, Row[]>();
  for (const r of fresh) {
    const sig = r.columns.join('\u0000');
    const g = groups.get(sig);
    if (g) g.push(r);
    else groups.set(sig, [r]);
  }
  await tx.execute(dialect.savepoint('rekey_bulk'));
  try {
    for (const rows of groups.values()) await tx.copyRows(spec.table, (rows[0] as Row).columns, rows.map((r) => r.values));
    for (const sql of dialect.release('rekey_bulk')) await tx.execute(sql);
    return true;
  } catch (e) {
    for (const sql of dialect.rollbackTo('rekey_bulk')) await tx.execute(sql);
    if (dialect.classify(e).kind !== 'constraint') throw e;
    return false;
  }
}

/**
 * Inserts `fresh` (keys not in the table, each once) and records in
 * `outcomes` a rejection for each row the database refuses (see the module
 * comment). Rethrows any error that is not a constraint.
 */
async function insertRows(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, fresh: readonly Row[], outcomes: (Outcome | undefined)[]): Promise<void> {
  if (await bulkLoaded(tx, dialect, spec, fresh)) return;
  let savepoints = 0;
  const run = async (sqls: string[]) => {
    for (const sql of sqls) await tx.execute(sql);
  };
  const insert = async (part: Row[]) => {
    const { sql, params } = dialect.insertSkippingKeys(spec.table, (part[0] as Row).columns, part.map((r) => r.values), spec.keyColumn);
    await tx.execute(sql, params);
  };
  const isolate = async (part: Row[]): Promise<void> => {
    const first = part[0] as Row;
    const sp = `rekey_${++savepoints}`;
    await tx.execute(dialect.savepoint(sp));
    try {
      await insert(part);
      await run(dialect.release(sp));
    } catch (e) {
      await run(dialect.rollbackTo(sp));
      const info = dialect.classify(e);
      if (info.kind !== 'constraint') throw e;
      if (part.length === 1) {
        outcomes[first.index] = rejected(first, info);
        return;
      }
      const mid = Math.ceil(part.length / 2);
      await isolate(part.slice(0, mid));
      await isolate(part.slice(mid));
    }
  };
  const parts = partsOf(fresh, dialect, spec.batchSize);
  let from = 0;
  while (from < parts.length) {
    const sp = `rekey_${++savepoints}`;
    await tx.execute(dialect.savepoint(sp));
    let at = from;
    try {
      for (; at < parts.length; at++) await insert(parts[at] as Row[]);
      await run(dialect.release(sp));
      return;
    } catch (e) {
      await run(dialect.rollbackTo(sp));
      if (dialect.classify(e).kind !== 'constraint') throw e;
    }
    for (const part of parts.slice(from, at + 1)) await isolate(part);
    from = at + 1;
  }
}

/**
 * Delivers `batch` through `tx` and returns one outcome per record, in
 * order: `delivered` (with `legacyRef`, and `alreadyPresent` when the key
 * was there before), or `rejected` (`SQL_CONSTRAINT` with the database's
 * message, `SQL_VALUE` for a list or mapping value, child rows, or a value
 * longer than its column or outside its character set, `SQL_NO_ROW` for a
 * missing row in update mode). Throws a
 * {@link ConnectorFailure} `SQL_SCHEMA` when a field has no column, and
 * rethrows any database error that is not a constraint (busy, I/O): the
 * caller rolls the transaction back and decides.
 */
export async function writeBatch(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, batch: readonly MappedRecord[]): Promise<Outcome[]> {
  const mode = spec.mode ?? 'insert';
  const outcomes: (Outcome | undefined)[] = batch.map(() => undefined);
  const rows: Row[] = [];
  const columnOf = columnsOf(spec);
  batch.forEach((rec, i) => {
    const r = prepare(rec, i, spec, dialect, columnOf);
    if ('code' in r) outcomes[i] = { key: rec.key, status: 'rejected', error: r };
    else rows.push(r);
  });
  const existing = await refsOf(tx, dialect, spec, [...new Set(rows.map((r) => r.match))]);
  const fresh: Row[] = [];
  const updates: Row[] = [];
  const repeats: Row[] = [];
  const firstOf = new Map<string, Row>();
  for (const r of rows) {
    const ref = existing.get(r.match);
    if (firstOf.has(r.match)) repeats.push(r);
    else if (ref !== undefined && mode === 'insert') outcomes[r.index] = { key: r.key, status: 'delivered', legacyRef: ref, alreadyPresent: true };
    else {
      firstOf.set(r.match, r);
      if (ref !== undefined) updates.push(r);
      else if (mode === 'update') {
        outcomes[r.index] = { key: r.key, status: 'rejected', error: connectorError(ConnectorErrors.SQL_NO_ROW, `no row of ${spec.table} has ${matchColumn(spec)} = the value of ${spec.matchOn?.field ?? 'the submission key'}; update mode changes existing rows only`, spec.matchOn?.field) };
      } else fresh.push(r);
    }
  }
  await updateRows(tx, dialect, spec, updates, outcomes);
  await insertRows(tx, dialect, spec, fresh.filter((r) => !r.children.length), outcomes);
  const families: Family[] = fresh.filter((r) => r.children.length > 0);
  await insertFamilies(tx, dialect, spec, families, outcomes);
  const refused = fresh.filter((r) => outcomes[r.index]?.status === 'rejected');
  const since = refused.length ? await refsOf(tx, dialect, spec, refused.map((r) => r.match)) : new Map<string, string>();
  for (const r of refused) {
    const ref = since.get(r.match);
    if (ref !== undefined) outcomes[r.index] = { key: r.key, status: 'delivered', legacyRef: ref, alreadyPresent: true };
  }
  const written = [...updates, ...fresh].filter((r) => outcomes[r.index] === undefined);
  const refs = await refsOf(tx, dialect, spec, written.map((r) => r.match));
  for (const r of written) {
    const ref = refs.get(r.match);
    outcomes[r.index] = ref === undefined ? { key: r.key, status: 'delivered' } : { key: r.key, status: 'delivered', legacyRef: ref };
  }
  for (const r of repeats) {
    const first = outcomes[(firstOf.get(r.match) ?? r).index];
    if (first === undefined) continue;
    outcomes[r.index] = first.status === 'delivered' ? { ...first, key: r.key, alreadyPresent: true } : { ...first, key: r.key };
  }
  return outcomes as Outcome[];
}
