/**
 * Brings the state store's schema up to date with umzug, recording applied
 * migrations in `rekey_migrations`. Each migration and its record commit in
 * one transaction, so a process killed in the middle of one leaves the
 * schema as it was before it, and the next start applies it whole. A store
 * already up to date (every start but the first after an upgrade) is found
 * so by one read, without loading umzug (about 0.1 s of CPU a start, with
 * the command-line tooling its package brings) or taking a write
 * transaction.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Umzug, UmzugStorage } from 'umzug';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { MIGRATIONS } from './migrations/index.js';
import type { MigrationContext } from './migrations/migration.types.js';
import type { StateStore, StoreDialect } from './state-store.js';

/** `rekey_migrations` (the table umzug's Sequelize storage created in earlier versions), read and written in the migration's transaction. */
const storage: UmzugStorage<MigrationContext> = {
  async executed({ context }) {
    const { qi, transaction } = context;
    await qi.sequelize.query('CREATE TABLE IF NOT EXISTS rekey_migrations (name VARCHAR(255) NOT NULL PRIMARY KEY)', { transaction });
    const rows = await qi.sequelize.query<{ name: string }>('SELECT name FROM rekey_migrations', { type: QueryTypes.SELECT, transaction });
    return rows.map((r) => r.name);
  },
  async logMigration({ name, context }) {
    await context.qi.sequelize.query('INSERT INTO rekey_migrations (name) VALUES ($1)', { bind: [name], transaction: context.transaction });
  },
  async unlogMigration({ name, context }) {
    await context.qi.sequelize.query('DELETE FROM rekey_migrations WHERE name = $1', { bind: [name], transaction: context.transaction });
  },
};

async function umzugFor(sequelize: Sequelize, dialect: StoreDialect, transaction: Transaction): Promise<Umzug<MigrationContext>> {
  const { Umzug } = await import('umzug');
  return new Umzug<MigrationContext>({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: ({ context }) => m.up(context), down: ({ context }) => m.down(context) })),
    context: { qi: sequelize.getQueryInterface(), dialect, transaction },
    storage,
    logger: undefined,
  });
}

/**
 * Runs `step` in a transaction of its own on `sequelize` (on PostgreSQL
 * holding the schema's migration lock, so concurrent starters queue; on
 * SQLite a write transaction, so they wait on the busy timeout) with an
 * umzug bound to it.
 */
function inTransaction<T>(sequelize: Sequelize, dialect: StoreDialect, step: (umzug: Umzug<MigrationContext>) => Promise<T>): Promise<T> {
  return sequelize.transaction(async (t) => {
    if (dialect === 'postgres') await sequelize.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.rekey_migrations'))`, { transaction: t });
    return step(await umzugFor(sequelize, dialect, t));
  });
}

/**
 * Whether every migration rekey knows is recorded as applied, by one read
 * outside any transaction (false when `rekey_migrations` does not exist
 * yet). A store that holds migrations this rekey does not know (a newer
 * rekey migrated it) is up to date as far as this one can tell, as umzug
 * would also find nothing to apply.
 */
async function upToDate(store: StateStore): Promise<boolean> {
  let rows: { name: string }[];
  try {
    rows = await store.select<{ name: string }>('SELECT name FROM rekey_migrations');
  } catch {
    return false;
  }
  const applied = new Set(rows.map((r) => r.name));
  return MIGRATIONS.every((m) => applied.has(m.name));
}

/**
 * Applies every pending migration, one transaction each, and resolves to
 * the names applied. Several processes may start at once: the one that
 * loses waits and then finds nothing left to do. Throws
 * `STORE_MIGRATION_FAILED` when the schema cannot be brought up to date.
 */
export async function migrate(store: StateStore): Promise<string[]> {
  const applied: string[] = [];
  try {
    if (await upToDate(store)) return applied;
    await store.withSequelize(async (sequelize) => {
      for (let busy = 0; ; ) {
        try {
          const [done] = await inTransaction(sequelize, store.dialect, (u) => u.up({ step: 1 }));
          if (!done) return;
          applied.push(done.name);
        } catch (e) {
          if (store.dialect === 'postgres' || !/SQLITE_BUSY|database is locked/.test(String((e as Error).message)) || ++busy > 20) throw e;
          await sleep(100);
        }
      }
    });
    return applied;
  } catch (e) {
    throw new PipelineError(PipelineCodes.STORE_MIGRATION_FAILED, `state store ${store.location}: migration failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Undoes the last applied migration in one transaction (tests and operators rolling back); resolves to its name, if any. */
export async function migrateDown(store: StateStore): Promise<string | undefined> {
  const [undone] = await store.withSequelize((sequelize) => inTransaction(sequelize, store.dialect, (u) => u.down({ step: 1 })));
  return undone?.name;
}
