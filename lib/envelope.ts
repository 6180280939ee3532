/**
 * Envelope encryption for citizens' data at rest (node:crypto only).
 *
 * Each stored copy of a submission (its body in the state store, each
 * evidence or inbox file) is sealed with AES-256-GCM under a data key of
 * its own. Data keys are stored only wrapped (AES-256-GCM again) under a
 * key-encryption key the deployer holds, with that key's id, so that:
 * - rotating the key-encryption key re-wraps data keys, never bodies;
 * - destroying one data key makes its copy unreadable (crypto-shredding);
 * - whoever copies the state store alone holds ciphertext.
 *
 * A sealed value is `[version 1][iv 12][ciphertext][tag 16]`; a sealed
 * file is `REKEY-SEALED-1\n`, then the same. Additional authenticated data
 * (`aad`) binds a sealed copy to where it belongs (pipeline and key), so a
 * ciphertext moved to another row or file does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { CodedError } from './errors.js';
import { CryptoErrors } from './envelope.errors.js';

/** Bytes of every key: data keys and key-encryption keys (AES-256). */
export const KEY_BYTES = 32;
/** Bytes of the random nonce (IV) of every sealed value. */
export const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 1;
const ALGORITHM = 'aes-256-gcm';

/** The first bytes of every sealed file. */
export const SEALED_FILE_MAGIC = Buffer.from('REKEY-SEALED-1\n', 'latin1');

/** A key-encryption key and its id. */
export interface KeyEncryptionKey {
  /** `kek-` and 16 hex digits derived from the key (see {@link keyId}). */
  id: string;
  key: Buffer;
}

/** A data key as stored: wrapped under the key-encryption key `kid`. */
export interface WrappedKey {
  kid: string;
  /** Base64 of the sealed data key. */
  wrapped: string;
}

/**
 * The id of a key-encryption key: `kek-` and the first 16 hex digits of
 * SHA-256 over a label and the key. It names the key without revealing it,
 * and two deployers' keys never share an id by accident.
 */
export function keyId(key: Buffer): string {
  return `kek-${createHash('sha256').update('rekey key-encryption key id\0').update(key).digest('hex').slice(0, 16)}`;
}

/** Decodes a key written as 64 hex digits or base64 of 32 bytes; throws `DATA_KEY_INVALID` otherwise. */
export function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/=_-]+$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new CodedError(CryptoErrors.DATA_KEY_INVALID, `${where} is not a ${KEY_BYTES}-byte key written as 64 hex digits or base64`);
  }
  return key;
}

/** A fresh random key, as 64 hex digits (what `rekey keys new` prints and the generated key file holds). */
export function newKeyText(): string {
  return randomBytes(KEY_BYTES).toString('hex');
}

/**
 * `plaintext` sealed under `key` with `aad`: `[1][iv][ciphertext][tag]`.
 * `iv` (12 random bytes, never used twice with one key) is drawn here unless
 * a caller sealing many values hands in a slice of one larger random draw.
 */
export function seal(key: Buffer, plaintext: Buffer | string, aad: string, iv: Buffer = randomBytes(IV_BYTES)): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const head = Buffer.from([VERSION]);
  return Buffer.concat([head, iv, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of a value {@link seal} made with the same key and `aad`; throws `DATA_DECRYPT_FAILED` for anything else. */
export function unseal(key: Buffer, sealed: Buffer, aad: string, what = 'a sealed value'): Buffer {
  if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
    throw new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `${what} is not sealed by this version of rekey`);
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch (e) {
    throw new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `${what} does not open: it was altered, or sealed under another key or for another place`, { cause: e });
  }
}

/**
 * The deployer's key-encryption keys: one current key, which wraps every
 * new data key, and older keys still needed to unwrap data keys not yet
 * re-wrapped (`rekey keys rotate`).
 */
export class KeyRing {
  readonly current: KeyEncryptionKey;
  private readonly byId = new Map<string, Buffer>();

  /** `generated`: the current key was made by rekey beside the state store, not given by the deployer. */
  constructor(
    current: Buffer,
    previous: readonly Buffer[] = [],
    readonly generated = false,
  ) {
    this.current = { id: keyId(current), key: current };
    for (const k of [current, ...previous]) this.byId.set(keyId(k), k);
  }

  /** Ids of every key held, the current first. */
  get ids(): string[] {
    return [...this.byId.keys()];
  }

  /** The keys as {@link KeyRing} takes them (the current one, the older ones, `generated`), to build the same ring on another thread. */
  material(): { current: Buffer; previous: Buffer[]; generated: boolean } {
    return { current: this.current.key, previous: [...this.byId].filter(([id]) => id !== this.current.id).map(([, k]) => k), generated: this.generated };
  }

  /** Whether the key `kid` is held. */
  has(kid: string): boolean {
    return this.byId.has(kid);
  }

  /** A new random data key and its wrapped form (under the current key). */
  newDataKey(): { key: Buffer; wrapped: WrappedKey } {
    const key = randomBytes(KEY_BYTES);
    return { key, wrapped: this.wrap(key) };
  }

  /** `dataKey` wrapped under the current key-encryption key (`iv` as {@link seal} takes it). */
  wrap(dataKey: Buffer, iv?: Buffer): WrappedKey {
    return { kid: this.current.id, wrapped: seal(this.current.key, dataKey, `rekey data key\0${this.current.id}`, iv).toString('base64') };
  }

  /** The data key inside `w`; throws `DATA_KEY_UNKNOWN` when its key-encryption key is not held, `DATA_DECRYPT_FAILED` when it does not open. */
  unwrap(w: WrappedKey): Buffer {
    const kek = this.byId.get(w.kid);
    if (!kek) {
      throw new CodedError(CryptoErrors.DATA_KEY_UNKNOWN, `a data key is wrapped under ${w.kid}, which is not among the keys given (${this.ids.join(', ')})`);
    }
    return unseal(kek, Buffer.from(w.wrapped, 'base64'), `rekey data key\0${w.kid}`, 'a wrapped data key');
  }

  /** `w` wrapped under the current key (the same object when it already is). */
  rewrap(w: WrappedKey): WrappedKey {
    return w.kid === this.current.id ? w : this.wrap(this.unwrap(w));
  }
}

/** Appends the GCM tag once the plaintext has been enciphered. */
function sealingStream(key: Buffer, aad: string): Transform {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const out = cipher.update(chunk);
      if (!started) {
        started = true;
        done(null, Buffer.concat([SEALED_FILE_MAGIC, Buffer.from([VERSION]), iv, out]));
      } else done(null, out);
    },
    flush(done) {
      const last = cipher.final();
      done(null, Buffer.concat([started ? Buffer.alloc(0) : Buffer.concat([SEALED_FILE_MAGIC, Buffer.from([VERSION]), iv]), last, cipher.getAuthTag()]));
    },
  });
}

async function syncAndRename(tmp: string, path: string): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function tmpBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `from` (bytes, or a stream of them) sealed under `key` to `path`,
 * atomically: a temporary file beside it, synced, then renamed into place.
 * Only ciphertext ever reaches the disk.
 */
export async function writeSealedFile(path: string, key: Buffer, aad: string, from: Uint8Array | Readable): Promise<void> {
  const tmp = tmpBeside(path);
  try {
    const input = from instanceof Uint8Array ? [Buffer.from(from.buffer, from.byteOffset, from.byteLength)] : from;
    await pipeline(input, sealingStream(key, aad), createWriteStream(tmp, { mode: 0o600 }));
    await syncAndRename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** The plaintext of the sealed file at `path` as a stream (the tag is checked before the stream ends; a bad file errors with `DATA_DECRYPT_FAILED`). */
export async function openSealedFile(path: string, key: Buffer, aad: string): Promise<Readable> {
  const size = (await stat(path)).size;
  const headLen = SEALED_FILE_MAGIC.length + 1 + IV_BYTES;
  const fh = await open(path, 'r');
  const head = Buffer.alloc(headLen);
  const tag = Buffer.alloc(TAG_BYTES);
  try {
    if (size < headLen + TAG_BYTES) throw new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `${basename(path)} is not a sealed file`);
    await fh.read(head, 0, headLen, 0);
    await fh.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    await fh.close();
  }
  if (!head.subarray(0, SEALED_FILE_MAGIC.length).equals(SEALED_FILE_MAGIC) || head[SEALED_FILE_MAGIC.length] !== VERSION) {
    throw new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `${basename(path)} is not a sealed file`);
  }
  const decipher = createDecipheriv(ALGORITHM, key, head.subarray(SEALED_FILE_MAGIC.length + 1));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  const name = basename(path);
  const opened = new Transform({
    transform(chunk: Buffer, _enc, done) {
      done(null, decipher.update(chunk));
    },
    flush(done) {
      try {
        done(null, decipher.final());
      } catch (e) {
        done(new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `${name} does not open: it was altered, or sealed under another key or for another place`, { cause: e }));
      }
    },
  });
  const body = size - TAG_BYTES > headLen ? createReadStream(path, { start: headLen, end: size - TAG_BYTES - 1 }) : Readable.from([]);
  body.on('error', (e: Error) => opened.destroy(e));
  return body.pipe(opened);
}

/** The plaintext of the sealed file at `path`, whole. */
export async function readSealedFile(path: string, key: Buffer, aad: string): Promise<Buffer> {
  return buffer(await openSealedFile(path, key, aad));
}
