/**
 * A mapping's version: a hash of its canonical content, so that the same
 * rules give the same version however the file is formatted or commented.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.js';

/**
 * The canonical text a mapping's version hashes: `canonicalJson` of the
 * mapping document, the text of each related file (lookup CSVs, by
 * relative name) and the functions module source (null when none).
 */
export function mappingCanonical(document: unknown, related: Record<string, string>, functionsSource?: string): string {
  return canonicalJson({ document, related, functions: functionsSource ?? null });
}

/** `sha256:<hex>` of a text: what a mapping version is, over {@link mappingCanonical}'s text. */
export function versionOfText(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/**
 * `sha256:<hex>` over the mapping document, the text of each related file
 * (lookup CSVs, by relative name) and the functions module source.
 */
export function mappingVersion(document: unknown, related: Record<string, string>, functionsSource?: string): string {
  return versionOfText(mappingCanonical(document, related, functionsSource));
}
