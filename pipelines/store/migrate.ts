/**
 * Brings the state store's schema up to date with umzug, recording applied
 * migrations in `rekey_migrations`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SequelizeStorage, Umzug } from 'umzug';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { MIGRATIONS } from './migrations/index.js';
import type { MigrationContext } from './migrations/migration.types.js';
import type { StateStore } from './state-store.js';

function umzugFor(store: StateStore): Umzug<MigrationContext> {
  return new Umzug<MigrationContext>({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: ({ context }) => m.up(context), down: ({ context }) => m.down(context) })),
    context: { qi: store.sequelize.getQueryInterface(), dialect: store.dialect },
    storage: new SequelizeStorage({ sequelize: store.sequelize, tableName: 'rekey_migrations' }),
    logger: undefined,
  });
}

/**
 * Applies every pending migration and resolves to the names applied.
 * Several processes may start at once: on PostgreSQL they queue on an
 * advisory lock; on SQLite a process that loses the race waits for the
 * winner to finish. Throws `STORE_MIGRATION_FAILED` when the schema cannot
 * be brought up to date.
 */
export async function migrate(store: StateStore): Promise<string[]> {
  const umzug = umzugFor(store);
  const up = async () => (await umzug.up()).map((m) => m.name);
  try {
    if (store.dialect === 'postgres') {
      return await store.transaction(async (t) => {
        await store.exec(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.rekey_migrations'))`, [], t);
        return up();
      });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await up();
      } catch (e) {
        if (attempt >= 20) throw e;
        if ((await umzug.pending()).length === 0) return [];
        await sleep(100);
      }
    }
  } catch (e) {
    throw new PipelineError(PipelineCodes.STORE_MIGRATION_FAILED, `state store ${store.location}: migration failed: ${(e as Error).message}`, { cause: e });
  }
}
