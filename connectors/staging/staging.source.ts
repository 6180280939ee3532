/**
 * Source `staging-table`: polls a table that a forms platform writes into
 * (PostgreSQL, MariaDB or SQLite, through Sequelize), by a status column
 * (status.mode.ts) or a watermark column (watermark.mode.ts). Rows are let
 * go of (marked done, watermark advanced) only in `commit`, which the flow
 * calls once every row read is in the ledger; a crash before that leaves
 * them to be read again, and the ledger knows them by key.
 */
import type { ConnectorDef, ConnectorEnv, Ctx, Source, SourceItem } from '../connector.types.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import { jsonSchema } from '../config.schema.js';
import { stagingSettings, stagingSourceConfigSchema, type StagingSettings, type StagingSourceConfig } from './staging.config.js';
import { StagingDb } from './staging.db.js';
import { rowBody, type BodyPlan } from './staging.body.js';
import { newOwnerId, retireOwnerId } from './staging.owner.js';
import type { StagingMode, TableInfo } from './staging.mode.js';
import { StatusMode } from './status.mode.js';
import { WatermarkMode } from './watermark.mode.js';

/** Reads submissions from a staging table; see {@link StagingSourceConfig}. */
export class StagingTableSource implements Source {
  /** The settings with defaults filled in. */
  readonly settings: StagingSettings;
  private readonly db: StagingDb;
  private readonly pipeline: string;
  private mode: StagingMode | undefined;
  private owner: string | undefined;

  /**
   * Checks the settings (a throw here is a configuration problem: an
   * unknown URL kind, a zero claim timeout, equal status values); touches
   * no database.
   */
  constructor(config: StagingSourceConfig, env: ConnectorEnv) {
    this.settings = stagingSettings(config);
    this.db = new StagingDb(this.settings.url, env.baseDir);
    this.pipeline = env.pipeline;
  }

  /** The database kind the URL names. */
  get dialect(): StagingDb['dialect'] {
    return this.db.dialect;
  }

  /** The claim owner of the current read (`runner:<host>:<pid>:<instance>`), once a read has started. */
  get ownerId(): string | undefined {
    return this.owner;
  }

  private async prepare(owner: string): Promise<{ info: TableInfo; plan: BodyPlan; mode: StagingMode }> {
    const s = this.settings;
    const found = await this.db.describe(s.table);
    const col = (name: string, what: string): string => {
      const exact = found.columns.find((c) => c === name);
      const loose = found.columns.filter((c) => c.toLowerCase() === name.toLowerCase());
      const real = exact ?? (loose.length === 1 ? loose[0] : undefined);
      if (real === undefined) {
        throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `staging table ${s.table} has no ${what} column ${name} (its columns: ${found.columns.join(', ')})`);
      }
      return real;
    };
    const info: TableInfo = { table: found.table, key: col(s.keyColumn, 'key') };
    let mode: StagingMode;
    let own: string[] = [];
    if (s.mode.kind === 'status') {
      const st = s.mode.status;
      const real = { ...st, column: col(st.column, 'status'), ownerColumn: col(st.ownerColumn, 'claim owner'), claimedAtColumn: col(st.claimedAtColumn, 'claimed-at') };
      if (st.messageColumn !== undefined) real.messageColumn = col(st.messageColumn, 'message');
      own = [real.column, real.ownerColumn, real.claimedAtColumn, ...(real.messageColumn === undefined ? [] : [real.messageColumn])];
      mode = new StatusMode(this.db, info, real, owner, s.claimTimeoutMs);
    } else {
      const [schema] = info.table.includes('.') ? info.table.split('.') : [];
      const state = schema === undefined ? s.mode.stateTable : `${schema}.${s.mode.stateTable}`;
      mode = new WatermarkMode(this.db, info, col(s.mode.column, 'watermark'), state, this.pipeline, owner, s.claimTimeoutMs);
    }
    const body = s.body;
    const plan: BodyPlan =
      body === undefined
        ? { kind: 'columns', columns: found.columns.filter((c) => !own.includes(c)), maxDepth: s.maxDepth }
        : 'json' in body
          ? { kind: 'json', column: col(body.json, 'body'), maxDepth: s.maxDepth }
          : { kind: 'columns', columns: body.columns.map((c) => col(c, 'body')), maxDepth: s.maxDepth };
    return { info, plan, mode };
  }

  /**
   * Takes the rows available now, `batchSize` at a time, in key order
   * (status mode) or watermark order, each as a submission body or, when
   * its body is not a submission, as a `STAGING_BODY` error naming table,
   * key and column (reading goes on). Located as `staging:<table>` and a
   * running record number. Yields nothing when another runner holds the
   * table's watermark. Throws {@link ConnectorFailure}: `SQL_UNAVAILABLE`
   * (retry) when the database cannot be reached, `SQL_SCHEMA` (fatal) when
   * the table or a configured column is missing or a statement is refused.
   */
  async *read(ctx: Ctx): AsyncGenerator<SourceItem, void, undefined> {
    await this.db.connect();
    if (this.mode) await this.mode.release();
    if (this.owner) retireOwnerId(this.owner);
    this.owner = newOwnerId();
    const { info, plan, mode } = await this.prepare(this.owner);
    this.mode = mode;
    if (!(await mode.start(ctx.log))) return;
    const file = `staging:${info.table}`;
    const size = this.settings.batchSize;
    let record = 0;
    for (;;) {
      if (ctx.signal.aborted) return;
      const rows = await mode.next(size);
      for (const row of rows) {
        record++;
        const at = { file, record };
        const made = rowBody(row, plan, info.table, row[info.key]);
        if (made.ok) {
          mode.handed(row);
          yield { ok: true, body: made.body, at };
        } else {
          mode.handed(row, made.error.message);
          yield { ok: false, error: made.error, at };
        }
        if (ctx.signal.aborted) return;
      }
      if (rows.length < size) return;
    }
  }

  /** Lets go of every row read so far: marks them done (or error), or records the watermark. */
  async commit(ctx: Ctx): Promise<void> {
    await this.mode?.commit(ctx.log);
  }

  /** Gives back what was taken and not committed (read again later), and closes the connections. */
  async close(): Promise<void> {
    const mode = this.mode;
    this.mode = undefined;
    try {
      await mode?.release();
    } finally {
      if (this.owner) retireOwnerId(this.owner);
      await this.db.close();
    }
  }
}

/** The `staging-table` source's declaration for the registry. */
export const stagingTableSource: ConnectorDef<StagingSourceConfig, StagingTableSource> = {
  name: 'staging-table',
  kind: 'source',
  doc: 'Polls a table a forms platform writes into (PostgreSQL, MariaDB or SQLite) by a status or a watermark column; rows are marked consumed only once they are in the ledger.',
  configSchema: jsonSchema(stagingSourceConfigSchema),
  create: (config, env) => new StagingTableSource(config, env),
};
