/**
 * A mapping's version: a hash of its canonical content, so that the same
 * rules give the same version however the file is formatted or commented.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the canonical form that is hashed. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/**
 * `sha256:<hex>` over the mapping document, the text of each related file
 * (lookup CSVs, by relative name) and the functions module source.
 */
export function mappingVersion(document: unknown, related: Record<string, string>, functionsSource?: string): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ document, related, functions: functionsSource ?? null }));
  return `sha256:${h.digest('hex')}`;
}
