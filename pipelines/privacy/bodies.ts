/**
 * Submission bodies at rest: each body the ledger stores (in
 * `ledger_bodies`, or kept aside in `ledger_conflicts`) is sealed under a
 * data key of its own (lib/envelope), stored beside it wrapped under the
 * deployer's key-encryption key (`kid`, `dek`). The additional
 * authenticated data names the pipeline, the submission key and the table,
 * so a body copied onto another row does not open there.
 */
import { randomBytes } from 'node:crypto';
import { CodedError } from '../../lib/errors.js';
import { CryptoErrors } from '../../lib/envelope.errors.js';
import { IV_BYTES, KEY_BYTES, seal, unseal, type KeyEncryptionKey, type KeyRing } from '../../lib/envelope.js';
import type { StoreDialect } from '../store/state-store.js';

/** Where a body is kept: a submission's own body (`ledger_bodies`), a conflicting one kept aside (`ledger_conflicts`), or an operator's corrections beside a body (`ledger_bodies.corrections`, same data key). */
export type BodyPlace = 'body' | 'conflict' | 'corrections';

/**
 * A body as sealed for storage. Sealed: `body` is the sealed JSON text, as
 * base64 text or as its bytes (a mapping worker's seal, see
 * `ChunkResult.sealed`), `kid` and `dek` its wrapped data key. `kid` null:
 * clear JSON text written before migration 0008, until
 * `Ledger.sealExisting` seals it.
 */
export interface StoredBody {
  body: string | Uint8Array;
  kid: string | null;
  dek: string | null;
}

/**
 * A body as read back from the state store. A SQLite store keeps a sealed
 * body as its bytes (see {@link bodyColumnValue}) and hands them back as
 * bytes; PostgreSQL, and SQLite rows written before, hold the base64 text.
 */
export type ReadBody = StoredBody;

/**
 * The value a column of sealed bytes (`ledger_bodies.body`,
 * `ledger_sent.sent`) is given for `sealed`, base64 text or bytes. SQLite
 * keeps the bytes, a BLOB in the TEXT column (SQLite keeps a BLOB as it is
 * whatever the column's type): three quarters of the base64 text, and a
 * submission's commit writes that much less. PostgreSQL keeps the base64
 * text.
 */
export function sealedColumnValue(dialect: StoreDialect, sealed: string | Uint8Array): string | Uint8Array {
  if (dialect === 'sqlite') return typeof sealed === 'string' ? Buffer.from(sealed, 'base64') : sealed;
  return typeof sealed === 'string' ? sealed : sealedBytes(sealed).toString('base64');
}

/** The value a `ledger_bodies.body` column is given for `row`: a sealed body as {@link sealedColumnValue} gives it; a clear or empty body stays text everywhere. */
export function bodyColumnValue(dialect: StoreDialect, row: StoredBody): string | Uint8Array {
  return row.kid !== null && row.body !== '' ? sealedColumnValue(dialect, row.body) : row.body;
}

/** The text of a clear body as read back (one written before migration 0008, or by the bench's clear codec): stored as text, and decoded as UTF-8 were it ever handed back as bytes. */
export function clearText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

/** Sealed bytes as read back from the state store: as they are (a SQLite BLOB), or decoded from base64 text. */
export function sealedBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'base64') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** One body to seal: its submission key and its JSON text. */
export interface BodyToSeal {
  key: string;
  text: string;
}

/**
 * Seals bodies for storage and opens them again. The ledger's one
 * production codec is {@link sealedBodies}; the pipeline benchmark injects
 * another (bench/, through the Ledger's internal constructor option) to
 * price encryption, and nothing else can reach that option.
 */
export interface BodyCodec {
  /** `items` sealed for `place` in `pipeline`, one result per item, in order. */
  seal(pipeline: string, place: BodyPlace, items: readonly BodyToSeal[]): StoredBody[];
  /**
   * The JSON text of a stored body of `key` in `pipeline`. Throws
   * `DATA_KEY_UNKNOWN` when its key-encryption key is not given, and
   * `DATA_DECRYPT_FAILED` when it was altered or belongs to another row.
   */
  open(pipeline: string, place: BodyPlace, key: string, row: ReadBody): string;
  /**
   * The key-encryption key that wraps new data keys, handed to mapping
   * workers so that they seal bodies for `ledger_bodies` themselves, with
   * {@link sealedBodies} over that key alone (the same seal, off the main
   * thread). Absent: bodies are sealed by this codec only (the bench's
   * clear codec, whose bodies must stay clear on workers too).
   */
  readonly workerKey?: KeyEncryptionKey;
  /**
   * Whether `row`, a body sealed elsewhere with `workerKey`, may be stored
   * as it is: its data key is wrapped under a key this codec holds.
   * Absent: never (it is opened, if it can be, and sealed again).
   */
  storable?(row: StoredBody): boolean;
}

/** A body sealed by {@link sealMany}: its sealed bytes and wrapped data key, and the bytes of its `also` text sealed under the same data key. */
export interface SealedItem {
  body: Buffer;
  kid: string;
  dek: string;
  also?: Buffer;
}

/**
 * Seals `items` as {@link sealedBodies} does, as bytes; an item with `also`
 * has that text sealed too, under the same data key, with the additional
 * authenticated data `also.aad` (a mapping worker seals the record it will
 * send beside the body). One random draw for the batch, zeroed after.
 */
export function sealMany(keys: KeyRing, pipeline: string, place: BodyPlace, items: readonly (BodyToSeal & { also?: { text: string; aad: string } })[]): SealedItem[] {
  if (!items.length) return [];
  const per = PER_BODY + IV_BYTES;
  const random = randomBytes(items.length * per);
  try {
    return items.map((item, i) => {
      const at = i * per;
      const dataKey = random.subarray(at, at + KEY_BYTES);
      const wrapped = keys.wrap(dataKey, random.subarray(at + KEY_BYTES, at + KEY_BYTES + IV_BYTES));
      const body = seal(dataKey, item.text, bodyAad(pipeline, place, item.key), random.subarray(at + KEY_BYTES + IV_BYTES, at + PER_BODY));
      const sealed: SealedItem = { body, kid: wrapped.kid, dek: wrapped.wrapped };
      if (item.also) sealed.also = seal(dataKey, item.also.text, item.also.aad, random.subarray(at + PER_BODY, at + per));
      return sealed;
    });
  } finally {
    random.fill(0);
  }
}

/** The additional authenticated data of a body: it opens only as `key`'s body in `place` of `pipeline`. */
export function bodyAad(pipeline: string, place: BodyPlace, key: string): string {
  return `rekey ${place}\0${pipeline}\0${key}`;
}

/** Random bytes one body takes: its data key, the nonce that wraps it and the nonce that seals the body. */
const PER_BODY = KEY_BYTES + 2 * IV_BYTES;

/**
 * The codec that seals every body under a fresh data key wrapped by the
 * current key of `keys`. A batch draws its randomness once (data keys and
 * nonces are disjoint slices of one draw, zeroed once the batch is
 * sealed): per body, one wrap and one seal.
 */
export function sealedBodies(keys: KeyRing): BodyCodec {
  return {
    workerKey: keys.current,
    storable: (row) => row.kid !== null && row.dek !== null && (row.kid === keys.current.id || keys.has(row.kid)),
    seal: (pipeline, place, items) => sealMany(keys, pipeline, place, items).map((s) => ({ body: s.body.toString('base64'), kid: s.kid, dek: s.dek })),
    open(pipeline, place, key, row) {
      if (row.kid === null && row.dek === null) return clearText(row.body);
      if (row.kid === null || row.dek === null) {
        throw new CodedError(CryptoErrors.DATA_DECRYPT_FAILED, `the stored ${place} of ${JSON.stringify(key)} in ${pipeline} has half a data key (kid or dek missing)`);
      }
      const dataKey = keys.unwrap({ kid: row.kid, wrapped: row.dek });
      return unseal(dataKey, sealedBytes(row.body), bodyAad(pipeline, place, key), `the stored ${place} of ${JSON.stringify(key)}`).toString('utf8');
    },
  };
}
