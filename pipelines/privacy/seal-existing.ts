/**
 * Sealing bodies stored in clear before migration 0008: a store upgraded
 * from an earlier rekey holds no clear body once a runtime has opened it.
 *
 * Only rows written before 0008 can be clear, and they are the oldest, so
 * the clear rows of a table are a prefix of it in id order. Sealing walks
 * that prefix from its newest row down, so whatever is left clear (after an
 * interrupted start, say) is still a prefix, and "is the oldest row
 * clear?" (one primary-key lookup) tells whether there is anything to do:
 * a sealed store is not scanned on every start (about 0.7 s a 500,000
 * bodies on SQLite here, were it scanned).
 */
import { updateMany } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import type { BodyCodec, BodyPlace, StoredBody } from './bodies.js';

/** How many clear bodies were sealed, by table. */
export interface SealedCounts {
  bodies: number;
  conflicts: number;
}

/** The clear rows (`kid` null) of one table, with the pipeline and key their seal is bound to. */
const CLEAR: Record<Exclude<BodyPlace, 'corrections'>, { table: string; select: string }> = {
  body: {
    table: 'ledger_bodies',
    select: 'SELECT b.id, b.body, l.pipeline, l.key FROM ledger_bodies b JOIN ledger l ON l.id = b.id WHERE b.kid IS NULL ORDER BY b.id DESC',
  },
  conflict: {
    table: 'ledger_conflicts',
    select: 'SELECT id, body, pipeline, key FROM ledger_conflicts WHERE kid IS NULL ORDER BY id DESC',
  },
};

type ClearRow = { id: number | string; body: string; pipeline: string; key: string };

/** Seals `rows`, one codec call per pipeline (a batch draws its randomness once). */
function sealRows(bodies: BodyCodec, place: BodyPlace, rows: readonly ClearRow[]): StoredBody[] {
  const out = new Array<StoredBody>(rows.length);
  const byPipeline = new Map<string, number[]>();
  rows.forEach((r, i) => byPipeline.set(r.pipeline, [...(byPipeline.get(r.pipeline) ?? []), i]));
  for (const [pipeline, at] of byPipeline) {
    const sealed = bodies.seal(pipeline, place, at.map((i) => ({ key: rows[i]!.key, text: rows[i]!.body })));
    at.forEach((i, j) => (out[i] = sealed[j]!));
  }
  return out;
}

async function sealTable(store: StateStore, bodies: BodyCodec, place: keyof typeof CLEAR, batch: number): Promise<number> {
  const { table, select } = CLEAR[place];
  const [oldest] = await store.select<{ kid: string | null }>(`SELECT kid FROM ${table} ORDER BY id LIMIT 1`);
  if (!oldest || oldest.kid !== null) return 0;
  let sealed = 0;
  for (;;) {
    const n = await store.transaction(async (t) => {
      const rows = await store.select<ClearRow>(`${select} LIMIT ${batch}`, [], t);
      const stored = sealRows(bodies, place, rows);
      if (stored.some((s) => s.kid === null)) throw new Error('sealExisting needs a codec that seals');
      await updateMany(store, table, ['body', 'kid', 'dek'], rows.map((r, i) => [r.id, stored[i]!.body, stored[i]!.kid, stored[i]!.dek]), t, 'x.kid IS NULL');
      return rows.length;
    });
    sealed += n;
    if (n < batch) return sealed;
  }
}

/**
 * Seals every clear body in `ledger_bodies` and `ledger_conflicts` with
 * `bodies`, `batch` rows per transaction, and resolves to how many. A row
 * sealed by another process meanwhile is left as that process sealed it.
 */
export async function sealExistingBodies(store: StateStore, bodies: BodyCodec, batch: number): Promise<SealedCounts> {
  const size = Math.max(1, Math.floor(batch));
  return { bodies: await sealTable(store, bodies, 'body', size), conflicts: await sealTable(store, bodies, 'conflict', size) };
}
