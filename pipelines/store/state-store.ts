/**
 * The state store: the one database the ledger and the audit log live in,
 * reached through Sequelize. SQLite (a file, nothing to install) for one
 * runner; PostgreSQL when several runners share the work.
 *
 * Durability: a resolved write is on disk. SQLite connections run with
 * `journal_mode=WAL`, `synchronous=FULL` (the WAL is fsynced at every
 * commit) and a busy timeout; write transactions are `BEGIN IMMEDIATE` and
 * serialised inside the process. `secure_delete=ON` overwrites deleted
 * content with zeros, so a purged or erased body leaves no copy in free
 * pages. PostgreSQL sessions run with
 * `synchronous_commit=on`, so COMMIT returns only once the WAL is flushed.
 *
 * On a SQLite file every statement runs on one `node:sqlite` connection
 * (`sqlite-sync.ts`) through `sqlite-exec.ts` (positional parameters), one
 * transaction or statement at a time, so a read never sees another
 * transaction's uncommitted rows; Sequelize (node-sqlite3) opens the file
 * only to change the schema, with that connection closed (see
 * {@link StateStore.withSequelize}). An in-memory store (tests) keeps
 * everything on Sequelize's default connection, as it has no file to reopen.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes, Sequelize, Transaction, type Options } from 'sequelize';
import { redactUrl } from '../../lib/redact.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { migrate } from './migrate.js';
import { sqliteAll, sqliteExec, sqliteRun, type SqliteDb } from './sqlite-exec.js';
import { SyncSqlite } from './sqlite-sync.js';
import { WriteLock } from './write-lock.js';

/** The databases the state store runs on. */
export type StoreDialect = 'sqlite' | 'postgres';

/** Options of `openStateStore`. */
export interface StateStoreOptions {
  /** Print every SQL statement (debugging). */
  logging?: boolean;
  /** PostgreSQL schema to keep the tables in (created if absent); also `?schema=` on the URL. */
  schema?: string;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** A SQLite file's write lock as another thread of this process holds it (its store's `writeLock`), so that writes of both threads take turns (`write-lock.ts`). */
  writeLock?: SharedArrayBuffer;
}

/** A transaction in progress, as `transaction` hands it to its callback; pass it to `select` and `exec`. */
export interface StoreTx {
  readonly dialect: StoreDialect;
}

class PgTx implements StoreTx {
  readonly dialect = 'postgres' as const;
  constructor(readonly t: Transaction) {}
}

const SQLITE_TX: StoreTx = Object.freeze({ dialect: 'sqlite' as const });

/** An open state store; `Ledger` and `AuditLog` take one. */
export interface StateStore {
  readonly sequelize: Sequelize;
  readonly dialect: StoreDialect;
  /** The URL it was opened with, password removed (for messages). */
  readonly location: string;
  /** Runs `fn` in one write transaction and resolves after COMMIT (durable); rolls back if `fn` throws. */
  transaction<T>(fn: (t: StoreTx) => Promise<T>): Promise<T>;
  /** Runs a statement that yields rows. Parameters are `$1`, `$2`, ... */
  select<T = Record<string, unknown>>(sql: string, params?: unknown[], t?: StoreTx): Promise<T[]>;
  /** Runs a statement for its effect. */
  exec(sql: string, params?: unknown[], t?: StoreTx): Promise<void>;
  /**
   * Runs `fn` with the store's Sequelize (schema changes: migrations and
   * their tests). On a SQLite file the store's own connection is closed
   * meanwhile, after the statements before it, and reopened after, since
   * one process must not reach the file through two SQLite libraries at
   * once; throws `STORE_UNAVAILABLE` while another store of this process
   * has the file open.
   */
  withSequelize<T>(fn: (sequelize: Sequelize) => Promise<T>): Promise<T>;
  /** Closes every connection; calling it again is harmless. */
  close(): Promise<void>;
  /** On a SQLite file: the lock this process's writes to it take (`write-lock.ts`), to open the file on another thread with (`StateStoreOptions.writeLock`). */
  readonly writeLock?: SharedArrayBuffer;
}

/** Where the state lives when no URL is given: `sqlite:` `.rekey/state.sqlite` under `cwd`. */
export function resolveStateUrl(url?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (url) return url;
  if (env.REKEY_STATE_URL) return env.REKEY_STATE_URL;
  return `sqlite:${join(cwd, '.rekey', 'state.sqlite')}`;
}

/** How long a SQLite write waits for another connection's write lock before it fails as busy. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/**
 * How long one attempt of the `node:sqlite` connection blocks the thread
 * waiting for a lock; a write still busy after it is tried again after a
 * pause (the event loop running meanwhile) until {@link SQLITE_BUSY_TIMEOUT_MS}.
 */
const SQLITE_SYNC_BUSY_MS = 50;
/** The pause between two attempts at a busy write. */
const SQLITE_BUSY_PAUSE_MS = 20;
/**
 * The page size of a state file this store creates, in bytes (SQLite's
 * default is 4,096). A sealed body takes about 1,600 bytes and an audit
 * entry's detail about 1,200 a submission: at 4 KiB two bodies fill a page
 * with a fifth of it unused, and each COMMIT's cost follows the bytes it
 * writes to the WAL. With 16 KiB pages a 2-worker pass ran 8 % faster and
 * took 6 % less CPU a submission (BENCHMARKS.md, "16 KiB pages").
 * SQLite applies it only to a file without tables yet; a file made before
 * keeps its size (docs/runtime.md says how to convert one).
 */
export const SQLITE_PAGE_SIZE = 16_384;
/** The pragmas every SQLite connection of the state store runs first. */
const sqlitePragmas = (busyMs: number) => `PRAGMA page_size=${SQLITE_PAGE_SIZE}; PRAGMA busy_timeout=${busyMs}; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON;`;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

interface Target {
  dialect: StoreDialect;
  location: string;
  config: Options;
  uri?: string;
  schema?: string;
}

function invalid(message: string): PipelineError {
  return new PipelineError(PipelineCodes.STORE_URL_INVALID, message);
}

/** Why a folder could not be made, in words, for the usual codes. */
const FOLDER_PROBLEMS: Record<string, string> = {
  EACCES: 'permission denied (EACCES)',
  EPERM: 'not permitted (EPERM)',
  EROFS: 'the file system is read-only (EROFS)',
  EEXIST: 'a file is in the way (EEXIST)',
  ENOTDIR: 'a file is in the way (ENOTDIR)',
};

function parseTarget(url: string, opts: StateStoreOptions): Target {
  const logging = opts.logging ? (sql: string) => process.stderr.write(`${sql}\n`) : false;
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw invalid(`state URL ${JSON.stringify(url)} names no file`);
    const storage = path === ':memory:' ? ':memory:' : resolve(path);
    if (storage !== ':memory:') {
      try {
        mkdirSync(dirname(storage), { recursive: true });
      } catch (e) {
        const { code, message } = e as NodeJS.ErrnoException;
        const why = (code && FOLDER_PROBLEMS[code]) ?? code ?? message;
        throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `cannot create the state store's folder ${dirname(storage)}: ${why}; run rekey where it may write, or set REKEY_STATE_URL (--state)`);
      }
    }
    const config: Options = { dialect: 'sqlite', storage, logging, transactionType: Transaction.TYPES.IMMEDIATE };
    return { dialect: 'sqlite', location: `sqlite:${storage}`, config };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(`state URL is not a valid PostgreSQL URL`);
    }
    const schema = opts.schema ?? (parsed.searchParams.get('schema') || undefined);
    parsed.searchParams.delete('schema');
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw invalid(`schema ${JSON.stringify(schema)} is not a plain SQL name`);
    const session = [parsed.searchParams.get('options') ?? '', '-c synchronous_commit=on'].filter(Boolean);
    parsed.searchParams.delete('options');
    if (schema) session.push(`-c search_path=${schema}`);
    const config: Options = {
      dialect: 'postgres',
      logging,
      pool: { max: 10, min: 0, idle: 10_000 },
      dialectOptions: { options: session.join(' '), application_name: 'rekey' },
    };
    return { dialect: 'postgres', location: redactUrl(parsed.href), config, uri: parsed.href, schema };
  }
  throw invalid(`state URL ${JSON.stringify(url)} is neither sqlite:<file> nor postgres://...`);
}

/** A node-sqlite3 connection, as Sequelize opens it. */
type DriverDb = SqliteDb & { configure(option: 'busyTimeout', ms: number): void; close(cb: (err: Error | null) => void): void; filename?: string; uuid?: string };
type ConnectionManager = {
  getConnection(o?: unknown): Promise<DriverDb>;
  releaseConnection(db: DriverDb, force?: boolean): void;
  connections: Record<string, DriverDb>;
};

/** Sequelize's SQLite connections, prepared, and how to close every one of them (awaited, unlike Sequelize's own release). */
interface SequelizeSqlite {
  /** Its default connection, opened on demand. */
  connection(): Promise<SqliteDb>;
  /** Closes every connection it has open, and waits for those it released to close; Sequelize opens new ones on demand. */
  release(): Promise<void>;
}

/** Sets the durable pragmas on every connection Sequelize opens, and tracks their closing. */
function prepareSqliteConnections(sequelize: Sequelize): SequelizeSqlite {
  const manager = sequelize.connectionManager as unknown as ConnectionManager;
  const open = manager.getConnection.bind(manager);
  const prepared = new WeakSet<SqliteDb>();
  const closing = new Set<Promise<void>>();
  const closeDb = (db: DriverDb) => {
    const done = new Promise<void>((resolve) => db.close(() => resolve()));
    closing.add(done);
    void done.then(() => closing.delete(done));
    return done;
  };
  manager.getConnection = async (o?: unknown) => {
    const db = await open(o);
    if (!prepared.has(db)) {
      prepared.add(db);
      db.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
      await sqliteExec(db, sqlitePragmas(SQLITE_BUSY_TIMEOUT_MS));
    }
    return db;
  };
  // As Sequelize releases a transaction's connection, but with its closing kept, so that `release` can wait for it.
  manager.releaseConnection = (db: DriverDb, force?: boolean) => {
    if (db.filename === ':memory:' && force !== true) return;
    if (!db.uuid) return;
    delete manager.connections[db.uuid];
    void closeDb(db);
  };
  return {
    connection: () => manager.getConnection({}),
    async release() {
      const open = Object.entries(manager.connections);
      for (const [uuid] of open) delete manager.connections[uuid];
      await Promise.all(open.map(([, db]) => closeDb(db)));
      await Promise.all([...closing]);
    },
  };
}

/** Whether `e` is SQLite's answer that another connection holds the lock. */
const isBusy = (e: unknown) => /SQLITE_BUSY|database is locked/.test(String((e as Error)?.message));

/**
 * Runs `attempt`, again after a pause while SQLite answers busy, until
 * {@link SQLITE_BUSY_TIMEOUT_MS} have passed: a write outside a transaction,
 * or a transaction's BEGIN IMMEDIATE, on the `node:sqlite` connection,
 * whose own wait blocks the thread and so is kept short.
 */
async function whileBusy<T>(attempt: () => Promise<T>): Promise<T> {
  const until = Date.now() + SQLITE_BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= until) throw e;
      await sleep(SQLITE_BUSY_PAUSE_MS);
    }
  }
}

/** A write transaction on the SQLite connection: BEGIN IMMEDIATE (tried again while busy), then COMMIT, or ROLLBACK when `fn` throws. */
async function sqliteTransaction<T>(db: SqliteDb, fn: (t: StoreTx) => Promise<T>): Promise<T> {
  await whileBusy(() => sqliteExec(db, 'BEGIN IMMEDIATE'));
  let result: T;
  try {
    result = await fn(SQLITE_TX);
  } catch (e) {
    await sqliteExec(db, 'ROLLBACK').catch(() => undefined);
    throw e;
  }
  try {
    await sqliteExec(db, 'COMMIT');
  } catch (e) {
    await sqliteExec(db, 'ROLLBACK').catch(() => undefined);
    throw e;
  }
  return result;
}

function sequelizeTx(t: StoreTx | undefined): Transaction | undefined {
  return t instanceof PgTx ? t.t : undefined;
}

class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Oldest SQLite with everything the store uses: JSON functions, RETURNING, UPDATE ... FROM, MATERIALIZED CTEs. */
const SQLITE_MIN = [3, 38] as const;

async function checkSqliteVersion(store: StateStore): Promise<void> {
  const [row] = await store.select<{ v: string }>('SELECT sqlite_version() AS v');
  const [major = 0, minor = 0] = (row?.v ?? '0.0').split('.').map(Number);
  if (major < SQLITE_MIN[0] || (major === SQLITE_MIN[0] && minor < SQLITE_MIN[1])) {
    throw new PipelineError(PipelineCodes.STORE_URL_INVALID, `SQLite ${row?.v} is too old for the state store: ${SQLITE_MIN.join('.')} or later is needed`);
  }
}

/** Creates a PostgreSQL schema unless it exists; two runners starting at once may race here, and that is fine. */
async function createSchema(store: StateStore, schema: string): Promise<void> {
  try {
    await store.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (e) {
    const [found] = await store.select('SELECT 1 AS ok FROM pg_namespace WHERE nspname = $1', [schema]);
    if (!found) throw e;
  }
}

/** SQLSTATEs of a connection the server ended or lost: class 08 (connection exception) and the shutdowns of 57P0x. */
const CONNECTION_STATES = /^(08...|57P0[1-3])$/;
/** Driver messages of a connection that went away without a SQLSTATE (the socket closed, reset or refused). */
const CONNECTION_GONE = /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up|Client has encountered a connection error/i;

/**
 * Rethrows an error of the PostgreSQL state store as it is, except the loss
 * of its connection (the server ended it, the network dropped it, mid-query
 * or at COMMIT), which becomes `STORE_UNAVAILABLE` naming the store and the
 * driver's code, never the driver's message: nothing of a transaction whose
 * COMMIT was lost is assumed written, and the next pass finishes the work.
 */
function connectionLost(location: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof PipelineError) throw e;
    const err = e as { name?: unknown; message?: unknown; parent?: { code?: unknown; message?: unknown }; original?: { code?: unknown }; code?: unknown };
    const code = [err.parent?.code, err.original?.code, err.code].find((c): c is string => typeof c === 'string');
    const name = typeof err.name === 'string' ? err.name : '';
    const text = `${String(err.message ?? '')} ${String(err.parent?.message ?? '')}`;
    const gone = /^Sequelize(Connection|HostNotReachable|ConnectionRefused|ConnectionTimedOut|ConnectionAcquireTimeout)/.test(name) || (code !== undefined ? CONNECTION_STATES.test(code) || /^E[A-Z]+$/.test(code) : CONNECTION_GONE.test(text));
    if (!gone) throw e;
    throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `lost the connection to the state store ${location}${code ? ` (code ${code})` : ''}: what was being written is not assumed written; the next pass finishes the work`);
  };
}

/** `e` as the error opening the store at `location` throws: a `PipelineError` as it is, anything else as `STORE_UNAVAILABLE` with its message. */
function unavailable(location: string, e: unknown): PipelineError {
  if (e instanceof PipelineError) return e;
  return new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `cannot open the state store ${location}: ${(e as Error).message}`);
}

/** The store's `select` and `exec` on a SQLite connection: in the queue outside a transaction (a write tried again while busy, holding `lock`), at once inside one. */
function sqliteStatements(queue: SerialQueue, connection: () => Promise<SqliteDb>, trace: Options['logging'], lock?: WriteLock): Pick<StateStore, 'select' | 'exec'> {
  const locked = <T>(fn: () => Promise<T>) => (lock ? lock.run(fn) : fn());
  const traced = <A extends unknown[], R>(f: (db: SqliteDb, sql: string, ...a: A) => Promise<R>) =>
    async (sql: string, ...a: A): Promise<R> => {
      if (typeof trace === 'function') trace(sql);
      return f(await connection(), sql, ...a);
    };
  const all = traced(sqliteAll);
  const run = traced(sqliteRun);
  return {
    select: <T>(sql: string, params: unknown[] = [], t?: StoreTx) => (t ? all(sql, params) : queue.run(() => whileBusy(() => all(sql, params)))) as Promise<T[]>,
    exec: (sql, params = [], t) => (t ? run(sql, params) : queue.run(() => locked(() => whileBusy(() => run(sql, params))))),
  };
}

/** The SQLite files this process has open through `node:sqlite`: how many connections each, and the chain that orders opening and schema changes on it. */
const sqliteFiles = new Map<string, { open: number; gate: Promise<unknown>; lock?: WriteLock }>();

function sqliteFile(file: string): { open: number; gate: Promise<unknown>; lock?: WriteLock } {
  let entry = sqliteFiles.get(file);
  if (!entry) sqliteFiles.set(file, (entry = { open: 0, gate: Promise.resolve() }));
  return entry;
}

/** Runs `fn` after what was queued on `file` before it. */
function onFile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const entry = sqliteFile(file);
  const next = entry.gate.then(fn, fn);
  entry.gate = next.catch(() => undefined);
  return next;
}

/**
 * A SQLite state store in a file: its statements on a `node:sqlite`
 * connection (`sqlite-sync.ts`), Sequelize's node-sqlite3 connections
 * opened only for schema changes, with that connection closed. Opening
 * and schema changes queue per file within the process, so two stores
 * opened at once on one file migrate it once.
 */
async function openSqliteFile(target: Target, sequelize: Sequelize, opts: StateStoreOptions): Promise<StateStore> {
  const file = target.config.storage as string;
  const entry = sqliteFile(file);
  const lock = (entry.lock ??= new WriteLock(opts.writeLock));
  const driver = prepareSqliteConnections(sequelize);
  const queue = new SerialQueue();
  let conn: SyncSqlite | undefined;
  const connect = () => {
    conn = SyncSqlite.open(file, SQLITE_SYNC_BUSY_MS, sqlitePragmas(SQLITE_SYNC_BUSY_MS));
    entry.open++;
  };
  const disconnect = () => {
    if (!conn) return;
    conn.close();
    conn = undefined;
    entry.open--;
  };
  const connection = async (): Promise<SqliteDb> => {
    if (!conn) throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `the state store ${target.location} is closed`);
    return conn;
  };
  // Schema changes: this connection closed, Sequelize's connections closed again after, before this one reopens.
  const exclusive = async <T>(fn: (s: Sequelize) => Promise<T>): Promise<T> => {
    disconnect();
    try {
      if (entry.open > 0) {
        throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `the state store ${target.location} is open more than once in this process: its schema can be changed only where it is open once`);
      }
      return await fn(sequelize);
    } finally {
      await driver.release();
      connect();
    }
  };
  let closing: Promise<void> | undefined;
  const store: StateStore = {
    sequelize,
    dialect: 'sqlite',
    location: target.location,
    transaction: (fn) => queue.run(() => lock.run(async () => sqliteTransaction(await connection(), fn))),
    ...sqliteStatements(queue, connection, target.config.logging, lock),
    withSequelize: (fn) => queue.run(() => onFile(file, () => exclusive(fn))),
    writeLock: lock.buffer,
    close: () =>
      queue.run(() => {
        disconnect();
        return (closing ??= sequelize.close());
      }),
  };
  try {
    await onFile(file, async () => {
      connect();
      await checkSqliteVersion(store);
      if (opts.migrate !== false) await migrate({ ...store, withSequelize: exclusive });
    });
  } catch (e) {
    disconnect();
    void sequelize.close().catch(() => undefined);
    throw unavailable(target.location, e);
  }
  return store;
}

/**
 * Opens the state store at `url` (else `REKEY_STATE_URL`, else the SQLite
 * file `.rekey/state.sqlite` under the working directory, folder created)
 * and migrates its schema. Accepts `sqlite:/abs/file.sqlite`,
 * `sqlite:relative/file.sqlite`, `sqlite::memory:` (tests) and
 * `postgres://user:pass@host:port/db[?schema=name]`.
 * Throws `STORE_URL_INVALID` for any other URL, `STORE_MIGRATION_FAILED`
 * when the schema cannot be brought up to date, and `STORE_UNAVAILABLE`
 * (with the driver's message) when the folder cannot be created or the
 * database cannot be opened or reached.
 */
export async function openStateStore(url?: string, opts: StateStoreOptions = {}): Promise<StateStore> {
  const target = parseTarget(resolveStateUrl(url), opts);
  const sequelize = target.uri ? new Sequelize(target.uri, target.config) : new Sequelize(target.config);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= sequelize.close());
  let store: StateStore;
  if (target.dialect === 'sqlite' && target.config.storage !== ':memory:') return openSqliteFile(target, sequelize, opts);
  if (target.dialect === 'sqlite') {
    // In memory (tests): everything on Sequelize's one connection, schema changes included.
    const driver = prepareSqliteConnections(sequelize);
    const queue = new SerialQueue();
    const { select, exec } = sqliteStatements(queue, driver.connection, target.config.logging);
    store = {
      sequelize,
      dialect: 'sqlite',
      location: target.location,
      transaction: (fn) => queue.run(async () => sqliteTransaction(await driver.connection(), fn)),
      select,
      exec,
      withSequelize: (fn) => queue.run(() => fn(sequelize)),
      close: () => queue.run(close),
    };
  } else {
    const lost = connectionLost(target.location);
    store = {
      sequelize,
      dialect: 'postgres',
      location: target.location,
      transaction: (fn) => sequelize.transaction((t) => fn(new PgTx(t))).catch(lost),
      select: <T>(sql: string, params: unknown[] = [], t?: StoreTx) =>
        (sequelize.query(sql, { type: QueryTypes.SELECT, bind: params, transaction: sequelizeTx(t), raw: true }) as Promise<T[]>).catch(lost),
      async exec(sql, params = [], t) {
        await sequelize.query(sql, { type: QueryTypes.RAW, bind: params, transaction: sequelizeTx(t), raw: true }).catch(lost);
      },
      withSequelize: (fn) => fn(sequelize),
      close,
    };
  }
  try {
    if (target.dialect === 'sqlite') await checkSqliteVersion(store);
    if (target.schema) await createSchema(store, target.schema);
    if (opts.migrate !== false) await migrate(store);
  } catch (e) {
    // Not awaited: after SQLite fails to open its file, Sequelize's close never settles, and waiting for
    // it left nothing to keep the process alive, so `rekey` exited 0 without a word.
    void sequelize.close().catch(() => undefined);
    throw unavailable(target.location, e);
  }
  return store;
}
