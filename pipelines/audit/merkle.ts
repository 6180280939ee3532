/**
 * Merkle trees over an audit entry's per-submission records, as RFC 6962
 * (Certificate Transparency) §2.1 defines them with SHA-256:
 *
 *   leaf hash  = sha256(0x00 || record text)
 *   node hash  = sha256(0x01 || left || right)
 *   MTH(D[n])  = the node hash of MTH(D[0:k]) and MTH(D[k:n]), where k is
 *                the largest power of two smaller than n
 *
 * so a tree of any size has one root, a leaf and an interior node can never
 * be taken for each other, and one record's inclusion is shown by the
 * hashes of the subtrees beside its path (its audit path), about log2(n)
 * of them, without any other record. Pure.
 */
import { createHash, hash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** RFC 6962's leaf hash of one record's text (UTF-8), or of bytes. */
export function leafHash(data: string | Uint8Array): Buffer {
  const h = createHash('sha256').update(LEAF);
  return (typeof data === 'string' ? h.update(data, 'utf8') : h.update(data)).digest();
}

/** RFC 6962's hash of an interior node. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/**
 * The root over records given as their UTF-8 bytes, each followed by one
 * separator byte (a comma) but the last, and each one's length in bytes:
 * the same root as {@link merkleRoot} over each record's {@link leafHash},
 * computed with a one-shot hash per node, its digest written into one
 * buffer of the level's hashes, instead of a `Hash` object and a Buffer
 * per node (about 2 µs each in Node, whatever the size hashed: a batch's
 * tree is 2n - 1 hashes).
 */
export function merkleRootOfJoined(bytes: Uint8Array, lengths: ArrayLike<number>): Buffer {
  const n = lengths.length;
  if (!n) return createHash('sha256').digest();
  let longest = 0;
  for (let i = 0; i < n; i++) longest = Math.max(longest, lengths[i]!);
  // One scratch buffer holds each hash's input: 0x00 and a record, or 0x01 and two hashes.
  const scratch = Buffer.allocUnsafe(Math.max(longest, 64) + 1);
  const level = Buffer.allocUnsafe(32 * n);
  let at = 0;
  scratch[0] = 0;
  for (let i = 0; i < n; i++) {
    const len = lengths[i]!;
    scratch.set(bytes.subarray(at, at + len), 1);
    level.write(hash('sha256', scratch.subarray(0, len + 1), 'binary'), 32 * i, 'binary');
    at += len + 1;
  }
  // Bottom-up, in place: pair neighbours at each level and carry an odd last node up unchanged (the tree `merkleRoot` builds).
  scratch[0] = 1;
  const node = scratch.subarray(0, 65);
  for (let width = n; width > 1; width = Math.ceil(width / 2)) {
    for (let i = 0; i + 1 < width; i += 2) {
      level.copy(scratch, 1, 32 * i, 32 * i + 64);
      level.write(hash('sha256', node, 'binary'), 16 * i, 'binary');
    }
    if (width % 2) level.copy(level, 32 * ((width - 1) / 2), 32 * (width - 1), 32 * width);
  }
  return Buffer.from(level.subarray(0, 32));
}

/**
 * Record texts joined by commas, with each one's length in characters, as
 * {@link merkleRootOfJoined} takes them: UTF-8 bytes, and each one's
 * length in bytes (its length in characters when the text is all ASCII).
 */
export function joinedBytes(joined: string, lengths: Uint32Array): { bytes: Buffer; lengths: Uint32Array } {
  const bytes = Buffer.from(joined, 'utf8');
  if (bytes.length === joined.length) return { bytes, lengths };
  const byteLengths = new Uint32Array(lengths.length);
  let chars = 0;
  for (let i = 0; i < lengths.length; i++) {
    byteLengths[i] = Buffer.byteLength(joined.slice(chars, chars + lengths[i]!), 'utf8');
    chars += lengths[i]! + 1;
  }
  return { bytes, lengths: byteLengths };
}

/** The root (hex) over record texts joined by commas, with each one's length in characters. */
export function merkleRootOfTexts(joined: string, lengths: Uint32Array): string {
  const b = joinedBytes(joined, lengths);
  return merkleRootOfJoined(b.bytes, b.lengths).toString('hex');
}

/** The largest power of two smaller than `n` (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The root over `leaves` (leaf hashes, in order); the hash of the empty string for none. */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (!leaves.length) return createHash('sha256').digest();
  // Bottom-up: pair neighbours at each level and carry an odd last node up unchanged, which builds the same tree as the recursive split.
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** The audit path of leaf `index` in the tree over `leaves`: sibling subtree hashes from the leaf up (RFC 6962 §2.1.1). */
export function auditPath(leaves: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  const path: Buffer[] = [];
  const walk = (lo: number, hi: number): void => {
    if (hi - lo <= 1) return;
    const k = split(hi - lo);
    if (index < lo + k) {
      walk(lo, lo + k);
      path.push(merkleRoot(leaves.slice(lo + k, hi)));
    } else {
      walk(lo + k, hi);
      path.push(merkleRoot(leaves.slice(lo, lo + k)));
    }
  };
  walk(0, leaves.length);
  return path;
}

/**
 * The root that leaf `leaf` at `index` of a tree of `size` leaves gives
 * with `path`, or null when the path has the wrong length for that
 * position (RFC 9162 §2.1.3.2's verification, which also rejects a path
 * with hashes left over).
 */
export function rootFromPath(leaf: Buffer, index: number, size: number, path: readonly Buffer[]): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}
