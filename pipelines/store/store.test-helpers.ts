/** Test helpers: a fresh state store per test on SQLite (temp file) or PostgreSQL (own schema). */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequelize } from 'sequelize';
import { openStateStore, type StateStore, type StoreDialect } from './state-store.js';

/** The PostgreSQL the tests use. */
export const PG_URL = process.env.REKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL tests skip, or null when the server answers. Computed once per test file. */
export const pgSkipReason: string | null = await (async () => {
  const probe = new Sequelize(PG_URL, { logging: false, dialectOptions: { connectionTimeoutMillis: 3000 } });
  try {
    await probe.authenticate();
    return null;
  } catch (e) {
    return `PostgreSQL at ${PG_URL} is not reachable (${(e as Error).message}); set REKEY_TEST_PG_URL`;
  } finally {
    await probe.close().catch(() => undefined);
  }
})();
if (pgSkipReason) process.stderr.write(`SKIP PostgreSQL tests: ${pgSkipReason}\n`);

/** Dialects to run shared suites on (PostgreSQL only when reachable). */
export const TEST_DIALECTS: StoreDialect[] = pgSkipReason ? ['sqlite'] : ['sqlite', 'postgres'];

/** A state store for one test, and how to get rid of it. */
export interface TestStore {
  store: StateStore;
  /** URL another process can open the same store with. */
  url: string;
  dispose(): Promise<void>;
}

/** A new, empty, migrated store: a temp SQLite file, or a `rekey_test_<random>` schema dropped on dispose. */
export async function openTestStore(dialect: StoreDialect): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-store-'));
    const url = `sqlite:${join(dir, 'state.sqlite')}`;
    const store = await openStateStore(url);
    return {
      store,
      url,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `rekey_test_${randomBytes(6).toString('hex')}`;
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  const dropSchema = async () => {
    const admin = new Sequelize(PG_URL, { logging: false });
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.close();
    }
  };
  const store = await openStateStore(url).catch(async (e: unknown) => {
    await dropSchema();
    throw e;
  });
  return {
    store,
    url,
    async dispose() {
      await store.close();
      await dropSchema();
    },
  };
}
