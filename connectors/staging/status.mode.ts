/**
 * Status mode: rows are claimed by setting the status column to `claimed`
 * with this runner as owner and the claim time, in one short transaction,
 * so that two runners never take the same row; they are set to `done`
 * (or `error`) only when the flow commits, that is once they are in the
 * ledger. A claim left by a runner that died is taken back after the claim
 * timeout, or at once when that runner is known gone (staging.owner.ts).
 */
import type { Logger } from 'pino';
import type { StatusSettings } from './staging.config.js';
import type { Row, StagingDb, StagingTx } from './staging.db.js';
import { isDeadLocalOwner } from './staging.owner.js';
import type { StagingMode, TableInfo } from './staging.mode.js';
import { inChunks, placeholders } from './staging.mode.js';

/** The claims of one source instance. */
export class StatusMode implements StagingMode {
  private readonly db: StagingDb;
  private readonly t: TableInfo;
  private readonly s: StatusSettings;
  private readonly owner: string;
  private readonly timeoutMs: number;
  private deadOwners: string[] = [];
  /** Claimed by this instance and not yet settled, by key text. */
  private readonly held = new Map<string, unknown>();
  private readonly read = new Map<string, unknown>();
  private readonly refused = new Map<string, { key: unknown; message: string }>();

  /** `s` holds the table's real column names. */
  constructor(db: StagingDb, table: TableInfo, s: StatusSettings, owner: string, claimTimeoutMs: number) {
    this.db = db;
    this.t = table;
    this.s = s;
    this.owner = owner;
    this.timeoutMs = claimTimeoutMs;
  }

  /** Finds the claims of runners known gone, to take them back at once. Always ready. */
  async start(log: Logger): Promise<boolean> {
    const { db, s } = this;
    const rows = await db.select(`SELECT DISTINCT ${db.id(s.ownerColumn)} AS owner FROM ${db.id(this.t.table)} WHERE ${db.id(s.column)} = $1`, [s.claimed]);
    this.deadOwners = rows.map((r) => String(r.owner)).filter((o) => o !== this.owner && isDeadLocalOwner(o));
    if (this.deadOwners.length) log.warn({ table: this.t.table, runners: this.deadOwners }, 'taking back the staging rows claimed by runners that died on this host');
    return true;
  }

  private claimable(first: number): { where: string; bind: unknown[] } {
    const { db, s } = this;
    const at = db.id(s.claimedAtColumn);
    const cutoff =
      db.dialect === 'postgres'
        ? `now() - make_interval(secs => $${first + 2})`
        : db.dialect === 'mariadb'
          ? `NOW(3) - INTERVAL $${first + 2} MICROSECOND`
          : `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', $${first + 2})`;
    const timeout = db.dialect === 'postgres' ? this.timeoutMs / 1000 : db.dialect === 'mariadb' ? this.timeoutMs * 1000 : `-${this.timeoutMs / 1000} seconds`;
    const dead = this.deadOwners.length ? ` OR ${db.id(s.ownerColumn)} IN (${placeholders(first + 3, this.deadOwners.length)})` : '';
    const st = db.id(s.column);
    return {
      where: `(${st} = $${first} OR (${st} = $${first + 1} AND (${at} IS NULL OR ${at} < ${cutoff}${dead})))`,
      bind: [s.new, s.claimed, timeout, ...this.deadOwners],
    };
  }

  private now(): string {
    return this.db.dialect === 'postgres' ? 'now()' : this.db.dialect === 'mariadb' ? 'NOW(3)' : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  }

  /** Claims up to `limit` rows in key order; [] when none is free. */
  async next(limit: number): Promise<Row[]> {
    const rows = this.db.dialect === 'postgres' ? await this.claimPostgres(limit) : await this.db.inTx((tx) => this.claimLocked(limit, tx));
    for (const r of rows) this.held.set(String(r[this.t.key]), r[this.t.key]);
    return rows;
  }

  private async claimPostgres(limit: number): Promise<Row[]> {
    const { db, s } = this;
    const k = db.id(this.t.key);
    const c = this.claimable(3);
    const sql =
      `WITH picked AS (SELECT ${k} FROM ${db.id(this.t.table)} WHERE ${c.where} ORDER BY ${k} LIMIT ${limit} FOR UPDATE SKIP LOCKED), ` +
      `claimed AS (UPDATE ${db.id(this.t.table)} AS s SET ${db.id(s.column)} = $1, ${db.id(s.ownerColumn)} = $2, ${db.id(s.claimedAtColumn)} = now() ` +
      `FROM picked WHERE s.${k} = picked.${k} RETURNING s.*) SELECT * FROM claimed ORDER BY ${k}`;
    return db.select(sql, [s.claimed, this.owner, ...c.bind]);
  }

  private async claimLocked(limit: number, tx: StagingTx): Promise<Row[]> {
    const { db, s } = this;
    const k = db.id(this.t.key);
    const c = this.claimable(1);
    const lock = db.dialect === 'mariadb' ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await db.select(`SELECT * FROM ${db.id(this.t.table)} WHERE ${c.where} ORDER BY ${k} LIMIT ${limit}${lock}`, c.bind, tx);
    if (!rows.length) return rows;
    const keys = rows.map((r) => r[this.t.key]);
    const set = `${db.id(s.column)} = $1, ${db.id(s.ownerColumn)} = $2, ${db.id(s.claimedAtColumn)} = ${this.now()}`;
    await db.execute(`UPDATE ${db.id(this.t.table)} SET ${set} WHERE ${k} IN (${placeholders(3, keys.length)})`, [s.claimed, this.owner, ...keys], tx);
    return rows;
  }

  /** Notes that the row was handed to the flow, as a submission or (with `message`) as an error. */
  handed(row: Row, message?: string): void {
    const key = row[this.t.key];
    if (message === undefined) this.read.set(String(key), key);
    else this.refused.set(String(key), { key, message });
  }

  /**
   * Sets the rows handed over to `done` (refused ones to `error`, with the
   * reason in the message column when there is one), only where this
   * runner still holds the claim. A row whose claim timed out and was taken
   * over is left to its new owner: it is read again and the ledger knows it.
   */
  async commit(log: Logger): Promise<void> {
    const { db, s } = this;
    const k = db.id(this.t.key);
    const mine = `${db.id(s.ownerColumn)} = $2 AND ${db.id(s.column)} = $3`;
    let settled = 0;
    const keys = [...this.read.values()];
    for (const part of inChunks(keys, 500)) {
      settled += await db.execute(`UPDATE ${db.id(this.t.table)} SET ${db.id(s.column)} = $1 WHERE ${mine} AND ${k} IN (${placeholders(4, part.length)})`, [
        s.done,
        this.owner,
        s.claimed,
        ...part,
      ]);
    }
    const msg = s.messageColumn === undefined ? '' : `, ${db.id(s.messageColumn)} = $5`;
    for (const { key, message } of this.refused.values()) {
      settled += await db.execute(`UPDATE ${db.id(this.t.table)} SET ${db.id(s.column)} = $1${msg} WHERE ${mine} AND ${k} = $4`, [
        s.error,
        this.owner,
        s.claimed,
        key,
        ...(msg ? [message] : []),
      ]);
    }
    const expected = keys.length + this.refused.size;
    if (settled < expected) {
      log.warn({ table: this.t.table, rows: expected - settled }, 'staging rows were taken over by another runner after their claim timed out; they will be read again and the ledger knows them');
    }
    for (const key of [...this.read.keys(), ...this.refused.keys()]) this.held.delete(key);
    this.read.clear();
    this.refused.clear();
  }

  /** Gives back the claims not committed (set to `new` again), so that the rows are read again. */
  async release(): Promise<void> {
    const { db, s } = this;
    const keys = [...this.held.values()];
    this.held.clear();
    this.read.clear();
    this.refused.clear();
    const k = db.id(this.t.key);
    const set = `${db.id(s.column)} = $1, ${db.id(s.ownerColumn)} = NULL, ${db.id(s.claimedAtColumn)} = NULL`;
    for (const part of inChunks(keys, 500)) {
      await db.execute(`UPDATE ${db.id(this.t.table)} SET ${set} WHERE ${db.id(s.ownerColumn)} = $2 AND ${db.id(s.column)} = $3 AND ${k} IN (${placeholders(4, part.length)})`, [
        s.new,
        this.owner,
        s.claimed,
        ...part,
      ]);
    }
  }
}
