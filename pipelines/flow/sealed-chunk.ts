/**
 * What a mapping worker hands back as bytes in shared memory rather than
 * as text: a chunk's sealed bodies and sent copies, and the JSON of each
 * record's `sent` audit detail, each kind one after the other in one
 * `SharedArrayBuffer`, which the main thread and the ledger thread share
 * instead of copying. As text, every one was copied into a string on each
 * thread it crossed (the sealed ones encoded to base64 and back on the
 * way), and the details were parsed on the main thread only to be cloned,
 * object by object, into its message to the ledger thread.
 */

/**
 * A chunk's sealed bodies and sent copies (`ChunkResult.sealed`). Record
 * `i`'s body is `bytes` from `ends[i - 1]` (0 for the first) to `ends[i]`;
 * its sent copy follows, from `ends[n + i - 1]` to `ends[n + i]` for `n`
 * records, empty for a record the mapping rejected (nothing will be sent).
 */
export interface SealedChunk {
  kid: string;
  /** The sealed bytes, over a `SharedArrayBuffer`. */
  bytes: Uint8Array;
  ends: Uint32Array;
  /** Each record's wrapped data key (base64). */
  deks: string[];
}

/** Each record's sealed body and sent copy (null where there is none) in `sealed`, as views of its bytes (no copy). */
export function sealedParts(sealed: SealedChunk): { bodies: Uint8Array[]; sent: (Uint8Array | null)[] } {
  const views = viewsOf(sealed.bytes, sealed.ends);
  const n = sealed.deks.length;
  // A sealed body is never empty (its version byte, nonce and tag alone are 29 bytes).
  return { bodies: views.slice(0, n) as Uint8Array[], sent: views.slice(n) };
}

/** The views of `bytes` that `ends` marks out, one after the other from 0; null for an empty one. */
function viewsOf(bytes: Uint8Array, ends: Uint32Array): (Uint8Array | null)[] {
  const out = new Array<Uint8Array | null>(ends.length);
  let at = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = ends[i] === at ? null : bytes.subarray(at, ends[i]);
    at = ends[i]!;
  }
  return out;
}

/** `items` sealed as {@link SealedChunk} keeps them: their bytes copied once into one `SharedArrayBuffer`. */
export function sealedChunk(kid: string, items: readonly { body: Uint8Array; dek: string; also?: Uint8Array }[]): SealedChunk {
  const n = items.length;
  const ends = new Uint32Array(2 * n);
  let size = 0;
  items.forEach((s, i) => (ends[i] = size += s.body.byteLength));
  items.forEach((s, i) => (ends[n + i] = size += s.also?.byteLength ?? 0));
  const bytes = new Uint8Array(new SharedArrayBuffer(size));
  let at = 0;
  for (const s of items) {
    bytes.set(s.body, at);
    at += s.body.byteLength;
  }
  for (const s of items) {
    if (!s.also) continue;
    bytes.set(s.also, at);
    at += s.also.byteLength;
  }
  return { kid, bytes, ends, deks: items.map((s) => s.dek) };
}

/** Each record's text (its `sent` detail's JSON; none for a record the mapping rejected) as UTF-8, one after the other in a `SharedArrayBuffer`: record `i`'s from `ends[i - 1]` (0 for the first) to `ends[i]`. */
export interface SharedTexts {
  bytes: Uint8Array;
  ends: Uint32Array;
}

/** `texts` (undefined for none) as {@link SharedTexts}: encoded once, into one `SharedArrayBuffer`. */
export function sharedTexts(texts: readonly (string | undefined)[]): SharedTexts {
  const ends = new Uint32Array(texts.length);
  let size = 0;
  texts.forEach((t, i) => (ends[i] = size += t === undefined ? 0 : Buffer.byteLength(t, 'utf8')));
  const bytes = Buffer.from(new SharedArrayBuffer(size));
  let at = 0;
  for (const t of texts) if (t !== undefined) at += bytes.write(t, at, 'utf8');
  return { bytes, ends };
}

/** Each record's text in `shared` as a view of its bytes (no copy), null for none. */
export function sharedTextParts(shared: SharedTexts): (Uint8Array | null)[] {
  return viewsOf(shared.bytes, shared.ends);
}
