/**
 * What the audit log says was sent in a delivery, without holding a
 * value: a hash of the record exactly as handed to the target, and the
 * keyed hash (`piiHash`) of every field, so that an auditor holding the
 * deployer's PII key can check a given value against it
 * (`rekey audit check`), and anyone without the key learns nothing.
 */
import { hash as digest } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.js';
import { PII_HASH } from './pii.js';

/** The record and child rows handed to a target. */
export interface SentShape {
  record: Record<string, unknown>;
  children: Record<string, Record<string, unknown>[]>;
}

/** A delivered record's `sent` member on the audit log. */
export interface SentDetail {
  /** `sha256:<hex>` of `canonicalJson({ record, children })`, the text {@link sentText} gives. */
  hash: string;
  /** Every field sent -> its keyed hash; a group's field (`GROUP.FIELD`) -> one per child row, in row order (a row without it: the hash of null). */
  fields: Record<string, string | string[]>;
}

/**
 * A {@link SentDetail} as its JSON text in UTF-8 bytes, as a mapping worker
 * hands it over (in shared memory, not parsed on the threads it crosses):
 * the ledger reads it back with {@link sentFromJson} as it writes the
 * audit record, which then checks it as any other (`sentProblem`).
 */
export type SentJson = Uint8Array;

/** The value a {@link SentJson} holds. Throws as `JSON.parse` does on bytes that are not JSON. */
export function sentFromJson(json: SentJson): unknown {
  return JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
}

/** Shape of the `sent.hash` of an audit record. */
export const SENT_HASH = /^sha256:[0-9a-f]{64}$/;

/** The canonical text of what was sent: what `SentDetail.hash` hashes and what the ledger keeps (sealed). */
export function sentText(s: SentShape): string {
  return canonicalJson({ record: s.record, children: s.children });
}

/** The audit detail of what was sent, `text` being {@link sentText} of `s`; `hash` is the keyed hash of a value (`piiHash` with the deployer's key). */
export function sentDetail(s: SentShape, text: string, hash: (v: unknown) => string): SentDetail {
  const fields: Record<string, string | string[]> = {};
  for (const [name, v] of Object.entries(s.record)) if (v !== undefined) fields[name] = hash(v);
  for (const [group, rows] of Object.entries(s.children)) {
    const names = new Set<string>();
    for (const row of rows) for (const [n, v] of Object.entries(row)) if (v !== undefined) names.add(n);
    for (const n of names) fields[`${group}.${n}`] = rows.map((row) => hash(row[n] ?? null));
  }
  return { hash: `sha256:${digest('sha256', text, 'hex')}`, fields };
}

/** Why `sent` is not a well-formed {@link SentDetail} holding only hashes; undefined when it is. */
export function sentProblem(sent: unknown): string | undefined {
  if (typeof sent !== 'object' || sent === null) return 'must be an object { hash, fields }';
  const s = sent as { hash?: unknown; fields?: unknown };
  if (typeof s.hash !== 'string' || !SENT_HASH.test(s.hash)) return 'sent.hash must be sha256:<64 hex>';
  if (typeof s.fields !== 'object' || s.fields === null) return 'sent.fields must be an object';
  for (const [field, v] of Object.entries(s.fields)) {
    const ok = Array.isArray(v) ? v.every((x) => typeof x === 'string' && PII_HASH.test(x)) : typeof v === 'string' && PII_HASH.test(v);
    if (!ok) return `sent field ${field} must be a piiHash (hmac:...), never a value`;
  }
  return undefined;
}
