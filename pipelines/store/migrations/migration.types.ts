/** What every state-store migration receives and exports. */
import type { QueryInterface, Transaction } from 'sequelize';
import type { StoreDialect } from '../state-store.js';

/** Handed to `up`/`down` by umzug. */
export interface MigrationContext {
  qi: QueryInterface;
  dialect: StoreDialect;
  /** The transaction the migration and its entry in `rekey_migrations` commit in: pass it to every query. */
  transaction: Transaction;
}

/** One schema step; listed in order in `migrations/index.ts`. */
export interface StoreMigration {
  name: string;
  up(ctx: MigrationContext): Promise<void>;
  down(ctx: MigrationContext): Promise<void>;
}
