/**
 * A submission's identity in the ledger: its key (the platform's reference
 * scoped by form, from the mapping's key template) and a hash of its content.
 */
import { hash as digest } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.js';
import type { CompiledMapping } from '../../mappings/index.js';

/** `sha256:<hex>` of the body's canonical JSON (key order and formatting ignored). */
export function contentHash(body: unknown): string {
  // One-shot: half the time of a Hash object for a 1 KB body.
  return `sha256:${digest('sha256', canonicalJson(body), 'hex')}`;
}

/**
 * The ledger key: the mapping's key template (default `form_name/submission_reference`),
 * or, when the submission lacks those parts, `sha256:<hex>` of its content.
 */
export function submissionKey(mapping: CompiledMapping, body: unknown, hash: string): string {
  return mapping.keyOf(body) ?? hash;
}
