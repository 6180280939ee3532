/**
 * Writes one batch of mapped records into one table inside a transaction
 * the caller holds, idempotently by submission key, for any dialect:
 *
 * 1. keys already in the table are reported `delivered` with
 *    `alreadyPresent` and their reference, and are not written again (every
 *    record is probed, so an `uncertain` one needs nothing more);
 * 2. the rest are inserted, rows with the same columns together, in
 *    statements of at most `batchSize` rows under one savepoint; when a
 *    statement fails on a constraint, everything since the savepoint is
 *    undone, the statements before it are written again and its rows are
 *    split in halves under savepoints until the bad rows stand alone, each
 *    rejected with the database's own message, and the others go in; the
 *    statements after it start again under a new savepoint;
 * 3. the new rows' references are read back by key.
 */
import type { ConnectorError, MappedRecord, Outcome } from '../connector.types.js';
import { ConnectorCodes, ConnectorFailure, connectorError } from '../connector.errors.js';
import type { SqlDialect, SqlTx } from './sql.dialect.js';
import type { SqlTableSpec } from './sql.config.js';

interface Row {
  index: number;
  key: string;
  columns: string[];
  values: unknown[];
  /** The mapping field of each column but the key (the last), for naming the field of a refused value. */
  fields: string[];
}

type Scalar = string | number | boolean | bigint | Date | null;

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

/**
 * Mapping field -> column for one batch, each field looked up once; null for
 * the key column, which takes the submission key instead. Throws
 * `SQL_SCHEMA` for a field with no column.
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
      throw new ConnectorFailure(ConnectorCodes.SQL_SCHEMA, 'fatal', `table ${spec.table} has no column "${name}" for mapping field ${field}: add the column, or name another in columns:`);
    }
    const column = upper === key ? null : name;
    seen.set(field, column);
    return column;
  };
}

function prepare(rec: MappedRecord, index: number, spec: SqlTableSpec, dialect: SqlDialect, columnOf: (field: string) => string | null): Row | ConnectorError {
  const groups = Object.entries(rec.children).filter(([, rows]) => rows.length > 0).map(([name]) => name);
  if (groups.length) return connectorError(ConnectorCodes.SQL_VALUE, 'reject', `the record has child rows (${groups.join(', ')}); this target writes one table`);
  const row: Row = { index, key: rec.key, columns: [], values: [], fields: [] };
  for (const field of Object.keys(rec.record)) {
    const value = rec.record[field];
    if (value === undefined) continue;
    const column = columnOf(field);
    if (column === null) continue;
    if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      return connectorError(ConnectorCodes.SQL_VALUE, 'reject', `field ${field} holds ${describe(value)}; a column takes one value`, field);
    }
    row.columns.push(column);
    row.values.push(dialect.toDb(value as Scalar));
    row.fields.push(field);
  }
  row.columns.push(spec.keyColumn);
  row.values.push(rec.key);
  return row;
}

async function refsOf(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, keys: string[]): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const q = (id: string) => dialect.quote(id);
  for (let i = 0; i < keys.length; i += dialect.maxKeys) {
    const where = dialect.keyIn(q(spec.keyColumn), keys.slice(i, i + dialect.maxKeys));
    const sql = `SELECT ${spec.refExpr} AS ${q('rekey_ref')}, ${q(spec.keyColumn)} AS ${q('rekey_key')} FROM ${q(spec.table)} WHERE ${where.sql}`;
    for (const r of await tx.select(sql, where.params)) refs.set(String(r.rekey_key), String(r.rekey_ref));
  }
  return refs;
}

function rejected(row: Row, message: string, names: string[]): Outcome {
  const fields = new Map(row.fields.map((f, i) => [(row.columns[i] as string).toUpperCase(), f]));
  const field = names.map((n) => fields.get(n.toUpperCase())).find((f) => f !== undefined);
  return { key: row.key, status: 'rejected', error: connectorError(ConnectorCodes.SQL_CONSTRAINT, 'reject', message, field) };
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

/**
 * Inserts `fresh` (keys not in the table, each once) and records in
 * `outcomes` a rejection for each row the database refuses (see the module
 * comment). Rethrows any error that is not a constraint.
 */
async function insertRows(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, fresh: readonly Row[], outcomes: (Outcome | undefined)[]): Promise<void> {
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
        outcomes[first.index] = rejected(first, info.message, info.names);
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
 * message, `SQL_VALUE` for a list or mapping value or child rows). Throws a
 * {@link ConnectorFailure} `SQL_SCHEMA` when a field has no column, and
 * rethrows any database error that is not a constraint (busy, I/O): the
 * caller rolls the transaction back and decides.
 */
export async function writeBatch(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, batch: readonly MappedRecord[]): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = batch.map(() => undefined);
  const rows: Row[] = [];
  const columnOf = columnsOf(spec);
  batch.forEach((rec, i) => {
    const r = prepare(rec, i, spec, dialect, columnOf);
    if ('code' in r) outcomes[i] = { key: rec.key, status: 'rejected', error: r };
    else rows.push(r);
  });
  const existing = await refsOf(tx, dialect, spec, [...new Set(rows.map((r) => r.key))]);
  const fresh: Row[] = [];
  const repeats: Row[] = [];
  const firstOf = new Map<string, Row>();
  for (const r of rows) {
    const ref = existing.get(r.key);
    if (ref !== undefined) outcomes[r.index] = { key: r.key, status: 'delivered', legacyRef: ref, alreadyPresent: true };
    else if (firstOf.has(r.key)) repeats.push(r);
    else {
      firstOf.set(r.key, r);
      fresh.push(r);
    }
  }
  await insertRows(tx, dialect, spec, fresh, outcomes);
  const inserted = fresh.filter((r) => outcomes[r.index] === undefined);
  const refs = await refsOf(tx, dialect, spec, inserted.map((r) => r.key));
  for (const r of inserted) {
    const ref = refs.get(r.key);
    outcomes[r.index] = ref === undefined ? { key: r.key, status: 'delivered' } : { key: r.key, status: 'delivered', legacyRef: ref };
  }
  for (const r of repeats) {
    const first = outcomes[(firstOf.get(r.key) as Row).index] as Outcome;
    outcomes[r.index] = first.status === 'delivered' ? { ...first, alreadyPresent: true } : { ...first };
  }
  return outcomes as Outcome[];
}
