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
 *
 * An entry about a batch of submissions is a Merkle entry (`sealDetail`):
 * its `detailText` in the formula above is the detail without `keys` and
 * `records`, which carries the root of a Merkle tree over the records
 * instead, so each record can be proved on the chain alone.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.js';
import type { AuditDetail, AuditEntry } from './audit.types.js';
import { merkleRootOfJoined, merkleRootOfTexts } from './merkle.js';

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

/** What a detail's Merkle commitment says: how many records, and their root (hex). */
export interface MerkleCommitment {
  size: number;
  root: string;
}

/** The part of a Merkle entry's detail its hash covers: every field but `keys` and `records`, with `merkle`. */
type DetailRest = Record<string, unknown> & { merkle: MerkleCommitment };

/**
 * The stored text of a Merkle entry's detail is its rest without the
 * closing brace (the head), then these around its records' texts joined by
 * commas: the one definition of that layout, which `merklePlan` writes as
 * bytes and `detailCommitment` checks as text.
 */
function storedAround(keys: readonly string[]): { before: string; after: string } {
  return { before: `,"keys":${JSON.stringify(keys)},"records":[`, after: ']}' };
}

/** The stored text of a Merkle entry's detail: its rest, then its keys, then its records' texts (joined by commas), in that order. */
function storedText(restText: string, keys: readonly string[], joinedRecords: string): string {
  const { before, after } = storedAround(keys);
  return `${restText.slice(0, -1)}${before}${joinedRecords}${after}`;
}

/** Whether `detail` names exactly its records' keys, one for each, in order: the shape a Merkle entry takes. */
function keysAreRecords(detail: AuditDetail): boolean {
  const { keys, records } = detail;
  return Array.isArray(records) && records.length > 0 && Array.isArray(keys) && keys.length === records.length && records.every((r, i) => r !== null && typeof r === 'object' && r.key === keys[i]);
}

/** A detail as the log stores it: the detail, its stored text (as text, or as its UTF-8 bytes), and the text its entry's hash covers. */
export interface SealedDetail {
  detail: AuditDetail;
  detailText: string | Uint8Array;
  hashedText: string;
}

/**
 * A Merkle entry's detail before its root is known: its other fields, keys
 * and records, and its stored text as UTF-8 bytes in shared memory
 * (`stored`, over a `SharedArrayBuffer`), every part of it written but its
 * head, the rest with the root, which {@link sealPlan} writes once the root
 * is known (a root is 64 hex digits, so the head's length is known before).
 * `joined` is the records' texts joined by commas, a view of `stored`, with
 * each one's length in bytes: the leaves' contents, which the Merkle
 * thread reads where they lie. Written once, as bytes: the text was joined
 * from the records, encoded again for the Merkle thread, then flattened and
 * encoded again to be bound, about 7 µs a delivered record more.
 */
export interface MerklePlan {
  other: Record<string, unknown>;
  keys: string[];
  records: NonNullable<AuditDetail['records']>;
  stored: Buffer;
  headBytes: number;
  joined: Buffer;
  lengths: Uint32Array;
}

/** The rest of a Merkle entry's detail with `root` (hex), whose text its hash covers. */
function restOf(other: Record<string, unknown>, size: number, root: string): DetailRest {
  return { ...other, merkle: { size, root } };
}

/**
 * Whether a detail becomes a Merkle entry, and if so its plan: a detail
 * whose keys are exactly its records' keys (an entry about a batch of
 * submissions). Its records are the leaves of an RFC 6962 tree (see
 * `merkle.ts`), whose size and root go into the detail as `merkle`, and
 * the entry's hash covers the rest of the detail (every field but `keys`
 * and `records`, so with the root) instead of the whole text. One record's
 * place on the chain is then shown by its text, its audit path and that
 * rest, without any other record or key of the batch (`audit.prove.ts`).
 * Null for any other detail, which is stored and hashed whole.
 */
export function merklePlan(detail: AuditDetail): MerklePlan | null {
  if (!keysAreRecords(detail) || Object.hasOwn(detail, 'merkle')) return null;
  const { keys, records, ...other } = detail;
  const texts = records!.map((r) => JSON.stringify(r));
  // The head as the stored text begins it, with any root: every root has the same length.
  const headBytes = Buffer.byteLength(JSON.stringify(restOf(other, texts.length, GENESIS_HASH)), 'utf8') - 1;
  const { before, after } = storedAround(keys);
  const lengths = new Uint32Array(texts.length);
  let size = headBytes + Buffer.byteLength(before, 'utf8') + texts.length - 1 + Buffer.byteLength(after, 'utf8');
  for (let i = 0; i < texts.length; i++) size += lengths[i] = Buffer.byteLength(texts[i]!, 'utf8');
  const stored = Buffer.from(new SharedArrayBuffer(size));
  const from = headBytes + stored.write(before, headBytes, 'utf8');
  let at = from;
  for (let i = 0; i < texts.length; i++) {
    if (i) stored[at++] = 0x2c;
    at += stored.write(texts[i]!, at, 'utf8');
  }
  stored.write(after, at, 'utf8');
  return { other, keys, records: records!, stored, headBytes, joined: stored.subarray(from, at), lengths };
}

/** The record texts of a plan's joined text, split by their lengths. */
export function recordTexts(joined: string, lengths: ArrayLike<number>): string[] {
  const texts: string[] = [];
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    texts.push(joined.slice(at, at + lengths[i]!));
    at += lengths[i]! + 1;
  }
  return texts;
}

/**
 * A Merkle entry's detail sealed with its root (hex): the stored text
 * (bytes) is the rest, then `keys`, then `records`, so that it can be
 * rebuilt exactly from the parsed detail (`hashedDetailText`).
 */
export function sealPlan(plan: MerklePlan, root: string): SealedDetail {
  const rest = restOf(plan.other, plan.lengths.length, root);
  const hashedText = JSON.stringify(rest);
  if (!/^[0-9a-f]{64}$/.test(root) || plan.stored.write(hashedText.slice(0, -1), 0, 'utf8') !== plan.headBytes) {
    throw new Error('a Merkle root must be 64 hex digits');
  }
  return { detail: { ...rest, keys: plan.keys, records: plan.records }, detailText: plan.stored, hashedText };
}

/** A detail that is not a Merkle entry's (`merklePlan` gave null), as the log stores it: whole, and hashed whole. */
export function sealWhole(detail: AuditDetail): SealedDetail {
  const text = JSON.stringify(detail);
  return { detail, detailText: text, hashedText: text };
}

/** A detail as the log stores it, its root (when it has one) computed here; `AuditLog.append` computes large roots off the main thread. */
export function sealDetail(detail: AuditDetail): SealedDetail {
  const plan = merklePlan(detail);
  return plan ? sealPlan(plan, merkleRootOfJoined(plan.joined, plan.lengths).toString('hex')) : sealWhole(detail);
}

/**
 * What an entry's stored detail commits to, short of a Merkle root:
 * `hashed`, the text its hash covers (the text itself for a whole-hashed
 * entry; for a Merkle entry its rest), and for a Merkle entry the records'
 * texts joined with their lengths and the `root` they must give. Null when
 * the stored text is not the one `sealDetail` writes for that detail (a
 * record, key or the text itself was changed).
 */
export function detailCommitment(detailText: string, detail: AuditDetail): { hashed: string; merkle?: { joined: string; lengths: Uint32Array; root: string } } | null {
  if (!Object.hasOwn(detail, 'merkle')) return { hashed: detailText };
  const { keys, records, ...rest } = detail;
  const m = (rest as Partial<DetailRest>).merkle;
  if (!m || typeof m !== 'object' || !Number.isSafeInteger(m.size) || typeof m.root !== 'string' || !keysAreRecords(detail) || records!.length !== m.size) return null;
  const texts = records!.map((r) => JSON.stringify(r));
  const joined = texts.join(',');
  const restText = JSON.stringify(rest);
  if (storedText(restText, keys, joined) !== detailText) return null;
  return { hashed: restText, merkle: { joined, lengths: Uint32Array.from(texts, (t) => t.length), root: m.root } };
}

/**
 * The text an entry's hash covers, from its stored detail text and that
 * text parsed (see `detailCommitment`), once a Merkle entry's records are
 * shown to give its root; null when they do not, or the text was changed.
 */
export function hashedDetailText(detailText: string, detail: AuditDetail): string | null {
  const c = detailCommitment(detailText, detail);
  if (!c?.merkle) return c?.hashed ?? null;
  return merkleRootOfTexts(c.merkle.joined, c.merkle.lengths) === c.merkle.root ? c.hashed : null;
}
