/**
 * The record exactly as sent to the legacy system, kept with its
 * submission: `canonicalJson({ record, children })` sealed under the
 * submission's own data key (the one its body is sealed under, wrapped in
 * its `ledger_bodies` row) with additional authenticated data of its own,
 * in `ledger_sent` (a row of its own by the same ledger id, so that
 * keeping it does not rewrite the body's row). It lives and dies with the
 * body: a key rotation re-wraps the one data key, an erasure or a body
 * purge deletes both rows (`deleteBodies` in case-bodies.ts calls
 * {@link deleteSentCopies}). A row whose body is not sealed (clear, before
 * migration 0008) keeps no copy: citizens' data is never stored in clear.
 */
import { randomBytes } from 'node:crypto';
import { IV_BYTES, unseal, seal, type KeyRing } from '../../lib/envelope.js';
import { inList, insertMany, listParam, sqliteInsertValues } from '../store/sql.js';
import { sealedBytes, sealedColumnValue } from './bodies.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import type { SealedSent } from '../ledger/ledger.types.js';

/** What a delivery sent: the mapped record and its child rows by group, as handed to the target. */
export interface SentRecord {
  record: Record<string, unknown>;
  children: Record<string, Record<string, unknown>[]>;
}

/** The additional authenticated data of a sent copy: it opens only as `key`'s copy in `pipeline`. */
export function sentAad(pipeline: string, key: string): string {
  return `rekey sent\0${pipeline}\0${key}`;
}

interface KeyedRow {
  id: number | string;
  key: string;
  kid: string | null;
  dek: string | null;
}

/**
 * `text` (`canonicalJson` of a {@link SentRecord}) sealed as `key`'s copy
 * in `pipeline` under the data key `dek` wraps (as stored in its body
 * row); what a mapping worker does with the data key it sealed the body
 * under. Throws `DATA_KEY_UNKNOWN` when `keys` cannot unwrap it.
 */
export function sealSentWith(keys: KeyRing, pipeline: string, key: string, dek: { kid: string; dek: string }, text: string): SealedSent {
  const dataKey = keys.unwrap({ kid: dek.kid, wrapped: dek.dek });
  return { sealed: seal(dataKey, text, sentAad(pipeline, key)).toString('base64'), dek: dek.dek };
}

/** A copy to store: its text, sealed here under the row's data key; or sealed already (by a mapping worker). */
export type SentCopy = { text: string } | { sealed: SealedSent };

/**
 * Stores each copy in `ledger_sent` by the ledger id of its key (replacing
 * a copy kept from an earlier delivery), in `t`: a text
 * (`canonicalJson` of a {@link SentRecord}) sealed under that row's data
 * key; a copy sealed already only when the row still holds the data key
 * it was sealed under. Keys without a body row (purged, erased) or with a
 * clear body are skipped. Throws `DATA_KEY_UNKNOWN` when a row's data key
 * is wrapped under a key `keys` does not hold.
 */
export async function writeSentCopies(store: StateStore, keys: KeyRing, pipeline: string, copies: ReadonlyMap<string, SentCopy>, t: StoreTx): Promise<void> {
  if (!copies.size) return;
  const rows = await store.select<KeyedRow>(
    `SELECT b.id, l.key, b.kid, b.dek FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 AND ${inList(store, 'l.key', 2)}`,
    [pipeline, listParam(store, [...copies.keys()].sort())],
    t,
  );
  const updates: [number | string, string | Uint8Array][] = [];
  // One random draw for the nonces of every copy sealed here: a draw costs about as much as a seal.
  const ivs = randomBytes(IV_BYTES * rows.length);
  rows.forEach((r, i) => {
    if (r.kid === null || r.dek === null) return;
    const copy = copies.get(r.key)!;
    if ('sealed' in copy) {
      if (copy.sealed.dek === r.dek) updates.push([r.id, copy.sealed.sealed]);
      return;
    }
    const dataKey = keys.unwrap({ kid: r.kid, wrapped: r.dek });
    updates.push([r.id, seal(dataKey, copy.text, sentAad(pipeline, r.key), ivs.subarray(IV_BYTES * i, IV_BYTES * (i + 1))).toString('base64')]);
  });
  await storeSent(store, updates, t);
}

/**
 * Inserts or replaces `[id, sealed]` copies (base64 text or bytes) in
 * `ledger_sent`. SQLite keeps each as its bytes, bound value by value;
 * PostgreSQL keeps the base64 text (`sealedColumnValue`).
 */
async function storeSent(store: StateStore, rows: readonly [number | string, string | Uint8Array][], t: StoreTx): Promise<void> {
  const conflict = 'ON CONFLICT (id) DO UPDATE SET sent = excluded.sent';
  const values = rows.map(([id, sent]) => [id, sealedColumnValue(store.dialect, sent)]);
  if (store.dialect === 'postgres') await insertMany(store, 'ledger_sent', ['id', 'sent'], values, t, conflict);
  else await sqliteInsertValues(store, 'ledger_sent', ['id', 'sent'], values, t, conflict);
}

/**
 * The copy of what was sent for `key` in `pipeline`, opened; null when
 * none is kept (never delivered, body purged, erased, or delivered before
 * copies were kept). Throws `DATA_KEY_UNKNOWN` or `DATA_DECRYPT_FAILED`
 * as a body does.
 */
export async function readSentCopy(store: StateStore, keys: KeyRing, pipeline: string, key: string): Promise<SentRecord | null> {
  const [row] = await store.select<{ sent: string | Uint8Array | null; kid: string | null; dek: string | null }>(
    'SELECT s.sent, b.kid, b.dek FROM ledger l JOIN ledger_bodies b ON b.id = l.id JOIN ledger_sent s ON s.id = l.id WHERE l.pipeline = $1 AND l.key = $2',
    [pipeline, key],
  );
  if (!row?.sent || row.kid === null || row.dek === null) return null;
  const dataKey = keys.unwrap({ kid: row.kid, wrapped: row.dek });
  const text = unseal(dataKey, sealedBytes(row.sent), sentAad(pipeline, key), `the record sent for ${JSON.stringify(key)}`).toString('utf8');
  return JSON.parse(text) as SentRecord;
}

/**
 * Deletes the sent copies of the ledger rows that `where` picks (a
 * condition on `id`, its parameters `params`), in `t`: called wherever
 * their bodies are deleted, in the same transaction. A copy left behind
 * could not be opened (its data key goes with the body row), but it is
 * citizens' data all the same, so it goes too.
 */
export async function deleteSentCopies(store: StateStore, where: string, params: unknown[], t: StoreTx): Promise<void> {
  await store.exec(`DELETE FROM ledger_sent WHERE ${where}`, params, t);
}
