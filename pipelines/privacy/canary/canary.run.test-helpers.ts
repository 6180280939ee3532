/**
 * The canary suite's run: its canaries (citizens and secrets), working
 * folder, state stores, legacy databases, and the CLI processes it starts
 * with everything they print kept for the search.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mariadb from 'mariadb';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { parse, stringify } from 'yaml';
import { findChromium } from '../../../connectors/browser/chromium.js';
import { MARIADB_URL, PG_URL } from '../../../connectors/sql/sql.test-helpers.js';
import { DEFAULT_USER, type LegacyApp } from '../../../fixtures/legacy-app/legacy-app.js';
import { TEST_DATA_KEY } from '../../../lib/envelope.test-helpers.js';
import { root, TEST_PII_KEY_HEX } from '../../../runner/cli.test-helpers.js';
import { Canaries, letters } from './canary.test-helpers.js';
import { person, type Person } from './canary.people.test-helpers.js';

/** The built CLI the suite runs. */
export const MAIN = join(root, 'dist/runner/main.js');
/** Chromium for the browser lane, or undefined (the lane and its tests then skip). */
export const chromium = findChromium();
/** Every canary of this run. */
export const canaries = new Canaries();
/** Names this run's schemas, table and database user. */
export const id = randomBytes(4).toString('hex');

canaries.add('data key (REKEY_DATA_KEY, hex)', TEST_DATA_KEY);
canaries.add('data key (base64)', Buffer.from(TEST_DATA_KEY, 'hex').toString('base64'));
canaries.add('audit PII key (REKEY_AUDIT_PII_KEY)', TEST_PII_KEY_HEX);
/** The key `rekey keys rotate` moves the browser state store's data keys to. */
export const ROTATED_KEY = canaries.add('rotated data key (hex)', randomBytes(32).toString('hex'));
canaries.add('rotated data key (base64)', Buffer.from(ROTATED_KEY, 'hex').toString('base64'));
/** The secrets, each a canary. */
export const secrets = {
  pg: canaries.add('PostgreSQL target password', `CANARY-PGPW-${letters(12)}`),
  pgState: canaries.add('PostgreSQL state store password', `CANARY-STPW-${letters(12)}`),
  maria: canaries.add('MariaDB target password', `CANARY-MDBPW-${letters(12)}`),
  mariaWrong: canaries.add('a wrong MariaDB password', `CANARY-MDBWRONG-${letters(12)}`),
  hook: canaries.add('webhook signing key', `CANARY-HOOK-${letters(20)}`),
  dcs: canaries.add('browser sign-in password', `CANARY-DCSPW-${letters(12)}`),
};

/** Who goes where, and along which path. */
export const people = {
  sqliteGood: person(canaries, 'sqlite-delivered'),
  sqliteBad: person(canaries, 'sqlite-rejected', { licence: canaries.add('bad DRIVER_NO of sqlite-rejected', `CANARY-BADLIC-${letters(8)}`) }),
  pgGood: person(canaries, 'pg-delivered'),
  pgRetry: person(canaries, 'pg-retried', { marker: 'RETRYME' }),
  pgDead: person(canaries, 'pg-dead', { marker: 'DEADME' }),
  pgRefused: person(canaries, 'pg-rejected-by-legacy', { marker: 'REJECTME' }),
  mariaGood: person(canaries, 'mariadb-delivered'),
  mariaRefused: person(canaries, 'mariadb-rejected-by-legacy', { marker: 'REJECTME' }),
  dropGood: person(canaries, 'drop-delivered'),
  dropBad: person(canaries, 'drop-rejected', { email: canaries.add('bad EMAIL of drop-rejected', `canary-bademail-${letters(10).toLowerCase()}`) }),
  inboxGood: person(canaries, 'inbox-delivered'),
  inboxBad: person(canaries, 'inbox-rejected', { licence: canaries.add('bad DRIVER_NO of inbox-rejected', `CANARY-BADLIC-${letters(8)}`) }),
  browserGood: person(canaries, 'browser-delivered'),
  browserLost: person(canaries, 'browser-retried'),
  browserRefused: person(canaries, 'browser-rejected-by-legacy'),
  hookGood: person(canaries, 'webhook-delivered'),
  hookRefused: person(canaries, 'webhook-refused'),
  unreachable: person(canaries, 'legacy-unreachable'),
};
/** The delivered SQLite citizen sent again with another address: a conflict. */
export const corrected = { ...people.sqliteGood, address1: canaries.add('corrected ADDR_1 of sqlite-delivered', `CANARY-A1C-${letters(8)}`) };
export const quarantined = canaries.add('value in an unreadable inbox file', `CANARY-QUAR-${letters(10)}`);
export const unreadableLine = canaries.add('value in an unreadable NDJSON line', `CANARY-LINE-${letters(10)}`);
export const badRef = canaries.add('submission_reference refused by the webhook schema', `CANARY-REF-${letters(8)}`);

/** The working folder every process runs in. */
export const W = mkdtempSync(join(tmpdir(), 'rekey-canary-'));
/** Its parts: `legacy` and `in` are left out of the search. */
export const dirs = { pipelines: join(W, 'pipelines'), serve: join(W, 'serve'), input: join(W, 'in'), legacy: join(W, 'legacy'), state: join(W, 'state'), tmp: join(W, 'tmp'), inbox: join(W, 'inbox'), evidence: join(W, 'evidence'), reports: join(W, 'reports') };
/** The state store of the SQLite, MariaDB, file-drop, inbox and webhook lanes. */
export const SQLITE_STATE = `sqlite:${join(dirs.state, 'state.sqlite')}`;
/** The browser lane's state store. */
export const BROWSER_STATE = `sqlite:${join(dirs.state, 'browser-state.sqlite')}`;
/** This run's PostgreSQL schemas (target, state store), MariaDB table and user. */
export const pgSchema = `rekey_canary_${id}`;
export const pgStateSchema = `rekey_canary_state_${id}`;
export const mariaTable = `canary_${id}`;
export const mariaUser = `canary_${id}`;
export const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  if (!u.password) u.password = password;
  return u.toString();
};
/** The legacy databases' URLs, their passwords canaries (PostgreSQL on this machine trusts local connections, so any password is taken). */
export const pgTargetUrl = withPassword(PG_URL, secrets.pg);
export const PG_STATE = `${withPassword(PG_URL, secrets.pgState)}${PG_URL.includes('?') ? '&' : '?'}schema=${pgStateSchema}`;
export const mariaUrl = (() => {
  const u = new URL(MARIADB_URL);
  u.username = mariaUser;
  u.password = secrets.maria;
  return u.toString();
})();

/** What one CLI process printed. */
export interface Captured {
  label: string;
  code: number | null;
  stdout: string;
  stderr: string;
}
export const outputs: Captured[] = [];
/** What went otherwise than planned while driving the paths (reported by the path test, so that the leak tests still run). */
export const problems: string[] = [];

export const childEnv = (pretty: boolean): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REKEY_LOG_LEVEL: 'debug',
    REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX,
    REKEY_DATA_KEY: TEST_DATA_KEY,
    TMPDIR: dirs.tmp,
    CANARY_PG_URL: pgTargetUrl,
    CANARY_MARIA_URL: mariaUrl,
    REKEY_WEBHOOK_SECRET: secrets.hook,
    DCS_USER: DEFAULT_USER.username,
    DCS_PASSWORD: secrets.dcs,
    USER: 'canary-operator',
  };
  delete env.REKEY_STATE_URL;
  delete env.REKEY_DATA_KEY_FILE;
  if (pretty) env.CI = '';
  else env.NO_COLOR = '1';
  return env;
};

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `rekey args` in W and keeps what it printed under `label`; with
 * `pretty`, inside a pseudo-terminal (util-linux `script`), so that the
 * logs come out as pino-pretty draws them.
 */
export function cli(label: string, args: string[], opts: { pretty?: boolean; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Captured> {
  const pretty = opts.pretty === true && existsSync('/usr/bin/script');
  const argv = [process.execPath, MAIN, ...args];
  const [cmd, cmdArgs] = pretty ? ['/usr/bin/script', ['-qec', argv.map(shellQuote).join(' '), '/dev/null']] : [argv[0]!, argv.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(cmd as string, cmdArgs as string[], { cwd: W, env: { ...childEnv(pretty), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const c = { label: pretty ? `${label} (pretty, in a terminal)` : label, code, stdout, stderr };
      if (signal === 'SIGKILL') problems.push(`${c.label}: killed after ${opts.timeoutMs ?? 90_000} ms\n${show(c)}`);
      if (process.env.REKEY_CANARY_DEBUG) process.stderr.write(`canary: ${c.label} exit ${code} in ${Date.now() - started} ms\n`);
      outputs.push(c);
      resolve(c);
    });
  });
}

export const summary = (c: Captured): Record<string, number> => {
  try {
    return JSON.parse(c.stdout.slice(c.stdout.indexOf('{'))) as Record<string, number>;
  } catch {
    return {};
  }
};
export const show = (c: Captured) => `exit ${c.code}\n${c.stdout}\n${c.stderr.slice(-3000)}`;

export function want(c: Captured, ok: boolean, what: string): void {
  if (!ok) problems.push(`${c.label}: ${what}\n${show(c)}`);
}
export const has = (got: Record<string, number>, expected: Record<string, number>) => Object.entries(expected).every(([k, v]) => got[k] === v);

export function writePipeline(dir: string, name: string, def: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(def));
  return file;
}

/** The parts of an example pipeline the suite changes. */
export interface ExampleDef {
  mapping: string;
  source: { config: Record<string, unknown> };
  target: { config: Record<string, unknown> };
  [key: string]: unknown;
}

/** An example pipeline (examples/pipelines/`example`), renamed, with `edit` applied. */
export function fromExample(example: string, name: string, edit: (def: ExampleDef) => void): string {
  const def = parse(readFileSync(join(root, 'examples/pipelines', example), 'utf8')) as ExampleDef;
  def.pipeline = name;
  def.mapping = join(root, 'examples/mappings', def.mapping.split('/').pop()!);
  edit(def);
  return writePipeline(dirs.pipelines, name, def);
}

/** The example mapping every SQL and file lane uses. */
export const MAPPING = join(root, 'examples/mappings/change-of-address.yaml');
export const SQLITE_SETUP = join(root, 'fixtures/legacy/drv_addr_chg.sqlite.sql');
export const FAST_RETRY = { maxAttempts: 3, initialDelay: '200ms', maxDelay: '1s', multiplier: 2, jitter: 0 };
/** Retention short enough that `rekey purge` takes what the runs left. */
export const SHORT_RETENTION = { bodies: '1s', inboxDone: '1s', inboxQuarantine: '1s' };
export const sqliteTarget = (file: string) => ({ kind: 'sqlite', config: { path: join(dirs.legacy, file), table: 'DRV_ADDR_CHG', keyColumn: 'SUBMISSION_KEY', setupSql: SQLITE_SETUP } });

export async function sqliteColumn(file: string, sql: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  try {
    return await new Promise<string[]>((resolve, reject) => db.all(sql, (e, rows: { v: string }[]) => (e ? reject(e) : resolve(rows.map((r) => String(r.v).trim())))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

export async function pgQuery<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function mariaQuery(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await mariadb.createConnection({ ...mariaParts(MARIADB_URL), multipleStatements: true });
  try {
    return (await conn.query(sql)) as Record<string, unknown>[];
  } finally {
    await conn.end();
  }
}

export function mariaParts(url: string): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) };
}

/** DRV_ADDR_CHG in PostgreSQL with a gate: an ADDR_2 marked RETRYME fails once with 40001, DEADME always, REJECTME breaks a CHECK. */
export const PG_TABLE = `
CREATE SCHEMA ${pgSchema};
CREATE TABLE ${pgSchema}.drv_addr_chg (
  case_id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, submission_key VARCHAR(120) NOT NULL UNIQUE,
  web_ref CHAR(8) NOT NULL, driver_no CHAR(16) NOT NULL, title CHAR(4), surname CHAR(35) NOT NULL, forenames CHAR(35) NOT NULL,
  dob CHAR(10) NOT NULL, addr_1 CHAR(30) NOT NULL, addr_2 CHAR(30), addr_3 CHAR(30) NOT NULL, addr_4 CHAR(30), postcode CHAR(8) NOT NULL,
  move_date CHAR(10) NOT NULL, effective_date CHAR(8) NOT NULL, nino CHAR(9), phone CHAR(15), email CHAR(80) NOT NULL, consent CHAR(1) NOT NULL,
  welsh_flag CHAR(1) NOT NULL, source CHAR(3) NOT NULL, received CHAR(12) NOT NULL, received_date CHAR(8) NOT NULL,
  CONSTRAINT drv_addr_chg_addr_2_check CHECK (addr_2 IS NULL OR addr_2 NOT LIKE '%REJECTME%'));
CREATE SEQUENCE ${pgSchema}.retry_seq;
CREATE FUNCTION ${pgSchema}.gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.addr_2 LIKE '%RETRYME%' AND nextval('${pgSchema}.retry_seq') = 1 THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
  IF NEW.addr_2 LIKE '%DEADME%' THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER gate BEFORE INSERT ON ${pgSchema}.drv_addr_chg FOR EACH ROW EXECUTE FUNCTION ${pgSchema}.gate();`;

/** DRV_ADDR_CHG in MariaDB (REJECTME breaks a CHECK), and a user whose password is a canary. */
export const MARIA_TABLE = `
CREATE TABLE ${mariaTable} (
  case_id INT AUTO_INCREMENT PRIMARY KEY, submission_key VARCHAR(120) NOT NULL UNIQUE,
  web_ref CHAR(8) NOT NULL, driver_no CHAR(16) NOT NULL, title VARCHAR(4), surname VARCHAR(35) NOT NULL, forenames VARCHAR(35) NOT NULL,
  dob CHAR(10) NOT NULL, addr_1 VARCHAR(30) NOT NULL, addr_2 VARCHAR(30), addr_3 VARCHAR(30) NOT NULL, addr_4 VARCHAR(30), postcode VARCHAR(8) NOT NULL,
  move_date CHAR(10) NOT NULL, effective_date CHAR(8) NOT NULL, nino CHAR(9), phone VARCHAR(15), email VARCHAR(80) NOT NULL, consent CHAR(1) NOT NULL,
  welsh_flag CHAR(1) NOT NULL, source CHAR(3) NOT NULL, received CHAR(12) NOT NULL, received_date CHAR(8) NOT NULL,
  CONSTRAINT ${mariaTable}_addr_chk CHECK (addr_2 IS NULL OR addr_2 NOT LIKE '%REJECTME%')) CHARACTER SET utf8mb4;
CREATE USER '${mariaUser}'@'%' IDENTIFIED BY '${secrets.maria}';
CREATE USER '${mariaUser}'@'localhost' IDENTIFIED BY '${secrets.maria}';
GRANT ALL ON \`${mariaParts(MARIADB_URL).database}\`.* TO '${mariaUser}'@'%';
GRANT ALL ON \`${mariaParts(MARIADB_URL).database}\`.* TO '${mariaUser}'@'localhost';`;

/** The legacy app the browser lane started, if any. */
export const legacy: { app?: LegacyApp } = {};
/** Per-pipeline keys, for the dlq commands. */
export const keysOf: Record<string, { state: string; people: Person[] }> = {};

/** `text` without terminal escape sequences (colours, cursor moves). */
// eslint-disable-next-line no-control-regex -- terminal escapes start with ESC
export const plain = (text: string) => text.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '');
