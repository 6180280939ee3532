/**
 * The canary suite (issue 16): unique values in every field the mappings
 * mark `pii: true` and in every secret (the legacy databases' passwords,
 * the state store's, the webhook signing key, the clerk's sign-in password,
 * the data and audit keys), driven through every target (SQLite,
 * PostgreSQL, MariaDB, file drop, browser) and the webhook intake by the
 * real CLI, along every path (delivered, rejected by the mapping and by the
 * legacy system, retried, dead-lettered, replayed, corrected, purged,
 * erased; a database that is down or refuses the password); then every
 * byte rekey wrote outside the legacy targets (state stores, logs JSON and
 * pretty, evidence with traces unzipped, inbox folders, temp files, audit
 * exports, CLI output) is searched for them. Expected: none, in any
 * encoding. The legacy targets are left out of the search, and the suite
 * first checks that the canaries did reach each of them.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mariadb from 'mariadb';
import pg from 'pg';
import { prettyFactory } from 'pino-pretty';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findChromium } from '../../../connectors/browser/chromium.js';
import { MARIADB_URL, PG_URL } from '../../../connectors/sql/sql.test-helpers.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../../fixtures/legacy-app/legacy-app.js';
import { TEST_DATA_KEY } from '../../../lib/envelope.test-helpers.js';
import { root, TEST_PII_KEY_HEX } from '../../../runner/cli.test-helpers.js';
import { post } from '../../../runner/serve/intake.test-helpers.js';
import { Canaries, filesUnder, letters, report, scanBytes, scanPostgresSchema, scanSqlite, scanTree, type Leak } from './canary.test-helpers.js';
import { ndjson, person, submission, type Person } from './canary.people.test-helpers.js';

const MAIN = join(root, 'dist/runner/main.js');
const chromium = findChromium();
const canaries = new Canaries();
const id = randomBytes(4).toString('hex');

canaries.add('data key (REKEY_DATA_KEY, hex)', TEST_DATA_KEY);
canaries.add('data key (base64)', Buffer.from(TEST_DATA_KEY, 'hex').toString('base64'));
canaries.add('audit PII key (REKEY_AUDIT_PII_KEY)', TEST_PII_KEY_HEX);
/** The key `rekey keys rotate` moves the browser state store's data keys to. */
const ROTATED_KEY = canaries.add('rotated data key (hex)', randomBytes(32).toString('hex'));
canaries.add('rotated data key (base64)', Buffer.from(ROTATED_KEY, 'hex').toString('base64'));
const secrets = {
  pg: canaries.add('PostgreSQL target password', `CANARY-PGPW-${letters(12)}`),
  pgState: canaries.add('PostgreSQL state store password', `CANARY-STPW-${letters(12)}`),
  maria: canaries.add('MariaDB target password', `CANARY-MDBPW-${letters(12)}`),
  mariaWrong: canaries.add('a wrong MariaDB password', `CANARY-MDBWRONG-${letters(12)}`),
  hook: canaries.add('webhook signing key', `CANARY-HOOK-${letters(20)}`),
  dcs: canaries.add('browser sign-in password', `CANARY-DCSPW-${letters(12)}`),
};

/** Who goes where, and along which path. */
const people = {
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
const corrected = { ...people.sqliteGood, address1: canaries.add('corrected ADDR_1 of sqlite-delivered', `CANARY-A1C-${letters(8)}`) };
const quarantined = canaries.add('value in an unreadable inbox file', `CANARY-QUAR-${letters(10)}`);
const badRef = canaries.add('submission_reference refused by the webhook schema', `CANARY-REF-${letters(8)}`);

const W = mkdtempSync(join(tmpdir(), 'rekey-canary-'));
const dirs = { pipelines: join(W, 'pipelines'), serve: join(W, 'serve'), input: join(W, 'in'), legacy: join(W, 'legacy'), state: join(W, 'state'), tmp: join(W, 'tmp'), inbox: join(W, 'inbox'), evidence: join(W, 'evidence'), reports: join(W, 'reports') };
const SQLITE_STATE = `sqlite:${join(dirs.state, 'state.sqlite')}`;
const BROWSER_STATE = `sqlite:${join(dirs.state, 'browser-state.sqlite')}`;
const pgSchema = `rekey_canary_${id}`;
const pgStateSchema = `rekey_canary_state_${id}`;
const mariaTable = `canary_${id}`;
const mariaUser = `canary_${id}`;
const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  if (!u.password) u.password = password;
  return u.toString();
};
const pgTargetUrl = withPassword(PG_URL, secrets.pg);
const PG_STATE = `${withPassword(PG_URL, secrets.pgState)}${PG_URL.includes('?') ? '&' : '?'}schema=${pgStateSchema}`;
const mariaUrl = (() => {
  const u = new URL(MARIADB_URL);
  u.username = mariaUser;
  u.password = secrets.maria;
  return u.toString();
})();

/** What one CLI process printed. */
interface Captured {
  label: string;
  code: number | null;
  stdout: string;
  stderr: string;
}
const outputs: Captured[] = [];
/** What went otherwise than planned while driving the paths (reported by the path test, so that the leak tests still run). */
const problems: string[] = [];

const childEnv = (pretty: boolean): NodeJS.ProcessEnv => {
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

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `rekey args` in W and keeps what it printed under `label`; with
 * `pretty`, inside a pseudo-terminal (util-linux `script`), so that the
 * logs come out as pino-pretty draws them.
 */
function cli(label: string, args: string[], opts: { pretty?: boolean; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Captured> {
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

const summary = (c: Captured): Record<string, number> => {
  try {
    return JSON.parse(c.stdout.slice(c.stdout.indexOf('{'))) as Record<string, number>;
  } catch {
    return {};
  }
};
const show = (c: Captured) => `exit ${c.code}\n${c.stdout}\n${c.stderr.slice(-3000)}`;

function want(c: Captured, ok: boolean, what: string): void {
  if (!ok) problems.push(`${c.label}: ${what}\n${show(c)}`);
}
const has = (got: Record<string, number>, expected: Record<string, number>) => Object.entries(expected).every(([k, v]) => got[k] === v);

function writePipeline(dir: string, name: string, def: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(def));
  return file;
}

/** An example pipeline (examples/pipelines/`example`), renamed, with `edit` applied. */
/** The parts of an example pipeline the suite changes. */
interface ExampleDef {
  mapping: string;
  source: { config: Record<string, unknown> };
  target: { config: Record<string, unknown> };
  [key: string]: unknown;
}

function fromExample(example: string, name: string, edit: (def: ExampleDef) => void): string {
  const def = parse(readFileSync(join(root, 'examples/pipelines', example), 'utf8')) as ExampleDef;
  def.pipeline = name;
  def.mapping = join(root, 'examples/mappings', def.mapping.split('/').pop()!);
  edit(def);
  return writePipeline(dirs.pipelines, name, def);
}

const MAPPING = join(root, 'examples/mappings/change-of-address.yaml');
const SQLITE_SETUP = join(root, 'fixtures/legacy/drv_addr_chg.sqlite.sql');
const FAST_RETRY = { maxAttempts: 3, initialDelay: '200ms', maxDelay: '1s', multiplier: 2, jitter: 0 };
/** Retention short enough that `rekey purge` takes what the runs left. */
const SHORT_RETENTION = { bodies: '1s', inboxDone: '1s', inboxQuarantine: '1s' };
const sqliteTarget = (file: string) => ({ kind: 'sqlite', config: { path: join(dirs.legacy, file), table: 'DRV_ADDR_CHG', keyColumn: 'SUBMISSION_KEY', setupSql: SQLITE_SETUP } });

async function sqliteColumn(file: string, sql: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  try {
    return await new Promise<string[]>((resolve, reject) => db.all(sql, (e, rows: { v: string }[]) => (e ? reject(e) : resolve(rows.map((r) => String(r.v).trim())))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

async function pgQuery<T extends Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function mariaQuery(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await mariadb.createConnection({ ...mariaParts(MARIADB_URL), multipleStatements: true });
  try {
    return (await conn.query(sql)) as Record<string, unknown>[];
  } finally {
    await conn.end();
  }
}

function mariaParts(url: string): { host: string; port: number; user: string; password: string; database: string } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) };
}

const PG_TABLE = `
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

const MARIA_TABLE = `
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

let app: LegacyApp | undefined;
/** Per-pipeline keys, for the dlq commands. */
const keysOf: Record<string, { state: string; people: Person[] }> = {};

/** The SQLite target through every path the ledger has: delivered, rejected, corrected (a conflict), replayed. Logs drawn pretty. */
async function sqliteLane(): Promise<void> {
  const source = join(dirs.input, 'sqlite.ndjson');
  writeFileSync(source, ndjson([people.sqliteGood, people.sqliteBad]));
  const file = writePipeline(dirs.pipelines, 'canary-sqlite', { pipeline: 'canary-sqlite', mapping: MAPPING, source: { kind: 'file', config: { path: source } }, target: sqliteTarget('sqlite.sqlite'), retry: FAST_RETRY, workers: 0, retention: SHORT_RETENTION });
  keysOf['canary-sqlite'] = { state: SQLITE_STATE, people: [people.sqliteGood, people.sqliteBad] };
  const first = await cli('run canary-sqlite', ['run', '--state', SQLITE_STATE, file], { pretty: true });
  want(first, /delivered\s+1\b/.test(first.stdout), 'delivered 1');
  writeFileSync(source, ndjson([corrected, people.sqliteBad]));
  const second = await cli('run canary-sqlite, corrected resent', ['run', '--json', '--state', SQLITE_STATE, file]);
  want(second, has(summary(second), { conflicts: 1 }), 'conflicts 1');
  const replay = await cli('replay canary-sqlite', ['replay', '--state', SQLITE_STATE, 'canary-sqlite', people.sqliteGood.key], { pretty: true });
  want(replay, replay.code === 0, 'exit 0');
  await cli('run canary-sqlite after replay', ['run', '--state', SQLITE_STATE, file], { pretty: true });

  const drop = fromExample('file-drop-change-of-address.yaml', 'canary-drop', (d) => {
    d.source.config.path = join(dirs.input, 'drop.ndjson');
    d.target.config.folder = join(dirs.legacy, 'drop');
  });
  writeFileSync(join(dirs.input, 'drop.ndjson'), ndjson([people.dropGood, people.dropBad]));
  keysOf['canary-drop'] = { state: SQLITE_STATE, people: [people.dropGood, people.dropBad] };
  const dropRun = await cli('run canary-drop', ['run', '--json', '--workers', '0', '--state', SQLITE_STATE, drop]);
  want(dropRun, has(summary(dropRun), { delivered: 1, rejected: 1 }), 'delivered 1, rejected 1');

  const inbox = fromExample('inbox-change-of-address.yaml', 'canary-inbox', (d) => {
    d.source.config.path = dirs.inbox;
    d.source.config.settle = '100ms';
    d.target = sqliteTarget('inbox.sqlite');
    d.workers = 0;
    d.retention = SHORT_RETENTION;
  });
  mkdirSync(dirs.inbox, { recursive: true });
  const past = new Date(Date.now() - 60_000);
  writeFileSync(join(dirs.inbox, 'good.ndjson'), ndjson([people.inboxGood, people.inboxBad]));
  writeFileSync(join(dirs.inbox, 'broken.json'), `{"form_name": "x", "answers": [{"answer_text": "${quarantined}" oops`);
  for (const f of ['good.ndjson', 'broken.json']) utimesSync(join(dirs.inbox, f), past, past);
  keysOf['canary-inbox'] = { state: SQLITE_STATE, people: [people.inboxGood, people.inboxBad] };
  const inboxRun = await cli('run canary-inbox', ['run', '--json', '--state', SQLITE_STATE, inbox]);
  want(inboxRun, has(summary(inboxRun), { delivered: 1, rejected: 1 }), 'delivered 1, rejected 1');

  const mariaFile = writePipeline(dirs.pipelines, 'canary-mariadb', {
    pipeline: 'canary-mariadb',
    mapping: MAPPING,
    source: { kind: 'file', config: { path: join(dirs.input, 'mariadb.ndjson') } },
    target: { kind: 'sql', config: { url: { env: 'CANARY_MARIA_URL' }, table: mariaTable, keyColumn: 'submission_key', batchSize: 1 } },
    batch: { size: 1 },
    retry: FAST_RETRY,
    workers: 0,
  });
  writeFileSync(join(dirs.input, 'mariadb.ndjson'), ndjson([people.mariaGood, people.mariaRefused]));
  keysOf['canary-mariadb'] = { state: SQLITE_STATE, people: [people.mariaGood, people.mariaRefused] };
  const mariaRun = await cli('run canary-mariadb', ['run', '--json', '--state', SQLITE_STATE, mariaFile]);
  want(mariaRun, has(summary(mariaRun), { delivered: 1 }), 'delivered 1');

  await webhookLane();
  await refusedConnections();
}

/**
 * Legacy databases that cannot be reached or refuse the password: what
 * `validate --connect`, `run` and `dlq list` say must not carry the
 * password from the URL.
 */
async function refusedConnections(): Promise<void> {
  const down = new URL(pgTargetUrl);
  down.port = '1';
  const denied = new URL(mariaUrl);
  denied.password = secrets.mariaWrong;
  const files = [
    writePipeline(dirs.pipelines, 'canary-pg-down', {
      pipeline: 'canary-pg-down',
      mapping: MAPPING,
      source: { kind: 'file', config: { path: join(dirs.input, 'pg-down.ndjson') } },
      target: { kind: 'sql', config: { url: { env: 'CANARY_PG_DOWN_URL' }, table: `${pgSchema}.drv_addr_chg`, keyColumn: 'submission_key' } },
      retry: FAST_RETRY,
      workers: 0,
    }),
    writePipeline(dirs.pipelines, 'canary-mariadb-denied', {
      pipeline: 'canary-mariadb-denied',
      mapping: MAPPING,
      source: { kind: 'file', config: { path: join(dirs.input, 'pg-down.ndjson') } },
      target: { kind: 'sql', config: { url: { env: 'CANARY_MARIA_DENIED_URL' }, table: mariaTable, keyColumn: 'submission_key' } },
      retry: FAST_RETRY,
      workers: 0,
    }),
  ];
  writeFileSync(join(dirs.input, 'pg-down.ndjson'), ndjson([people.unreachable]));
  const env = { CANARY_PG_DOWN_URL: down.toString(), CANARY_MARIA_DENIED_URL: denied.toString() };
  await Promise.all([
    cli('validate --connect', ['validate', '--connect', join(dirs.pipelines, 'canary-pg.yaml'), join(dirs.pipelines, 'canary-mariadb.yaml'), ...files], { env }),
    ...files.map((f) => cli(`run --debug ${f.split('/').pop()}`, ['run', '--debug', '--json', '--state', SQLITE_STATE, f], { env })),
  ]);
  await Promise.all(['canary-pg-down', 'canary-mariadb-denied'].map((p) => cli(`dlq list ${p}`, ['dlq', 'list', '--failed', '--state', SQLITE_STATE, p])));
}

/** `rekey serve` with the webhook example: one signed submission keyed, one refused by the schema, one with a bad signature. */
async function webhookLane(): Promise<void> {
  fromExample('webhook-change-of-address.yaml', 'canary-hook', (d) => {
    d.source.config.schema = join(root, 'examples/pipelines/webhook-change-of-address.schema.json');
    d.target = sqliteTarget('hook.sqlite');
  });
  mkdirSync(dirs.serve, { recursive: true });
  writeFileSync(join(dirs.serve, 'canary-hook.yaml'), readFileSync(join(dirs.pipelines, 'canary-hook.yaml')));
  rmSync(join(dirs.pipelines, 'canary-hook.yaml'));
  keysOf['canary-hook'] = { state: SQLITE_STATE, people: [people.hookGood] };
  const child = spawn(process.execPath, [MAIN, 'serve', dirs.serve, '--port', '0', '--state', SQLITE_STATE], { cwd: W, env: childEnv(false), stdio: ['ignore', 'pipe', 'pipe'] });
  const captured: Captured = { label: 'serve canary-hook', code: null, stdout: '', stderr: '' };
  outputs.push(captured);
  child.stdout.on('data', (d: Buffer) => (captured.stdout += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((captured.code = code), resolve())));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        captured.stderr += d.toString();
        const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"serving"/.exec(captured.stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`serve exited before listening:\n${captured.stderr}`)));
    });
    const intake = `${url}/intake/canary-hook`;
    const statuses = [
      (await post(intake, submission(people.hookGood), { secret: secrets.hook })).status,
      (await post(intake, { ...submission(people.hookRefused), submission_reference: badRef }, { secret: secrets.hook })).status,
      (await post(intake, submission(people.hookRefused), { secret: 'not-the-signing-key-at-all' })).status,
    ];
    want(captured, statuses[0]! < 300 && statuses[1]! >= 400 && statuses[2]! >= 400, `intake answers ${statuses.join(', ')}: want accepted, refused, refused`);
    const legacy = join(dirs.legacy, 'hook.sqlite');
    for (let i = 0; i < 150; i++) {
      const keyed = await sqliteColumn(legacy, 'SELECT SURNAME AS v FROM DRV_ADDR_CHG').catch((): string[] => []);
      if (keyed.includes(people.hookGood.surname)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const path of ['/status', '/metrics', '/health']) {
      const res = await fetch(`${url}${path}`);
      outputs.push({ label: `serve GET ${path}`, code: res.status, stdout: await res.text(), stderr: '' });
    }
  } finally {
    child.kill('SIGTERM');
    const slow = setTimeout(() => {
      problems.push('serve did not stop within 20 s of SIGTERM');
      child.kill('SIGKILL');
    }, 20_000);
    await exited;
    clearTimeout(slow);
  }
}

/** PostgreSQL target and state store: delivered, retried once, dead-lettered, refused by a CHECK; the dead one retried by an operator. */
async function postgresLane(): Promise<void> {
  await pgQuery(PG_TABLE);
  const file = writePipeline(dirs.pipelines, 'canary-pg', {
    pipeline: 'canary-pg',
    mapping: MAPPING,
    source: { kind: 'file', config: { path: join(dirs.input, 'pg.ndjson') } },
    target: { kind: 'sql', config: { url: { env: 'CANARY_PG_URL' }, table: `${pgSchema}.drv_addr_chg`, keyColumn: 'submission_key', batchSize: 1 } },
    batch: { size: 1 },
    limits: { concurrency: 1 },
    retry: FAST_RETRY,
    workers: 0,
  });
  const list = [people.pgGood, people.pgRetry, people.pgDead, people.pgRefused];
  writeFileSync(join(dirs.input, 'pg.ndjson'), ndjson(list));
  keysOf['canary-pg'] = { state: PG_STATE, people: list };
  const run = await cli('run canary-pg', ['run', '--json', '--wait', '20s', '--state', PG_STATE, file]);
  want(run, has(summary(run), { delivered: 2, dead: 1 }), 'delivered 2, dead 1');
  await cli('dlq retry canary-pg', ['dlq', 'retry', '--state', PG_STATE, 'canary-pg', people.pgDead.key]);
  await cli('run canary-pg after dlq retry', ['run', '--wait', '20s', '--state', PG_STATE, file], { pretty: true });
}

/** The browser example against the legacy app: one keyed, one whose save is lost (retried, probed), one the app refuses (unknown postcode). */
async function browserLane(): Promise<void> {
  if (!chromium) return;
  app = await startLegacyApp({ users: { [DEFAULT_USER.username]: secrets.dcs }, unknownPostcodes: [people.browserRefused.postcode.toUpperCase()], chaos: { loseNextSaves: 1 } });
  const file = fromExample('browser-change-of-address.yaml', 'canary-browser', (d) => {
    d.source.config.path = join(dirs.input, 'browser.ndjson');
    d.target.config.baseUrl = app!.url;
    d.target.config.contexts = 1;
    d.target.config.executablePath = chromium;
    d.target.config.evidence = { folder: dirs.evidence, confirmations: true, traces: 'always' };
    d.retry = FAST_RETRY;
  });
  const list = [people.browserGood, people.browserLost, people.browserRefused];
  writeFileSync(join(dirs.input, 'browser.ndjson'), ndjson(list));
  keysOf['canary-browser'] = { state: BROWSER_STATE, people: list };
  const run = await cli('run canary-browser', ['run', '--json', '--wait', '30s', '--state', BROWSER_STATE, file]);
  want(run, has(summary(run), { delivered: 2 }), 'delivered 2');
}

/** The operator's view: status, dead letters, each submission shown, audit verified and exported. */
async function operatorCommands(): Promise<void> {
  const jobs: [string, string[]][] = [];
  for (const state of [SQLITE_STATE, BROWSER_STATE, PG_STATE]) jobs.push(['status --json', ['status', '--json', '--state', state]], ['audit export json', ['audit', 'export', '--format', 'json', '--state', state]]);
  jobs.push(['status', ['status', '--state', SQLITE_STATE]], ['audit export csv', ['audit', 'export', '--state', SQLITE_STATE]]);
  jobs.push(['audit export --out', ['audit', 'export', '--state', SQLITE_STATE, '--out', join(dirs.reports, 'audit.csv')]]);
  jobs.push(['keys status', ['keys', 'status', '--state', SQLITE_STATE]], ['files canary-inbox', ['files', '--state', SQLITE_STATE, 'canary-inbox']], ['files --json canary-browser', ['files', '--json', '--state', BROWSER_STATE, 'canary-browser']]);
  for (const [pipeline, { state, people: list }] of Object.entries(keysOf)) {
    jobs.push([`dlq list --json ${pipeline}`, ['dlq', 'list', '--failed', '--json', '--state', state, pipeline]]);
    if (pipeline === 'canary-pg') jobs.push([`dlq list ${pipeline}`, ['dlq', 'list', '--failed', '--state', state, pipeline]]);
    for (const p of list) {
      jobs.push([`dlq show --json ${pipeline} ${p.tag}`, ['dlq', 'show', '--json', '--state', state, pipeline, p.key]]);
      if (!p.tag.endsWith('-delivered')) jobs.push([`dlq show ${pipeline} ${p.tag}`, ['dlq', 'show', '--state', state, pipeline, p.key]]);
    }
  }
  mkdirSync(dirs.reports, { recursive: true });
  for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map(([label, args]) => cli(label, args)));
}

/**
 * Purge and erasure: bodies and inbox copies past a one-second retention
 * purged; one submission per state store erased; replay and retry of what
 * is gone refused; the audit chains verified and exported again.
 */
async function purgeAndErase(): Promise<void> {
  const purged = [join(dirs.pipelines, 'canary-sqlite.yaml'), join(dirs.pipelines, 'canary-inbox.yaml')];
  await new Promise((r) => setTimeout(r, 1100));
  await cli('purge --dry-run', ['purge', '--dry-run', '--state', SQLITE_STATE, ...purged]);
  const purge = await cli('purge', ['purge', '--json', '--state', SQLITE_STATE, ...purged]);
  want(purge, purge.code === 0 && /"kind": "bodies"/.test(purge.stdout), 'bodies purged');
  const erasures: [string, string, Person][] = [
    [PG_STATE, 'canary-pg', people.pgDead],
    [BROWSER_STATE, 'canary-browser', people.browserGood],
    [SQLITE_STATE, 'canary-drop', people.dropGood],
  ];
  for (const [state, pipeline, p] of erasures) {
    const c = await cli(`erase ${pipeline} ${p.tag}`, ['erase', '--state', state, '--reason', 'SAR-2026-0042', pipeline, p.key]);
    want(c, c.code === 0, 'erased');
  }
  const refused: [string, string[], string][] = [
    ['replay of a purged body', ['replay', '--state', SQLITE_STATE, 'canary-sqlite', people.sqliteGood.key], 'BODY_PURGED'],
    ['replay of an erased submission', ['replay', '--state', BROWSER_STATE, 'canary-browser', people.browserGood.key], 'SUBMISSION_ERASED'],
    ['dlq retry of an erased submission', ['dlq', 'retry', '--state', PG_STATE, 'canary-pg', people.pgDead.key], 'SUBMISSION_ERASED'],
  ];
  for (const [label, args, code] of refused) {
    const c = await cli(label, args);
    want(c, c.code !== 0 && c.stderr.includes(code), `refused with ${code}`);
  }
  const jobs: [string, string[]][] = [];
  for (const state of [SQLITE_STATE, BROWSER_STATE, PG_STATE]) jobs.push(['audit verify after erasure', ['audit', 'verify', '--state', state]], ['audit export after erasure', ['audit', 'export', '--format', 'json', '--state', state]]);
  for (const [state, pipeline, p] of [...erasures, [SQLITE_STATE, 'canary-sqlite', people.sqliteGood] as const]) jobs.push([`dlq show ${pipeline} ${p.tag} after erasure or purge`, ['dlq', 'show', '--state', state, pipeline, p.key]]);
  for (let i = 0; i < jobs.length; i += 4) await Promise.all(jobs.slice(i, i + 4).map(([label, args]) => cli(label, args)));
  for (const c of outputs.filter((o) => o.label === 'audit verify after erasure')) want(c, c.code === 0, 'the audit chain verifies after erasure');

  const rotated = { REKEY_DATA_KEY: ROTATED_KEY, REKEY_DATA_KEY_PREVIOUS: TEST_DATA_KEY };
  const rotate = await cli('keys rotate', ['keys', 'rotate', '--state', BROWSER_STATE], { env: rotated });
  want(rotate, rotate.code === 0 && /re-wrapped/.test(rotate.stdout), 're-wrapped');
  await Promise.all([cli('keys status after rotation', ['keys', 'status', '--state', BROWSER_STATE], { env: rotated }), cli('audit export after rotation', ['audit', 'export', '--format', 'json', '--state', BROWSER_STATE], { env: rotated })]);
}

/** `text` without terminal escape sequences (colours, cursor moves). */
// eslint-disable-next-line no-control-regex -- terminal escapes start with ESC
const plain = (text: string) => text.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '');

/** Both scans of the working folder together, each leak and file once. */
function mergeScans(a: { files: string[]; leaks: Leak[] }, b: { files: string[]; leaks: Leak[] }): { files: string[]; leaks: Leak[] } {
  return { files: [...new Set([...a.files, ...b.files])], leaks: [...a.leaks, ...b.leaks] };
}

const leaksOf = (title: string, leaks: Leak[]) => expect(report(leaks), `${title}: canaries found in clear`).toEqual([]);
let treeScan: { files: string[]; leaks: Leak[] } = { files: [], leaks: [] };
const inLegacy = (f: string) => f.startsWith(`${dirs.legacy}/`) || f.startsWith(`${dirs.input}/`);

describe('the canary suite: no citizen\'s value and no secret in anything rekey writes', () => {
  beforeAll(async () => {
    for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
    await mariaQuery(MARIA_TABLE);
    const lanes = await Promise.allSettled([sqliteLane(), postgresLane(), browserLane()]);
    for (const l of lanes) if (l.status === 'rejected') problems.push(`a lane stopped: ${l.reason instanceof Error ? (l.reason.stack ?? l.reason.message) : String(l.reason)}`);
    await operatorCommands();
    const before = scanTree(canaries, W, inLegacy);
    await purgeAndErase().catch((e: unknown) => problems.push(`purge and erase stopped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
    treeScan = mergeScans(before, scanTree(canaries, W, inLegacy));
  }, 420_000);

  afterAll(async () => {
    await app?.close();
    await pgQuery(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE; DROP SCHEMA IF EXISTS ${pgStateSchema} CASCADE`).catch(() => undefined);
    await mariaQuery(`DROP TABLE IF EXISTS ${mariaTable}; DROP USER IF EXISTS '${mariaUser}'@'%'; DROP USER IF EXISTS '${mariaUser}'@'localhost'`).catch(() => undefined);
    if (process.env.REKEY_CANARY_KEEP) writeFileSync(`${W}.outputs.json`, JSON.stringify(outputs, null, 2));
    else rmSync(W, { recursive: true, force: true });
  });

  it('the canaries did reach every legacy target (so that finding none elsewhere means something)', async () => {
    expect(await sqliteColumn(join(dirs.legacy, 'sqlite.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.sqliteGood.surname]);
    expect(await sqliteColumn(join(dirs.legacy, 'inbox.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.inboxGood.surname]);
    expect(await sqliteColumn(join(dirs.legacy, 'hook.sqlite'), 'SELECT SURNAME AS v FROM DRV_ADDR_CHG')).toEqual([people.hookGood.surname]);
    const pgRows = await pgQuery<{ surname: string }>(`SELECT surname FROM ${pgSchema}.drv_addr_chg`);
    expect(pgRows.map((r) => r.surname.trim()).sort()).toEqual([people.pgGood.surname, people.pgRetry.surname].sort());
    const mariaRows = await mariaQuery(`SELECT surname FROM ${mariaTable}`);
    expect(mariaRows.map((r) => r.surname)).toEqual([people.mariaGood.surname]);
    const dropped = filesUnder(join(dirs.legacy, 'drop')).map((f) => readFileSync(f, 'latin1')).join('\n');
    expect(dropped).toContain(people.dropGood.surname);
    if (app) expect(app.store.cases.map((c) => c.surname).sort()).toEqual([people.browserGood.surname, people.browserLost.surname].sort());
    expect(existsSync(join(dirs.state, 'state.sqlite'))).toBe(true);
    const planted = new Set(scanTree(canaries, dirs.input).leaks.map((l) => l.canary));
    expect(planted.size, 'canaries the scanner finds in the inputs').toBeGreaterThan(100);
  });

  it('every path was taken: rejected, retried, dead-lettered, replayed, corrected, refused by the legacy system, purged, erased', () => {
    expect(problems).toEqual([]);
    const shown = (pipeline: string, p: Person) => {
      const c = outputs.find((o) => o.label === `dlq show --json ${pipeline} ${p.tag}`);
      return c?.code === 0 ? (JSON.parse(c.stdout) as { row: { state: string; attempts: number }; history: { event: string }[] }) : undefined;
    };
    expect(shown('canary-sqlite', people.sqliteBad)?.row.state).toBe('rejected');
    expect(shown('canary-sqlite', people.sqliteGood)?.history.map((h) => h.event)).toContain('replayed');
    expect(shown('canary-pg', people.pgRetry)?.row).toMatchObject({ state: 'delivered', attempts: 2 });
    expect(shown('canary-pg', people.pgDead)?.row.state).toBe('dead');
    expect(shown('canary-pg', people.pgRefused)?.row.state).toMatch(/rejected/);
    expect(shown('canary-mariadb', people.mariaRefused)?.row.state).toMatch(/rejected/);
    expect(shown('canary-drop', people.dropBad)?.row.state).toBe('rejected');
    expect(shown('canary-inbox', people.inboxBad)?.row.state).toBe('rejected');
    expect(shown('canary-hook', people.hookGood)?.row.state).toBe('delivered');
    expect(outputs.filter((o) => o.label.endsWith('(pretty, in a terminal)') && /^\[[\d:.]+\] (INFO|DEBUG|WARN) \(\d+\)/m.test(plain(o.stdout))).length, 'runs whose logs were drawn pretty').toBeGreaterThan(0);
    expect(outputs.find((o) => o.label === 'run canary-sqlite, corrected resent')?.stdout).toMatch(/"conflicts": 1/);
    if (app) {
      expect(shown('canary-browser', people.browserRefused)?.row.state).toMatch(/rejected/);
      expect(Math.max(...[people.browserGood, people.browserLost].map((p) => shown('canary-browser', p)?.row.attempts ?? 0)), 'a lost save, retried').toBeGreaterThanOrEqual(2);
    }
  });

  it('no canary in the SQLite state stores: the files (with -wal and -shm) byte for byte, and every cell of every table', async () => {
    const files = readdirSync(dirs.state).map((f) => join(dirs.state, f));
    expect(files.some((f) => f.endsWith('state.sqlite'))).toBe(true);
    const leaks = treeScan.leaks.filter((l) => l.where.startsWith('state/'));
    for (const f of files.filter((x) => x.endsWith('.sqlite'))) leaks.push(...(await scanSqlite(canaries, f, `state/${f.split('/').pop()}`)));
    leaksOf('SQLite state stores', leaks);
  });

  it('no canary in the PostgreSQL state store: every row of every table in its schema', async () => {
    const { tables, leaks } = await scanPostgresSchema(canaries, PG_URL, pgStateSchema);
    expect(tables).toContain('ledger_bodies');
    leaksOf('PostgreSQL state store', leaks);
  });

  it.skipIf(!chromium)('no canary in the evidence: screenshots and traces, unzipped', () => {
    const evidence = treeScan.files.filter((f) => f.startsWith(`${dirs.evidence}/`));
    expect(evidence.length).toBeGreaterThan(0);
    leaksOf('evidence', treeScan.leaks.filter((l) => l.where.startsWith('evidence/')));
  });

  it('no canary in the inbox folders: done, quarantine, processing and their reports', () => {
    const inbox = treeScan.files.filter((f) => f.startsWith(`${dirs.inbox}/`));
    expect(inbox.some((f) => f.includes('/done/'))).toBe(true);
    expect(inbox.some((f) => f.includes('/quarantine/'))).toBe(true);
    leaksOf('inbox folders', treeScan.leaks.filter((l) => l.where.startsWith('inbox/')));
  });

  it('no canary in any other file rekey wrote: temp files, .rekey, reports, audit export files, pipeline files', () => {
    leaksOf('other files', treeScan.leaks.filter((l) => !/^(state|evidence|inbox)\//.test(l.where)));
  });

  it('no canary in the logs, JSON and pretty, of any process (and none when the JSON is drawn by pino-pretty)', () => {
    const pretty = prettyFactory({ colorize: false });
    const leaks: Leak[] = [];
    for (const o of outputs) {
      leaks.push(...scanBytes(canaries, `stderr of ${o.label}`, Buffer.from(o.stderr)));
      leaks.push(...scanBytes(canaries, `stdout and stderr of ${o.label} without terminal escapes`, Buffer.from(plain(`${o.stdout}\n${o.stderr}`))));
      const drawn = o.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => pretty(l)).join('');
      leaks.push(...scanBytes(canaries, `stderr of ${o.label} drawn by pino-pretty`, Buffer.from(drawn)));
    }
    expect(outputs.filter((o) => o.stderr.includes('"level"')).length).toBeGreaterThan(0);
    leaksOf('logs', leaks);
  });

  it('no canary in what the commands print: run summaries, replay, dlq list/show (without --body), status, audit export and verify', () => {
    expect(outputs.filter((o) => o.label.startsWith('dlq show')).length).toBeGreaterThan(20);
    leaksOf('CLI output', outputs.flatMap((o) => scanBytes(canaries, `stdout of ${o.label}`, Buffer.from(o.stdout))));
  });
});
