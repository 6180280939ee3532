/**
 * Procedure mode: each record is one call of the stored procedure (or
 * PostgreSQL function) the clerks' screens call, with typed parameters,
 * under a savepoint of its own inside the batch's transaction. An error the
 * procedure raises (RAISE EXCEPTION, SIGNAL, THROW) or a constraint it
 * trips rejects that record with the database's message. The legacy
 * reference is the OUT parameter, or a function's result. SQL Server's
 * calls go through `mssql` with typed parameters (mssql.native.ts).
 *
 * A procedure is not idempotent by itself: before any call, every key of
 * the batch is looked up in the configured table's key column, and a
 * record whose key is there is reported delivered (`alreadyPresent`)
 * without calling again. The procedure must therefore write the submission
 * key into that column.
 */
import type { MappedRecord, Outcome } from '../connector.types.js';
import { sqlRefusal } from './sql.refusal.js';
import type { SqlDialect, SqlStatement, SqlTx } from './sql.dialect.js';
import type { SqlProcedureConfig, SqlProcedureParam, SqlTableSpec } from './sql.config.js';

type Scalar = string | number | boolean | bigint | Date | null;

/** The value of each input parameter of `rec`, in order (`$key`: the submission key; a missing field: NULL). */
export function procedureValues(proc: SqlProcedureConfig, rec: MappedRecord): unknown[] {
  return proc.params.filter((p) => !p.out).map((p) => (p.from === '$key' ? rec.key : ((rec.record[p.from ?? p.name] as Scalar | undefined) ?? null)));
}

/**
 * The statement(s) that call `proc` with `values` (the input parameters,
 * as {@link SqlDialect.toDb} made them) on PostgreSQL or MariaDB/MySQL,
 * and yield the reference as `rekey_ref`: run `sql` as a select, or run
 * `sql` then select `then`. Pure.
 */
export function procedureCall(dialect: SqlDialect, proc: SqlProcedureConfig, values: readonly unknown[]): SqlStatement & { then?: string } {
  const q = (id: string) => dialect.quote(id);
  let n = 0;
  const out = proc.params.find((p) => p.out);
  if (dialect.name === 'postgres') {
    const args = proc.params.map((p) => `${q(p.name)} => ${p.out ? `NULL::${p.type}` : `$${++n}::${p.type}`}`).join(', ');
    if (proc.kind === 'function') return { sql: `SELECT ${q(proc.name)}(${args}) AS "rekey_ref"`, params: values };
    return { sql: `CALL ${q(proc.name)}(${args})`, params: values };
  }
  if (dialect.name === 'mariadb') {
    const args = proc.params.map((p) => (p.out ? '@rekey_ref' : `$${++n}`)).join(', ');
    return { sql: `CALL ${q(proc.name)}(${args})`, params: values, then: out ? 'SELECT @rekey_ref AS `rekey_ref`' : 'SELECT NULL AS `rekey_ref`' };
  }
  const args = proc.params.map((p) => `@${p.name} = ${p.out ? '@rekey_ref OUTPUT' : `$${++n}`}`).join(', ');
  const declare = out ? `DECLARE @rekey_ref ${out.type}; ` : '';
  return { sql: `${declare}EXEC ${q(proc.name)} ${args}; SELECT ${out ? 'CONVERT(nvarchar(100), @rekey_ref)' : 'NULL'} AS [rekey_ref]`, params: values };
}

/** The reference in a call's result row: `rekey_ref`, or the OUT parameter's column (PostgreSQL CALL). */
function refOf(row: Record<string, unknown> | undefined, out: SqlProcedureParam | undefined): unknown {
  if (!row) return undefined;
  if ('rekey_ref' in row) return row.rekey_ref;
  if (!out) return undefined;
  const key = Object.keys(row).find((k) => k.toLowerCase() === out.name.toLowerCase());
  return key === undefined ? undefined : row[key];
}

async function viaSql(tx: SqlTx, dialect: SqlDialect, proc: SqlProcedureConfig, values: readonly unknown[], out: SqlProcedureParam | undefined): Promise<unknown> {
  const call = procedureCall(dialect, proc, values);
  if (call.then === undefined) return refOf((await tx.select(call.sql, call.params))[0], out);
  await tx.execute(call.sql, call.params);
  return refOf((await tx.select(call.then))[0], out);
}

/**
 * Delivers `batch` by calling the procedure once per record whose key is
 * not yet in the table (see the module comment) and returns one outcome
 * per record: `delivered` (with the reference where the procedure gives
 * one, `alreadyPresent` when the key was found first), or `rejected`
 * (`SQL_CONSTRAINT`, the database's message). Rethrows any error that is
 * not the record's (busy, lost connection, unknown procedure).
 */
export async function callProcedure(tx: SqlTx, dialect: SqlDialect, spec: SqlTableSpec, proc: SqlProcedureConfig, batch: readonly MappedRecord[]): Promise<Outcome[]> {
  const q = (id: string) => dialect.quote(id);
  const out = proc.params.find((p) => p.out);
  const present = new Map<string, string>();
  const keys = [...new Set(batch.map((r) => r.key))];
  for (let i = 0; i < keys.length; i += dialect.maxKeys) {
    const where = dialect.keyIn(q(spec.keyColumn), keys.slice(i, i + dialect.maxKeys));
    const sql = `SELECT ${spec.refExpr} AS ${q('rekey_ref')}, ${q(spec.keyColumn)} AS ${q('rekey_key')} FROM ${q(spec.table)} WHERE ${where.sql}`;
    for (const r of await tx.select(sql, where.params)) present.set(String(r.rekey_key).trimEnd(), String(r.rekey_ref).trimEnd());
  }
  const outcomes: Outcome[] = [];
  const called = new Map<string, Outcome>();
  for (const [i, rec] of batch.entries()) {
    const ref = present.get(rec.key);
    const earlier = called.get(rec.key);
    if (ref !== undefined) {
      outcomes.push({ key: rec.key, status: 'delivered', legacyRef: ref, alreadyPresent: true });
      continue;
    }
    if (earlier) {
      outcomes.push(earlier.status === 'delivered' ? { ...earlier, alreadyPresent: true } : earlier);
      continue;
    }
    const values = procedureValues(proc, rec).map((v) => dialect.toDb(v as Scalar));
    const sp = `rekey_call_${i}`;
    await tx.execute(dialect.savepoint(sp));
    let outcome: Outcome;
    try {
      const value = tx.callProcedure ? await tx.callProcedure(proc, values) : await viaSql(tx, dialect, proc, values, out);
      for (const sql of dialect.release(sp)) await tx.execute(sql);
      outcome = value === undefined || value === null ? { key: rec.key, status: 'delivered' } : { key: rec.key, status: 'delivered', legacyRef: String(value).trimEnd() };
    } catch (e) {
      for (const sql of dialect.rollbackTo(sp)) await tx.execute(sql);
      const info = dialect.classify(e);
      if (info.kind !== 'constraint') throw e;
      const param = proc.params.find((p) => !p.out && info.names.some((n) => n.toUpperCase() === (p.from ?? p.name).toUpperCase()));
      outcome = { key: rec.key, status: 'rejected', error: sqlRefusal(info, param && param.from !== '$key' ? (param.from ?? param.name) : undefined) };
    }
    called.set(rec.key, outcome);
    outcomes.push(outcome);
  }
  return outcomes;
}
