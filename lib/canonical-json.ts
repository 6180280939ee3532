/**
 * Canonical JSON: one text for the same data however its keys were
 * ordered, so that hashes of definitions, submissions and audit entries
 * do not depend on formatting. Pure.
 */

/**
 * JSON with object keys sorted at every level: the canonical form that is
 * hashed. Never recurses deeper than {@link FAST_DEPTH} levels, so no value,
 * however deeply nested, can overflow the stack here: deeper data is
 * written by a loop, to the same text.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value, 0);
  return sorted === NOT_PLAIN ? spelledOut(value) : (JSON.stringify(sorted) ?? 'null');
}

const NOT_PLAIN = Symbol('not plain data');

/** Nesting up to which the engine's (recursive) `JSON.stringify` writes the text; deeper data is spelled out by a loop. */
const FAST_DEPTH = 256;

/** A key JavaScript orders before the others whatever the insertion order (an array index). */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * A copy of plain JSON data (what `JSON.parse` gives) with object keys
 * inserted in sorted order, so the engine's `JSON.stringify` writes the
 * canonical text; `NOT_PLAIN` for anything it would write differently
 * (functions, symbols, bigints, `toJSON`, class instances, sparse arrays,
 * keys an object would reorder or treat specially), and for data nested
 * deeper than {@link FAST_DEPTH}.
 */
function sortedCopy(value: unknown, depth: number): unknown {
  if (value === null) return null;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined') return value;
  if (type !== 'object' || depth >= FAST_DEPTH) return NOT_PLAIN;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_PLAIN;
      const v = sortedCopy(value[i], depth + 1);
      if (v === NOT_PLAIN) return NOT_PLAIN;
      out[i] = v;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const obj = value as Record<string, unknown>;
  if (typeof obj.toJSON === 'function') return NOT_PLAIN;
  const keys = Object.keys(obj).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if ((c >= 48 && c <= 57 && INDEX_KEY.test(k)) || k === '__proto__') return NOT_PLAIN;
    const v = sortedCopy(obj[k], depth + 1);
    if (v === NOT_PLAIN) return NOT_PLAIN;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** An array or object being spelled out: its members' keys (none for an array), and the next member to write. */
interface Open {
  value: Record<string, unknown> | unknown[];
  keys: string[] | undefined;
  next: number;
}

/**
 * The canonical text built piece by piece, by a loop rather than recursion:
 * the definition `canonicalJson` keeps to, for values that are not plain
 * data or are nested too deep for the engine's `JSON.stringify`. Object
 * members that are undefined are left out; other values JSON has no text
 * for are `null`; an object's own enumerable keys are its members
 * (`toJSON` is not called); a hole in a sparse array writes nothing
 * between its commas, as it always has, so hashes made before stay true.
 */
function spelledOut(value: unknown): string {
  const out: string[] = [];
  const open: Open[] = [];
  let v = value;
  for (;;) {
    if (v === null || typeof v !== 'object') out.push(JSON.stringify(v) ?? 'null');
    else if (Array.isArray(v)) {
      out.push('[');
      open.push({ value: v, keys: undefined, next: 0 });
    } else {
      const obj = v as Record<string, unknown>;
      out.push('{');
      open.push({ value: obj, keys: Object.keys(obj).filter((k) => obj[k] !== undefined).sort(), next: 0 });
    }
    for (;;) {
      const top = open[open.length - 1];
      if (top === undefined) return out.join('');
      const i = top.next++;
      if (top.keys === undefined) {
        const arr = top.value as unknown[];
        if (i >= arr.length) {
          out.push(']');
          open.pop();
          continue;
        }
        if (i > 0) out.push(',');
        if (!(i in arr)) continue;
        v = arr[i];
        break;
      }
      if (i >= top.keys.length) {
        out.push('}');
        open.pop();
        continue;
      }
      const k = top.keys[i] as string;
      out.push(`${i > 0 ? ',' : ''}${JSON.stringify(k)}:`);
      v = (top.value as Record<string, unknown>)[k];
      break;
    }
  }
}
