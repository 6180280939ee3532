/**
 * The `sql` target runs the conformance suite on each database it reaches:
 * PostgreSQL (also its COPY path, batches of 100), MariaDB and SQLite on
 * this machine, SQL Server when REKEY_TEST_MSSQL_URL names one (skipped,
 * visibly, otherwise). Each scenario gets a table of its own with a CHECK
 * that refuses one town; the URL comes from the environment and carries a
 * password wherever the database takes one.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { BENCH_MAPPING, benchPii, benchSubmissions, withTown } from '../conformance/bench-bodies.js';
import { BENCH_FIELDS, benchLegacyTableSql, querySqlite } from '../conformance/conformance.run.js';
import { targetConformance, type ConformanceTarget, type LegacySystem } from '../conformance/target.conformance.js';
import type { ConnectorError } from '../connector.types.js';
import { legacyMariaDb, legacyMssql, legacyPostgres, MSSQL_URL, type LegacyDb } from './sql.test-helpers.js';

const CHECK = "CONSTRAINT TOWN_KNOWN CHECK (TOWN <> 'NOWHERE')";
/** The keyed hash of the database's own message, which the ledger row keeps instead of it. */
const HASHED = expect.stringMatching(/^hmac:[0-9a-f]{32}$/) as unknown as string;
const canary = () => `canary-${randomBytes(6).toString('hex')}`;

/** A server database: a schema of the suite's own, a table per scenario, the URL the runs are given (with its secret). */
interface Server {
  name: string;
  skip?: string;
  open(): Promise<LegacyDb>;
  identity: string;
  text: string;
  /** The URL for the runs and the secret in it, once `db` is open; `drop` undoes what it made. */
  login(db: LegacyDb): Promise<{ url: string; secret: string; drop?: () => Promise<void> }>;
  /** rekey's reason for the CHECK refusing a row (the database's own message is kept sealed, only its keyed hash on the row). */
  constraintError: string;
  crashAt: ConformanceTarget['crashAt'];
}

function serverTarget(s: Server): ConformanceTarget {
  let db: LegacyDb;
  let login: Awaited<ReturnType<Server['login']>>;
  let tables = 0;
  return {
    name: `sql on ${s.name}`,
    ...(s.skip !== undefined && { skip: s.skip }),
    mapping: BENCH_MAPPING,
    submissions: benchSubmissions,
    records: 30,
    batch: 10,
    crashAt: s.crashAt,
    readBack: true,
    secretSetting: 'the password in the database URL',
    bad: { make: (b) => withTown(b, 'Nowhere'), error: (): ConnectorError => ({ code: 'SQL_CONSTRAINT', disposition: 'reject', message: s.constraintError, textHash: HASHED }) },
    pii: benchPii,
    async start() {
      db = await s.open();
      login = await s.login(db);
    },
    async stop() {
      await login?.drop?.();
      await db?.drop();
    },
    async legacy(): Promise<LegacySystem> {
      const name = `legacy_${++tables}`;
      const table = db.t(name);
      await db.query(`CREATE TABLE ${table} (CASE_ID ${s.identity}, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, ${BENCH_FIELDS.map((f) => `${f} ${s.text}`).join(', ')}, ${CHECK})`);
      return {
        target: { kind: 'sql', config: { url: { env: 'REKEY_LEGACY_URL' }, table, keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', readBack: true } },
        where: table,
        env: { REKEY_LEGACY_URL: login.url },
        secret: login.secret,
        records: async () => (await db.query(`SELECT SUBMISSION_KEY AS k, CASE_ID AS id FROM ${table}`)).map((r) => ({ key: String(r.k), ref: String(r.id) })),
      };
    },
  };
}

const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  u.password = password;
  return u.toString();
};

targetConformance(
  serverTarget({
    name: 'PostgreSQL',
    open: legacyPostgres,
    identity: 'INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    text: 'VARCHAR(200)',
    // The server trusts local connections, so any password is taken: the canary rides in the URL as a real one would.
    login: async (db) => {
      const secret = canary();
      return { url: withPassword(db.url, secret), secret };
    },
    constraintError: 'the legacy database refused the record (code 23514, constraint town_known)',
    crashAt: [
      { at: 'after-receive:1', reached: 0 },
      { at: 'after-delivering:2', reached: 10 },
      { at: 'after-ledger-delivered:2' },
      { at: 'after-target-commit:2', batch: 100, reached: 200 },
    ],
  }),
);

targetConformance(
  serverTarget({
    name: 'MariaDB',
    open: legacyMariaDb,
    identity: 'INT AUTO_INCREMENT PRIMARY KEY',
    text: 'VARCHAR(200)',
    login: async (db) => {
      const secret = canary();
      const user = `rk_${randomBytes(4).toString('hex')}`;
      const database = new URL(db.url).pathname.slice(1);
      await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${secret}'`);
      await db.query(`GRANT ALL PRIVILEGES ON ${database}.* TO '${user}'@'%'`);
      const u = new URL(db.url);
      u.username = user;
      u.password = secret;
      return { url: u.toString(), secret, drop: async () => void (await db.query(`DROP USER '${user}'@'%'`)) };
    },
    constraintError: 'the legacy database refused the record',
    crashAt: [
      { at: 'after-delivering:2', reached: 10 },
      { at: 'after-target-commit:3', reached: 30 },
      { at: 'after-ledger-delivered:2' },
    ],
  }),
);

targetConformance(
  serverTarget({
    name: 'SQL Server',
    ...(!MSSQL_URL && { skip: 'REKEY_TEST_MSSQL_URL is not set' }),
    open: legacyMssql,
    identity: 'INT IDENTITY(1,1) PRIMARY KEY',
    text: 'NVARCHAR(200)',
    login: async (db) => ({ url: db.url, secret: decodeURIComponent(new URL(db.url).password) }),
    constraintError: 'the legacy database refused the record (field TOWN)',
    crashAt: [
      { at: 'after-delivering:2', reached: 10 },
      { at: 'after-target-commit:3', reached: 30 },
    ],
  }),
);

targetConformance({
  name: 'sql on SQLite',
  mapping: BENCH_MAPPING,
  submissions: benchSubmissions,
  records: 30,
  batch: 10,
  crashAt: [
    { at: 'after-delivering:2', reached: 10 },
    { at: 'after-target-commit:3', reached: 30 },
  ],
  readBack: true,
  bad: { make: (b) => withTown(b, 'Nowhere'), error: () => ({ code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, constraint TOWN_KNOWN)', constraint: 'TOWN_KNOWN', textHash: HASHED }) },
  pii: benchPii,
  async legacy(dir) {
    const file = join(dir, 'legacy.sqlite');
    await new Promise<void>((resolve, reject) => {
      const db = new sqlite3.Database(file, (e) => e && reject(e));
      db.exec(benchLegacyTableSql().replace(/\);\n$/, `, ${CHECK});`), (e) => db.close(() => (e ? reject(e) : resolve())));
    });
    return {
      target: { kind: 'sql', config: { url: { env: 'REKEY_LEGACY_URL' }, table: 'LEGACY', keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', readBack: true } },
      where: 'LEGACY',
      env: { REKEY_LEGACY_URL: `sqlite:${file}` },
      records: async () => (await querySqlite<{ k: string; id: number }>(file, 'SELECT SUBMISSION_KEY AS k, CASE_ID AS id FROM LEGACY')).map((r) => ({ key: r.k, ref: String(r.id) })),
    };
  },
});
