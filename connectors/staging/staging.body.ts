/**
 * From a staging row to a submission body: every chosen column by name, or
 * the submission JSON held in one column. A row that cannot be a body is
 * that row's error, naming table, key, column and reason, and never the
 * value (it may hold personal data).
 */
import type { ConnectorError } from '../connector.types.js';
import { ConnectorErrors, connectorError } from '../connector.errors.js';
import type { Row } from './staging.db.js';
import { jsonTextDeeperThan, valueDeeperThan } from '../../lib/json-depth.js';

/** How the body is made, with real column names, and the deepest nesting of arrays and objects it may have. */
export type BodyPlan = ({ kind: 'columns'; columns: string[] } | { kind: 'json'; column: string }) & { maxDepth: number };

/** A column value as plain JSON data: dates as ISO text, big integers and bytes as text. */
export function plainValue(v: unknown): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return v;
}

function jsonReason(e: unknown): string {
  const text = String((e as Error).message);
  if (/end of (JSON )?input/i.test(text)) return 'is not valid JSON (it ends too soon: cut off?)';
  const at = /position (\d+)/.exec(text)?.[1];
  return at === undefined ? 'is not valid JSON' : `is not valid JSON (at character ${Number(at) + 1})`;
}

/**
 * The body of `row`, or the row's `reject` error. `table` and `key` name
 * the row in the message. A body nesting arrays and objects deeper than
 * `plan.maxDepth` (a driver's parsed JSON value in a column, or the JSON
 * column's text, measured before it is parsed) is refused.
 */
export function rowBody(row: Row, plan: BodyPlan, table: string, key: unknown): { ok: true; body: unknown } | { ok: false; error: ConnectorError } {
  const failOn = (col: string, reason: string) => ({ ok: false as const, error: connectorError(ConnectorErrors.STAGING_BODY, `${table} row ${String(key)}: column ${col} ${reason}`, col) });
  const tooDeep = `nests arrays and objects deeper than ${plan.maxDepth} levels (maxDepth)`;
  if (plan.kind === 'columns') {
    const body: Record<string, unknown> = {};
    for (const c of plan.columns) {
      const v = plainValue(row[c]);
      if (valueDeeperThan(v, plan.maxDepth - 1)) return failOn(c, tooDeep);
      body[c] = v;
    }
    return { ok: true, body };
  }
  const col = plan.column;
  const fail = (reason: string) => failOn(col, reason);
  let v = row[col];
  if (Buffer.isBuffer(v)) v = v.toString('utf8');
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return fail('is empty');
  if (typeof v === 'string' ? jsonTextDeeperThan(v, plan.maxDepth) : valueDeeperThan(v, plan.maxDepth)) return fail(tooDeep);
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch (e) {
      return fail(jsonReason(e));
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`holds JSON ${Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v}, not a submission object`);
  return { ok: true, body: v };
}
