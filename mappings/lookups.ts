/**
 * Code lists: inline values or CSV text handed in by the caller, turned into
 * a transform function that applies the lookup's `missing` behaviour.
 */
import { parse } from 'csv-parse/sync';
import { TransformFailure, type TransformFn } from './transforms/transform.types.js';
import type { LookupSpec } from './mapping.types.js';

/**
 * Builds the function for one lookup. `csvText` is the content of the
 * lookup's file when it has one. Throws `Error` for a CSV without the named
 * columns or with one key listed twice with different values.
 */
export function buildLookup(spec: LookupSpec, csvText?: string): TransformFn {
  const table = new Map<string, unknown>();
  const norm = spec.caseInsensitive ? (k: string) => k.trim().toLowerCase() : (k: string) => k;
  const add = (k: string, v: unknown, where: string) => {
    const key = norm(k);
    if (table.has(key) && table.get(key) !== v) throw new Error(`key "${k}" is listed twice with different values (${where})`);
    table.set(key, v);
  };
  if (spec.values) for (const [k, v] of Object.entries(spec.values)) add(k, v, 'values');
  if (csvText !== undefined) {
    const rows = parse(csvText, { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
    const first = rows[0];
    for (const col of [spec.keyColumn, spec.valueColumn]) {
      if (first && col !== undefined && !(col in first)) {
        throw new Error(`column "${col}" is not in ${spec.file}; its columns are ${Object.keys(first).join(', ')}`);
      }
    }
    rows.forEach((row, i) => add(row[spec.keyColumn!] ?? '', row[spec.valueColumn!], `${spec.file} row ${i + 2}`));
  }
  const rule = `lookup:${spec.name}`;
  const fallback = spec.default;
  return (value) => {
    const key = norm(typeof value === 'string' ? value : String(value));
    if (table.has(key)) return table.get(key);
    switch (spec.missing) {
      case 'default':
        return fallback;
      case 'null':
        return undefined;
      case 'keep':
        return value;
      default:
        throw new TransformFailure(rule, `"${String(value)}" is not in the ${spec.name} list`);
    }
  };
}
