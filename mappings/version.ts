/**
 * A mapping's version: a hash of its canonical content, so that the same
 * rules give the same version however the file is formatted or commented.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.js';

/**
 * `sha256:<hex>` over the mapping document, the text of each related file
 * (lookup CSVs, by relative name) and the functions module source.
 */
export function mappingVersion(document: unknown, related: Record<string, string>, functionsSource?: string): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ document, related, functions: functionsSource ?? null }));
  return `sha256:${h.digest('hex')}`;
}
