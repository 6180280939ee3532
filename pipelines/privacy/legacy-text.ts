/**
 * The legacy system's own error text of a submission's last error (a
 * database message, a screen's message, an answer file's reason), kept
 * with its submission: it may quote a citizen's values, so it is data.
 * `canonicalJson({ text, textHash })` is sealed under the submission's
 * data key (the one its body is sealed under) with additional
 * authenticated data of its own, in `ledger_bodies.legacy_error`
 * (migration 0018). The ledger row and the audit log keep only the
 * error's code, constraint, field and `textHash`, the keyed hash of the
 * text. It lives and dies with the body: a key rotation re-wraps the one
 * data key, an erasure or a body purge deletes the row. A row whose body
 * is not sealed keeps no text: citizens' data is never stored in clear.
 */
import { canonicalJson } from '../../lib/canonical-json.js';
import { seal, unseal, type KeyRing } from '../../lib/envelope.js';
import type { ErrorData } from '../../lib/errors.js';
import { inList, listParam, updateMany } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';

/** A legacy system's text and the keyed hash the ledger row holds of it. */
export interface LegacyText {
  text: string;
  textHash: string;
}

/** The additional authenticated data of a legacy text: it opens only as `key`'s in `pipeline`. */
export function legacyTextAad(pipeline: string, key: string): string {
  return `rekey legacy-error\0${pipeline}\0${key}`;
}

/**
 * `error` as the flow hands it to the ledger: when it carries the legacy
 * system's text, with `textHash` (the keyed hash `hash` makes of it)
 * added; the ledger stores the text only sealed, and the hash in clear.
 */
export function withTextHash(error: ErrorData, hash: (text: string) => string): ErrorData {
  return error.legacyText ? { ...error, textHash: hash(error.legacyText) } : error;
}

/**
 * Stores each text in the `ledger_bodies` row of its key, in `t`, sealed
 * under that row's data key. Keys without a body row (purged, erased) or
 * with a clear body are skipped, so the text is dropped. Throws
 * `DATA_KEY_UNKNOWN` when a row's data key is wrapped under a key `keys`
 * does not hold.
 */
export async function writeLegacyTexts(store: StateStore, keys: KeyRing, pipeline: string, texts: ReadonlyMap<string, LegacyText>, t: StoreTx): Promise<void> {
  if (!texts.size) return;
  const rows = await store.select<{ id: number | string; key: string; kid: string | null; dek: string | null }>(
    `SELECT b.id, l.key, b.kid, b.dek FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 AND ${inList(store, 'l.key', 2)}`,
    [pipeline, listParam(store, [...texts.keys()].sort())],
    t,
  );
  const updates: unknown[][] = [];
  for (const r of rows) {
    if (r.kid === null || r.dek === null) continue;
    const dataKey = keys.unwrap({ kid: r.kid, wrapped: r.dek });
    updates.push([r.id, seal(dataKey, canonicalJson(texts.get(r.key)!), legacyTextAad(pipeline, r.key)).toString('base64')]);
  }
  await updateMany(store, 'ledger_bodies', ['legacy_error'], updates, t);
}

/**
 * The legacy texts `errors` carry (with their hash), by key, leaving out
 * `lost` keys and errors the flow did not hash.
 */
export function legacyTextsOf(moves: readonly { key: string; error?: ErrorData }[], lost: ReadonlySet<string> = new Set()): Map<string, LegacyText> {
  const out = new Map<string, LegacyText>();
  for (const m of moves) {
    if (lost.has(m.key) || !m.error?.legacyText || !m.error.textHash) continue;
    out.set(m.key, { text: m.error.legacyText, textHash: m.error.textHash });
  }
  return out;
}

/**
 * The legacy text kept for `key` in `pipeline`, opened; null when none is
 * kept (the error carried none, body purged, erased). The caller shows it
 * only as the text of an error whose `textHash` it matches: a later error
 * without a text of its own leaves the earlier one stored. Throws
 * `DATA_KEY_UNKNOWN` or `DATA_DECRYPT_FAILED` as a body does.
 */
export async function readLegacyText(store: StateStore, keys: KeyRing, pipeline: string, key: string): Promise<LegacyText | null> {
  const [row] = await store.select<{ legacy_error: string | null; kid: string | null; dek: string | null }>(
    'SELECT b.legacy_error, b.kid, b.dek FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 AND l.key = $2',
    [pipeline, key],
  );
  if (!row?.legacy_error || row.kid === null || row.dek === null) return null;
  const dataKey = keys.unwrap({ kid: row.kid, wrapped: row.dek });
  const text = unseal(dataKey, Buffer.from(row.legacy_error, 'base64'), legacyTextAad(pipeline, key), `the legacy error text of ${JSON.stringify(key)}`).toString('utf8');
  return JSON.parse(text) as LegacyText;
}
