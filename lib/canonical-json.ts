/**
 * Canonical JSON: one text for the same data however its keys were
 * ordered, so that hashes of definitions, submissions and audit entries
 * do not depend on formatting. Pure.
 */

/** JSON with object keys sorted at every level: the canonical form that is hashed. */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value);
  return sorted === NOT_PLAIN ? spelledOut(value) : (JSON.stringify(sorted) ?? 'null');
}

const NOT_PLAIN = Symbol('not plain data');

/** A key JavaScript orders before the others whatever the insertion order (an array index). */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * A copy of plain JSON data (what `JSON.parse` gives) with object keys
 * inserted in sorted order, so the engine's `JSON.stringify` writes the
 * canonical text; `NOT_PLAIN` for anything it would write differently
 * (functions, symbols, bigints, `toJSON`, class instances, sparse arrays,
 * keys an object would reorder or treat specially).
 */
function sortedCopy(value: unknown): unknown {
  if (value === null) return null;
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined') return value;
  if (type !== 'object') return NOT_PLAIN;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_PLAIN;
      const v = sortedCopy(value[i]);
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
    const v = sortedCopy(obj[k]);
    if (v === NOT_PLAIN) return NOT_PLAIN;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The canonical text built piece by piece: the definition `canonicalJson` keeps to, for values that are not plain data. */
function spelledOut(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(spelledOut).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${spelledOut(obj[k])}`).join(',')}}`;
}
