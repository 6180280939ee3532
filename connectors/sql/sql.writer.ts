/**
 * Writes one batch of mapped records into one table inside a transaction
 * the caller holds, idempotently by submission key, for any dialect:
 *
 * 1. keys already in the table are reported `delivered` with
 *    `alreadyPresent` and their reference, and are not written again (every
 *    record is probed, so an `uncertain` one needs nothing more);
 * 2. the rest are inserted, rows with the same columns together; when a
 *    statement fails on a constraint, its rows are split in halves under
 *    savepoints until the bad rows stand alone, each rejected with the
 *    database's own message, and the others go in;
 * 3. the new rows' references are read back by key.
 */
import type { ConnectorError, MappedRecord, Outcome } from '../connector.types.js';
import { ConnectorCodes, ConnectorFailure, connectorError } from '../connector.errors.js';
import { params, type SqlDialect, type SqlTx } from './sql.dialect.js';
import type { SqlTableSpec } from './sql.config.js';

interface Row {
  index: number;
  key: string;
  columns: string[];
  values: unknown[];
  /** Column (upper-cased) -> mapping field, for naming the field of a refused value. */
  fields: Map<string, string>;
}

type Scalar = string | number | boolean | bigint | Date | null;

function describe(v: unknown): string {
  return Array.isArray(v) ? 'a list' : 'a mapping';
}

function prepare(rec: MappedRecord, index: number, spec: SqlTableSpec, dialect: SqlDialect): Row | ConnectorError {
  const groups = Object.entries(rec.children).filter(([, rows]) => rows.length > 0).map(([name]) => name);
  if (groups.length) return connectorError(ConnectorCodes.SQL_VALUE, 'reject', `the record has child rows (${groups.join(', ')}); this target writes one table`);
  const row: Row = { index, key: rec.key, columns: [], values: [], fields: new Map() };
  const key = spec.keyColumn.toUpperCase();
  for (const [field, value] of Object.entries(rec.record)) {
    if (value === undefined) continue;
    const column = spec.columns[field] ?? field;
    const upper = column.toUpperCase();
    if (upper === key) continue;
    if (!spec.known.has(upper)) {
      throw new ConnectorFailure(ConnectorCodes.SQL_SCHEMA, 'fatal', `table ${spec.table} has no column "${column}" for mapping field ${field}: add the column, or name another in columns:`);
    }
    if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
      return connectorError(ConnectorCodes.SQL_VALUE, 'reject', `field ${field} holds ${describe(value)}; a column takes one value`, field);
    }
    row.columns.push(column);
    row.values.push(dialect.toDb(value as Scalar));
    row.fields.set(upper, field);
  }
  row.columns.push(spec.keyColumn);
  row.values.push(rec.key);
  return row;
}

async function refsOf(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, keys: string[]): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const q = (id: string) => dialect.quote(id);
  for (let i = 0; i < keys.length; i += dialect.maxParams) {
    const part = keys.slice(i, i + dialect.maxParams);
    const sql = `SELECT ${spec.refExpr} AS ${q('rekey_ref')}, ${q(spec.keyColumn)} AS ${q('rekey_key')} FROM ${q(spec.table)} WHERE ${q(spec.keyColumn)} IN (${params(1, part.length)})`;
    for (const r of await tx.select(sql, part)) refs.set(String(r.rekey_key), String(r.rekey_ref));
  }
  return refs;
}

function rejected(row: Row, message: string, names: string[]): Outcome {
  const field = names.map((n) => row.fields.get(n.toUpperCase())).find((f) => f !== undefined);
  return { key: row.key, status: 'rejected', error: connectorError(ConnectorCodes.SQL_CONSTRAINT, 'reject', message, field) };
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
  batch.forEach((rec, i) => {
    const r = prepare(rec, i, spec, dialect);
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
  let savepoints = 0;
  const insert = async (part: Row[]): Promise<void> => {
    const first = part[0] as Row;
    const sql = dialect.insertSkippingKeys(spec.table, first.columns, part.length, spec.keyColumn);
    const sp = `rekey_${++savepoints}`;
    await tx.execute(dialect.savepoint(sp));
    try {
      await tx.execute(sql, part.flatMap((r) => r.values));
      for (const s of dialect.release(sp)) await tx.execute(s);
    } catch (e) {
      for (const s of dialect.rollbackTo(sp)) await tx.execute(s);
      const info = dialect.classify(e);
      if (info.kind !== 'constraint') throw e;
      if (part.length === 1) {
        outcomes[first.index] = rejected(first, info.message, info.names);
        return;
      }
      const mid = Math.ceil(part.length / 2);
      await insert(part.slice(0, mid));
      await insert(part.slice(mid));
    }
  };
  const groups = new Map<string, Row[]>();
  for (const r of fresh) {
    const sig = r.columns.join('\u0000');
    const group = groups.get(sig);
    if (group) group.push(r);
    else groups.set(sig, [r]);
  }
  for (const group of groups.values()) {
    const width = (group[0] as Row).columns.length;
    const size = Math.max(1, Math.min(spec.batchSize, Math.floor(dialect.maxParams / width)));
    for (let i = 0; i < group.length; i += size) await insert(group.slice(i, i + size));
  }
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
