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
 * On SQLite every statement after migration runs on Sequelize's default
 * connection through `sqlite-exec.ts` (positional parameters), one
 * transaction or statement at a time, so a read never sees another
 * transaction's uncommitted rows.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { QueryTypes, Sequelize, Transaction, type Options } from 'sequelize';
import { redactUrl } from '../../lib/redact.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { migrate } from './migrate.js';
import { sqliteAll, sqliteExec, sqliteRun, type SqliteDb } from './sqlite-exec.js';

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
  /** Closes every connection; calling it again is harmless. */
  close(): Promise<void>;
}

/** Where the state lives when no URL is given: `sqlite:` `.rekey/state.sqlite` under `cwd`. */
export function resolveStateUrl(url?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (url) return url;
  if (env.REKEY_STATE_URL) return env.REKEY_STATE_URL;
  return `sqlite:${join(cwd, '.rekey', 'state.sqlite')}`;
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;
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

type ConnectionManager = { getConnection(o?: unknown): Promise<SqliteDb> };

/** Sets the durable pragmas on every connection Sequelize opens, and resolves its default connection on demand. */
function prepareSqliteConnections(sequelize: Sequelize): () => Promise<SqliteDb> {
  const manager = sequelize.connectionManager as unknown as ConnectionManager;
  const open = manager.getConnection.bind(manager);
  const prepared = new WeakSet<SqliteDb>();
  manager.getConnection = async (o?: unknown) => {
    const db = await open(o);
    if (!prepared.has(db)) {
      prepared.add(db);
      db.configure('busyTimeout', SQLITE_BUSY_TIMEOUT_MS);
      await sqliteExec(db, `PRAGMA busy_timeout=${SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON;`);
    }
    return db;
  };
  return () => manager.getConnection({});
}

/** A write transaction on the SQLite connection: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK when `fn` throws. */
async function sqliteTransaction<T>(db: SqliteDb, fn: (t: StoreTx) => Promise<T>): Promise<T> {
  await sqliteExec(db, 'BEGIN IMMEDIATE');
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

async function checkSqliteVersion(sequelize: Sequelize): Promise<void> {
  const [row] = await sequelize.query<{ v: string }>('SELECT sqlite_version() AS v', { type: QueryTypes.SELECT });
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
  if (target.dialect === 'sqlite') {
    const connection = prepareSqliteConnections(sequelize);
    const queue = new SerialQueue();
    const trace = target.config.logging;
    const traced = <A extends unknown[], R>(f: (db: SqliteDb, sql: string, ...a: A) => Promise<R>) =>
      async (sql: string, ...a: A): Promise<R> => {
        if (typeof trace === 'function') trace(sql);
        return f(await connection(), sql, ...a);
      };
    const all = traced(sqliteAll);
    const run = traced(sqliteRun);
    store = {
      sequelize,
      dialect: 'sqlite',
      location: target.location,
      transaction: (fn) => queue.run(async () => sqliteTransaction(await connection(), fn)),
      select: <T>(sql: string, params: unknown[] = [], t?: StoreTx) => (t ? all(sql, params) : queue.run(() => all(sql, params))) as Promise<T[]>,
      exec: (sql, params = [], t) => (t ? run(sql, params) : queue.run(() => run(sql, params))),
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
      close,
    };
  }
  try {
    if (target.dialect === 'sqlite') await checkSqliteVersion(sequelize);
    if (target.schema) await createSchema(store, target.schema);
    if (opts.migrate !== false) await migrate(store);
  } catch (e) {
    // Not awaited: after SQLite fails to open its file, Sequelize's close never settles, and waiting for
    // it left nothing to keep the process alive, so `rekey` exited 0 without a word.
    void sequelize.close().catch(() => undefined);
    if (e instanceof PipelineError) throw e;
    throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `cannot open the state store ${target.location}: ${(e as Error).message}`);
  }
  return store;
}
