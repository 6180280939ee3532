/**
 * Watermark mode: rows are read in order of (watermark column, key) after
 * the last pair recorded for the pipeline, in a state table the source
 * creates in the staging database. On PostgreSQL and MariaDB the pair's row
 * is locked (`FOR UPDATE SKIP LOCKED`) from the start of a read until the
 * commit, so a second runner skips the table meanwhile; a runner that dies
 * loses its connection and with it the lock, and the pair stays where it
 * was. SQLite has no row locks: there the pair's row carries a lease
 * (owner, expiry), taken and given back in short write transactions.
 */
import type { Logger } from 'pino';
import type { Row, StagingDb, StagingTx } from './staging.db.js';
import { isDeadLocalOwner } from './staging.owner.js';
import type { StagingMode, TableInfo } from './staging.mode.js';

const MARK = 'rekey_mark__';
const MARK_KEY = 'rekey_key__';

interface Pair {
  mark: string;
  key: string;
}

/** The watermark of one pipeline on one staging table. */
export class WatermarkMode implements StagingMode {
  private readonly db: StagingDb;
  private readonly t: TableInfo;
  private readonly column: string;
  private readonly state: string;
  private readonly pipeline: string;
  private readonly owner: string;
  private readonly leaseMs: number;
  private tx: StagingTx | undefined;
  private leased = false;
  private cursor: Pair | undefined;
  private pending: Pair | undefined;

  /** `column` is the watermark column's real name; `stateTable` may be schema-qualified. */
  constructor(db: StagingDb, table: TableInfo, column: string, stateTable: string, pipeline: string, owner: string, leaseMs: number) {
    this.db = db;
    this.t = table;
    this.column = column;
    this.state = stateTable;
    this.pipeline = pipeline;
    this.owner = owner;
    this.leaseMs = leaseMs;
  }

  /**
   * Creates the state table and the pipeline's row when missing. An existing
   * row is only read (without a lock): inserting over it would wait for the
   * lock of a runner reading now.
   */
  private async ensureState(): Promise<void> {
    const { db } = this;
    const ddl =
      `CREATE TABLE IF NOT EXISTS ${db.id(this.state)} (pipeline VARCHAR(200) NOT NULL, source_table VARCHAR(300) NOT NULL, ` +
      'mark TEXT, mark_key TEXT, owner VARCHAR(200), lease_until VARCHAR(40), updated_at VARCHAR(40), PRIMARY KEY (pipeline, source_table))';
    const insert =
      db.dialect === 'postgres'
        ? `INSERT INTO ${db.id(this.state)} (pipeline, source_table) VALUES ($1, $2) ON CONFLICT DO NOTHING`
        : `INSERT ${db.dialect === 'mariadb' ? 'IGNORE' : 'OR IGNORE'} INTO ${db.id(this.state)} (pipeline, source_table) VALUES ($1, $2)`;
    const present = async () => {
      try {
        return (await db.select(`SELECT pipeline FROM ${db.id(this.state)} WHERE ${this.where()}`, [this.pipeline, this.t.table])).length > 0;
      } catch {
        return false;
      }
    };
    if (await present()) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await db.run(ddl);
        await db.run(insert, [this.pipeline, this.t.table]);
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }

  private where(): string {
    return `pipeline = $1 AND source_table = $2`;
  }

  /** Takes the pipeline's watermark row (lock or lease); false when another runner holds it. */
  async start(log: Logger): Promise<boolean> {
    const { db } = this;
    await this.ensureState();
    this.pending = undefined;
    const ids = [this.pipeline, this.t.table];
    let row: Row | undefined;
    if (db.dialect === 'sqlite') {
      row = await db.inTx(async (tx) => {
        const [r] = await db.select(`SELECT owner, lease_until, mark, mark_key FROM ${db.id(this.state)} WHERE ${this.where()}`, ids, tx);
        if (!r) return undefined;
        const owner = r.owner === null ? undefined : String(r.owner);
        const held = owner !== undefined && owner !== this.owner && String(r.lease_until) > new Date().toISOString() && !isDeadLocalOwner(owner);
        if (held) return undefined;
        const until = new Date(Date.now() + this.leaseMs).toISOString();
        await db.execute(`UPDATE ${db.id(this.state)} SET owner = $3, lease_until = $4 WHERE ${this.where()}`, [...ids, this.owner, until], tx);
        return r;
      });
      this.leased = row !== undefined;
    } else {
      const tx = await db.begin();
      try {
        [row] = await db.select(`SELECT mark, mark_key FROM ${db.id(this.state)} WHERE ${this.where()} FOR UPDATE SKIP LOCKED`, ids, tx);
      } catch (e) {
        await db.rollback(tx);
        throw e;
      }
      if (row) this.tx = tx;
      else await db.rollback(tx);
    }
    if (!row) {
      log.info({ table: this.t.table }, 'another runner is reading this staging table now; skipped');
      return false;
    }
    this.cursor = row.mark === null || row.mark === undefined ? undefined : { mark: String(row.mark), key: String(row.mark_key) };
    return true;
  }

  /** The next rows after the cursor, in (watermark, key) order. */
  async next(limit: number): Promise<Row[]> {
    const { db } = this;
    const w = `s.${db.id(this.column)}`;
    const k = `s.${db.id(this.t.key)}`;
    const text = db.dialect === 'mariadb' ? 'CHAR' : 'TEXT';
    const after = this.cursor ? `WHERE ${w} > $1 OR (${w} = $1 AND ${k} > $2) ` : '';
    const rows = await db.select(
      `SELECT s.*, CAST(${w} AS ${text}) AS ${MARK}, CAST(${k} AS ${text}) AS ${MARK_KEY} FROM ${db.id(this.t.table)} s ${after}ORDER BY ${w}, ${k} LIMIT ${limit}`,
      this.cursor ? [this.cursor.mark, this.cursor.key] : [],
      this.tx,
    );
    const last = rows[rows.length - 1];
    if (last) this.cursor = { mark: String(last[MARK]), key: String(last[MARK_KEY]) };
    return rows;
  }

  /** Moves the watermark to be recorded up to `row` (errors included: a row that is not a submission is reported once). */
  handed(row: Row): void {
    this.pending = { mark: String(row[MARK]), key: String(row[MARK_KEY]) };
  }

  /** Records the watermark of the rows handed over and lets go of the lock or lease. */
  async commit(log: Logger): Promise<void> {
    const { db } = this;
    const p = this.pending;
    this.pending = undefined;
    const ids = [this.pipeline, this.t.table];
    const advance = p ? [...ids, p.mark, p.key, new Date().toISOString()] : undefined;
    const set = 'mark = $3, mark_key = $4, updated_at = $5';
    if (db.dialect === 'sqlite') {
      if (!this.leased) return;
      this.leased = false;
      const n = advance
        ? await db.execute(`UPDATE ${db.id(this.state)} SET ${set}, owner = NULL, lease_until = NULL WHERE ${this.where()} AND owner = $6`, [...advance, this.owner])
        : await db.execute(`UPDATE ${db.id(this.state)} SET owner = NULL, lease_until = NULL WHERE ${this.where()} AND owner = $3`, [...ids, this.owner]);
      if (n === 0) log.warn({ table: this.t.table }, 'the staging watermark lease ran out and another runner took it; rows read since may be read again (the ledger knows them)');
      return;
    }
    const tx = this.tx;
    if (!tx) return;
    this.tx = undefined;
    try {
      if (advance) await db.execute(`UPDATE ${db.id(this.state)} SET ${set} WHERE ${this.where()}`, advance, tx);
      await db.commit(tx);
    } catch (e) {
      await db.rollback(tx);
      throw e;
    }
  }

  /** Leaves the watermark where it was and lets go of the lock or lease. */
  async release(): Promise<void> {
    const { db } = this;
    this.pending = undefined;
    if (this.tx) {
      const tx = this.tx;
      this.tx = undefined;
      await db.rollback(tx);
    }
    if (this.leased) {
      this.leased = false;
      await db.execute(`UPDATE ${db.id(this.state)} SET owner = NULL, lease_until = NULL WHERE ${this.where()} AND owner = $3`, [this.pipeline, this.t.table, this.owner]);
    }
  }
}
