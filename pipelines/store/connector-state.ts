/**
 * The state store's side of `ConnectorState`: a connector's durable facts
 * as rows of `connector_state`, one text value per (pipeline, name).
 */
import type { ConnectorState } from '../../connectors/connector.types.js';
import { iso, readInt } from './sql.js';
import type { StateStore } from './state-store.js';

const UPSERT = `INSERT INTO connector_state (pipeline, name, value, updated_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

/** The connector state of `pipeline` in `store`; each call is its own committed transaction. */
export function connectorState(store: StateStore, pipeline: string): ConnectorState {
  const now = () => (store.dialect === 'postgres' ? new Date() : iso(new Date()));
  return {
    async get(name) {
      const rows = await store.select<{ value: string }>('SELECT value FROM connector_state WHERE pipeline = $1 AND name = $2', [pipeline, name]);
      return rows[0]?.value;
    },
    async set(name, value) {
      await store.transaction((t) => store.exec(UPSERT, [pipeline, name, value, now()], t));
    },
    async delete(name) {
      await store.transaction((t) => store.exec('DELETE FROM connector_state WHERE pipeline = $1 AND name = $2', [pipeline, name], t));
    },
    async list(prefix) {
      const rows = await store.select<{ name: string; value: string }>(
        'SELECT name, value FROM connector_state WHERE pipeline = $1 AND substr(name, 1, $3) = $2',
        [pipeline, prefix, prefix.length],
      );
      return rows.map((r) => ({ name: r.name, value: r.value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async next(name) {
      const bump = store.dialect === 'postgres' ? "(connector_state.value::bigint + 1)::text" : 'CAST(CAST(connector_state.value AS INTEGER) + 1 AS TEXT)';
      const rows = await store.transaction((t) =>
        store.select<{ value: string }>(
          `INSERT INTO connector_state (pipeline, name, value, updated_at) VALUES ($1, $2, '1', $3)
           ON CONFLICT (pipeline, name) DO UPDATE SET value = ${bump}, updated_at = excluded.updated_at RETURNING value`,
          [pipeline, name, now()],
          t,
        ),
      );
      return readInt(rows[0]!.value);
    },
  };
}
