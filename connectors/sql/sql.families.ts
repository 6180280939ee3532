/**
 * Parent and child rows of one record in one unit: the parent row is
 * inserted and its identity read back (RETURNING, OUTPUT INSERTED,
 * LAST_INSERT_ID), then each mapping group's rows go into the group's
 * table with that identity in the configured foreign-key column. Each
 * record runs under its own savepoint, so a refused child undoes its
 * parent and only that record is rejected, with the database's message.
 * The parent's key decides idempotency: the writer probes keys first, and
 * a parent already present is not written again, children included.
 */
import type { ConnectorError, MappedRecord, Outcome } from '../connector.types.js';
import { ConnectorErrors, ConnectorFailure, connectorError } from '../connector.errors.js';
import { sqlRefusal } from './sql.refusal.js';
import type { SqlDialect, SqlTx } from './sql.dialect.js';
import type { SqlChildSpec, SqlTableSpec } from './sql.config.js';
import { valueProblem } from './sql.values.js';

/** One child row ready to insert, less its parent column. */
export interface ChildRow {
  group: string;
  columns: string[];
  values: unknown[];
  /** The group field of each column, for naming the field of a refused value (`GROUP[i].FIELD`). */
  fields: string[];
}

type Scalar = string | number | boolean | bigint | Date | null;

/**
 * The child rows of `rec`, each checked against its table (known column,
 * one value per column, length, character set and numeric range), or the
 * record's rejection naming every field that cannot go in: a group with no
 * table in `children:`, a field with no column.
 * An empty list when the record has no child rows.
 */
export function prepareChildren(rec: MappedRecord, spec: SqlTableSpec, dialect: SqlDialect): ChildRow[] | ConnectorError {
  const out: ChildRow[] = [];
  const bad: { at: string; message: string }[] = [];
  for (const [group, rows] of Object.entries(rec.children)) {
    if (!rows.length) continue;
    const child = spec.children?.[group];
    if (!child) {
      const configured = Object.keys(spec.children ?? {});
      return connectorError(ConnectorErrors.SQL_VALUE, configured.length ? `the record has child rows of group ${group}, which children: does not name (it names ${configured.join(', ')})` : `the record has child rows (${group}); name their table under children: in the target's config`);
    }
    for (const [i, row] of rows.entries()) {
      const r: ChildRow = { group, columns: [], values: [], fields: [] };
      for (const [field, value] of Object.entries(row)) {
        if (value === undefined) continue;
        const at = `${group}[${i + 1}].${field}`;
        const name = child.columns[field] ?? field;
        const upper = name.toUpperCase();
        if (!child.known.has(upper)) throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `table ${child.table} has no column "${name}" for field ${field} of group ${group}: add the column, or name another in children.${group}.columns`);
        const problem =
          upper === child.parentColumn.toUpperCase()
            ? `field ${at} writes ${child.table}.${child.parentColumn}, which takes the parent row's identity`
            : typeof value === 'object' && value !== null && !(value instanceof Date)
              ? `field ${at} holds ${Array.isArray(value) ? 'a list' : 'a mapping'}; a column takes one value`
              : child.info?.get(upper) && valueProblem(value, child.info.get(upper)!, at, child.table);
        if (problem) {
          bad.push({ at, message: problem });
          continue;
        }
        const info = child.info?.get(upper);
        r.columns.push(info?.name ?? name);
        r.values.push(dialect.toDb(value as Scalar));
        r.fields.push(at);
      }
      out.push(r);
    }
  }
  if (bad.length) return connectorError(ConnectorErrors.SQL_VALUE, bad.map((b) => b.message).join('; '), bad.map((b) => b.at).join(', '));
  return out;
}

/** A parent row with its children, as the writer prepared it. */
export interface Family {
  index: number;
  key: string;
  columns: string[];
  values: unknown[];
  fields: string[];
  children: ChildRow[];
}

const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/** The field whose column a message names; a column several child rows write is named as `GROUP[].FIELD`. */
function fieldNamed(names: readonly string[], pairs: readonly [string, string][]): string | undefined {
  const byColumn = new Map<string, Set<string>>();
  for (const [c, f] of pairs) {
    if (f === '') continue;
    const set = byColumn.get(c.toUpperCase()) ?? new Set<string>();
    set.add(f);
    byColumn.set(c.toUpperCase(), set);
  }
  for (const n of names) {
    const fields = byColumn.get(n.toUpperCase());
    if (!fields) continue;
    const [first] = fields;
    return fields.size === 1 ? first : (first as string).replace(/\[\d+\]/, '[]');
  }
  return undefined;
}

async function insertChildren(tx: SqlTx, dialect: SqlDialect, child: SqlChildSpec, rows: readonly ChildRow[], parentRef: unknown): Promise<void> {
  let i = 0;
  while (i < rows.length) {
    const first = rows[i] as ChildRow;
    const width = first.columns.length + 1;
    const max = Math.max(1, dialect.maxRows(width));
    let j = i + 1;
    while (j < rows.length && j - i < max && sameColumns((rows[j] as ChildRow).columns, first.columns)) j++;
    const part = rows.slice(i, j);
    const { sql, params } = dialect.insertPlain(child.table, [...first.columns, child.parentColumn], part.map((r) => [...r.values, parentRef]));
    await tx.execute(sql, params);
    i = j;
  }
}

/**
 * Inserts each family under its own savepoint: the parent row, its
 * identity, then its child rows group by group. Sets each family's
 * outcome: `delivered` with the parent's reference, `delivered` with
 * `alreadyPresent` when another writer inserted the key since the probe,
 * or `rejected` (`SQL_CONSTRAINT`, the database's message, the field named
 * as `FIELD` or `GROUP[i].FIELD` where the message names its column).
 * Rethrows any error that is not a constraint.
 */
export async function insertFamilies(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, families: readonly Family[], outcomes: (Outcome | undefined)[]): Promise<void> {
  const q = (id: string) => dialect.quote(id);
  const ref = spec.ref;
  if (!ref) throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `table ${spec.table} has no identity column to give child rows: set refColumn`);
  for (const [n, f] of families.entries()) {
    const sp = `rekey_fam_${n}`;
    await tx.execute(dialect.savepoint(sp));
    try {
      const stmt = dialect.insertReturning(spec.table, f.columns, f.values, spec.keyColumn, ref);
      let rows: Record<string, unknown>[];
      if (stmt.then === undefined) rows = await tx.select(stmt.sql, stmt.params);
      else {
        await tx.execute(stmt.sql, stmt.params);
        rows = await tx.select(stmt.then);
      }
      let parentRef = rows[0]?.rekey_ref;
      if (parentRef === undefined || parentRef === null) {
        const found = await tx.select(`SELECT ${q(ref.column)} AS ${q('rekey_ref')}, ${q(spec.keyColumn)} AS ${q('rekey_key')} FROM ${q(spec.table)} WHERE ${q(spec.keyColumn)} = ${dialect.name === 'sqlite' ? '?1' : '$1'}`, [f.key]);
        parentRef = found[0]?.rekey_ref;
        if (stmt.then === undefined || parentRef === undefined) {
          for (const sql of dialect.rollbackTo(sp)) await tx.execute(sql);
          outcomes[f.index] = parentRef === undefined ? { key: f.key, status: 'rejected', error: connectorError(ConnectorErrors.SQL_SCHEMA, `the row of ${spec.table} was inserted but cannot be found again by ${spec.keyColumn}`, undefined, 'reject') } : { key: f.key, status: 'delivered', legacyRef: String(parentRef).trimEnd(), alreadyPresent: true };
          continue;
        }
      }
      for (const group of [...new Set(f.children.map((c) => c.group))]) {
        await insertChildren(tx, dialect, spec.children?.[group] as SqlChildSpec, f.children.filter((c) => c.group === group), parentRef);
      }
      for (const sql of dialect.release(sp)) await tx.execute(sql);
      outcomes[f.index] = { key: f.key, status: 'delivered', legacyRef: String(parentRef).trimEnd() };
    } catch (e) {
      for (const sql of dialect.rollbackTo(sp)) await tx.execute(sql);
      const info = dialect.classify(e);
      if (info.kind !== 'constraint') throw e;
      const pairs: [string, string][] = [...f.columns.map((c, i): [string, string] => [c, f.fields[i] as string]), ...f.children.flatMap((c) => c.columns.map((col, i): [string, string] => [col, c.fields[i] as string]))];
      const field = fieldNamed(info.names, pairs);
      outcomes[f.index] = { key: f.key, status: 'rejected', error: sqlRefusal(info, field) };
    }
  }
}
