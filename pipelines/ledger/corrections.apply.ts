/**
 * Operators' corrections put into a mapped record (see `corrections.ts`):
 * pure, and light enough for the flow's hot path and mapping workers.
 */
import type { MapResult } from '../../mappings/index.js';
import type { Corrections } from './ledger.types.js';

/** One corrected field: `name` in the record, or in the `index`-th (from 0) child row of `group`. */
export interface FieldRef {
  field: string;
  name: string;
  group?: string;
  index?: number;
}

/** `GROUP[n].FIELD`: a field of a group's n-th child row, n from 1, as the mapping names its errors. */
export const CHILD = /^([^[\].]+)\[([1-9]\d*)\]\.([^[\]]+)$/;

/** `field` as a record field or a child row's field (not checked against a mapping). */
function parseRef(field: string): FieldRef {
  const m = CHILD.exec(field);
  return m ? { field, name: m[3]!, group: m[1]!, index: Number(m[2]) - 1 } : { field, name: field };
}

/** The value `ref` names in a mapped or sent record; null when absent. */
export function valueAt(r: { record: Record<string, unknown>; children: Record<string, Record<string, unknown>[]> }, ref: FieldRef): unknown {
  const v = ref.group === undefined ? r.record[ref.name] : r.children[ref.group]?.[ref.index!]?.[ref.name];
  return v === undefined ? null : v;
}

/**
 * Puts an operator's corrections into a mapped record, in place: what the
 * flow does after mapping a corrected submission and before it is sent
 * (and hashed and sealed as sent). A child row the record does not have
 * is left alone.
 */
export function applyCorrections(result: MapResult, corrections: Corrections): void {
  for (const [field, value] of Object.entries(corrections)) {
    const ref = parseRef(field);
    if (ref.group === undefined) result.record[ref.name] = value;
    else {
      const row = result.children[ref.group]?.[ref.index!];
      if (row) row[ref.name] = value;
    }
  }
}

