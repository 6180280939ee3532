/**
 * The audit chain's hash. Each entry's hash covers the previous entry's hash
 * and every column of the entry itself:
 *
 *   hash = sha256_hex( prevHash + canonicalJson({ seq, at, pipeline, event,
 *            actor, mappingVersion, target, legacyRef }) + detailText )
 *
 * `at` is ISO 8601 UTC with milliseconds; absent optional columns are
 * `null`; `detailText` is the `detail` column exactly as stored (JSON text),
 * so any change to it, even one that parses to the same value, breaks the
 * hash, and the writer hashes the text it has just serialised instead of
 * serialising the detail a second time. `seq` is covered, so swapping two entries' positions
 * breaks both hashes; `prevHash` is covered, so removing or editing an entry
 * breaks the link of the one after it. The first entry's `prevHash` is 64
 * zeros. `audit_keys` is an index derived from `detail.keys` and is not
 * hashed separately.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.js';
import type { AuditEntry } from './audit.types.js';

/** `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an entry the hash covers besides its detail text (everything but `prevHash`, which is prefixed, and `hash`). */
export type HashedFields = Omit<AuditEntry, 'prevHash' | 'hash' | 'detail'>;

/** Computes an entry's hash from the previous entry's hash, its columns and its stored detail text. */
export function entryHash(prevHash: string, e: HashedFields, detailText: string): string {
  const head = canonicalJson({
    seq: e.seq,
    at: e.at.toISOString(),
    pipeline: e.pipeline,
    event: e.event,
    actor: e.actor,
    mappingVersion: e.mappingVersion ?? null,
    target: e.target ?? null,
    legacyRef: e.legacyRef ?? null,
  });
  return createHash('sha256').update(prevHash).update(head).update(detailText).digest('hex');
}
