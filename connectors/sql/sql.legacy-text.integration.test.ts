/**
 * The legacy database's own error text is data (issue 23, point 3): a
 * trigger refusing a record with a message that names a customer must not
 * put the name in the audit log, the ledger's clear columns, the logs or
 * `rekey dlq show`; the text is kept only sealed with its submission, shown
 * with `--reveal` (audited `evidence-opened`), and a failure of the whole
 * batch never copies one record's message onto the others. Real `rekey run`
 * processes into real SQLite and PostgreSQL tables with triggers.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions, withTown } from '../conformance/bench-bodies.js';
import { BENCH_FIELDS, benchLegacyTableSql, keyOf, ledgerRows, querySqlite, summaryOf, WorkDir } from '../conformance/conformance.run.js';
import { rekey, type PassExit } from '../../runner/cli.test-helpers.js';
import { legacyPostgres, type LegacyDb } from './sql.test-helpers.js';

const PIPELINE = 'legacy-text';
const TIMEOUT = 120_000;
const HASH = /^hmac:[0-9a-f]{32}$/;
const show = (exit: PassExit) => `exit ${exit.code} ${exit.signal ?? ''}\n${exit.stdout.slice(-1000)}\n${exit.stderr.slice(-3000)}`;

/** A name no other part of the test holds: the trigger's message carries it. */
const canaryName = () => `Zebedee Canarywright${randomBytes(4).toString('hex')}`;

interface Legacy {
  url: string;
  table: string;
  drop(): Promise<void>;
}

/** Every byte under `dir` (the state store, its WAL, the pipeline files) that holds `text`. */
function filesHolding(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!name.isFile()) continue;
    const p = join(name.parentPath, name.name);
    if (readFileSync(p).includes(Buffer.from(text))) found.push(p);
  }
  return found;
}

async function sqliteLegacy(dir: string, trigger: string): Promise<Legacy> {
  const file = join(dir, 'legacy.sqlite');
  await new Promise<void>((resolve, reject) => {
    const db = new sqlite3.Database(file, (e) => e && reject(e));
    db.exec(`${benchLegacyTableSql()}${trigger}`, (e) => db.close(() => (e ? reject(e) : resolve())));
  });
  return { url: `sqlite:${file}`, table: 'LEGACY', drop: async () => undefined };
}

let pg: LegacyDb | undefined;
let pgTables = 0;

async function postgresLegacy(raise: string, deferred = false): Promise<Legacy> {
  pg ??= await legacyPostgres();
  const name = `legacy_${++pgTables}`;
  const table = pg.t(name);
  const fn = `${table}_refuse`;
  await pg.query(`CREATE TABLE ${table} (CASE_ID INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, SUBMISSION_KEY VARCHAR(120) NOT NULL UNIQUE, ${BENCH_FIELDS.map((f) => `${f} VARCHAR(200)`).join(', ')})`);
  await pg.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.town = 'NOWHERE' THEN ${raise}; END IF; RETURN NEW; END $$`);
  await pg.query(
    deferred
      ? `CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON ${table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${fn}()`
      : `CREATE TRIGGER refuse BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  );
  return { url: pg.url, table, drop: async () => undefined };
}

const made: WorkDir[] = [];
afterAll(async () => {
  for (const w of made) rmSync(w.dir, { recursive: true, force: true });
  await pg?.drop();
}, TIMEOUT);

/** A work folder whose pipeline writes `bodies` (the third one to the town the trigger refuses) into `legacy`. */
function work(legacy: Legacy, bodies: object[], extra?: Record<string, unknown>): WorkDir {
  const w = new WorkDir('rekey-legacy-text-', ['--workers', '0']);
  made.push(w);
  w.write({ name: PIPELINE, mapping: BENCH_MAPPING, target: { kind: 'sql', config: { url: { env: 'REKEY_LEGACY_URL' }, table: legacy.table, keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID' } }, batch: 10, ...(extra && { extra }) }, bodies);
  return w;
}

const env = (legacy: Legacy) => ({ REKEY_LEGACY_URL: legacy.url, REKEY_LOG_LEVEL: 'debug' });

/** The raw audit log (every entry's detail as stored), the ledger's clear columns and the sealed column, read straight from the state store. */
async function rawState(w: WorkDir): Promise<{ audit: string; ledger: string; sealed: (string | null)[] }> {
  const audit = await querySqlite<Record<string, unknown>>(w.state, 'SELECT * FROM audit_log ORDER BY seq');
  const ledger = await querySqlite<Record<string, unknown>>(w.state, 'SELECT * FROM ledger');
  const sealed = await querySqlite<{ legacy_error: string | null }>(w.state, 'SELECT legacy_error FROM ledger_bodies ORDER BY id');
  return { audit: JSON.stringify(audit), ledger: JSON.stringify(ledger), sealed: sealed.map((r) => r.legacy_error) };
}

const cases = [
  {
    name: 'SQLite (a trigger raising ABORT)',
    make: (dir: string, canary: string) => sqliteLegacy(dir, `CREATE TRIGGER refuse BEFORE INSERT ON LEGACY WHEN NEW.TOWN = 'NOWHERE' BEGIN SELECT RAISE(ABORT, 'legacy refuses customer ${canary}'); END;\n`),
    message: 'the legacy database refused the record (code SQLITE_CONSTRAINT)',
  },
  {
    name: 'PostgreSQL (a trigger function raising an exception)',
    make: (_dir: string, canary: string) => postgresLegacy(`RAISE EXCEPTION 'legacy refuses customer ${canary}'`),
    message: 'the legacy database refused the record (code P0001)',
  },
];

describe.each(cases)('a refusal whose message names a customer, on $name', ({ make, message }) => {
  const canary = canaryName();
  const bodies = benchSubmissions(6, 0);
  bodies[2] = withTown(bodies[2]!, 'Nowhere');
  const badKey = keyOf(bodies[2]);
  let w: WorkDir;
  let first: PassExit;

  beforeAll(async () => {
    const db = new WorkDir('rekey-legacy-db-');
    made.push(db);
    const legacy = await make(db.dir, canary);
    w = work(legacy, bodies);
    first = await w.run(env(legacy));
  }, TIMEOUT);

  it('rejects the record with rekey\'s reason and the text\'s keyed hash; the rest are delivered', async () => {
    expect(first.code, show(first)).toBe(1);
    expect(summaryOf(first)).toMatchObject({ receivedNew: 6, rejected: 1, delivered: 5, failed: 0 });
    const rows = await ledgerRows(w.state, PIPELINE);
    const bad = rows.find((r) => r.key === badKey)!;
    expect(bad.state).toBe('rejected');
    expect(Object.keys(bad.lastError!).sort()).toEqual(['code', 'disposition', 'message', 'textHash']);
    expect(bad.lastError).toEqual({ code: 'SQL_CONSTRAINT', disposition: 'reject', message, textHash: expect.stringMatching(HASH) as unknown as string });
    expect(rows.filter((r) => r.key !== badKey).map((r) => [r.state, r.lastError])).toEqual(Array(5).fill(['delivered', null]));
  });

  it('keeps the name out of the audit log, the ledger row, the logs and every file; the sealed column holds ciphertext', async () => {
    const raw = await rawState(w);
    expect(raw.audit).not.toContain(canary);
    expect(raw.ledger).not.toContain(canary);
    expect(raw.audit).not.toContain('legacy refuses');
    expect(first.stdout + first.stderr).not.toContain(canary);
    expect(filesHolding(w.dir, canary)).toEqual([]);
    const sealed = raw.sealed.filter((s): s is string => s !== null);
    expect(sealed).toHaveLength(1);
    expect(Buffer.from(sealed[0]!, 'base64').includes(Buffer.from(canary))).toBe(false);
    const rejected = (await querySqlite<{ detail: string }>(w.state, "SELECT detail FROM audit_log WHERE event = 'rejected'")).map((r) => JSON.parse(r.detail) as { records: { key: string; error: Record<string, unknown> }[] });
    const record = rejected.flatMap((d) => d.records).find((r) => r.key === badKey)!;
    const row = (await ledgerRows(w.state, PIPELINE)).find((r) => r.key === badKey)!;
    expect(record.error).toEqual({ code: 'SQL_CONSTRAINT', disposition: 'reject', message, textHash: row.lastError!.textHash });
  });

  it('dlq show leaves the text sealed; --reveal prints it and audits evidence-opened; the audit chain verifies', async () => {
    const state = `sqlite:${w.state}`;
    const plain = await rekey(['dlq', 'show', PIPELINE, badKey, '--state', state], w.dir);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`SQL_CONSTRAINT (reject): ${message}`);
    expect(plain.stdout).not.toContain(canary);
    const list = await rekey(['dlq', 'list', PIPELINE, '--rejected', '--state', state], w.dir);
    expect(list.stdout + list.stderr).not.toContain(canary);
    const revealed = await rekey(['dlq', 'show', PIPELINE, badKey, '--state', state, '--reveal', '--operator', 'alice', '--json'], w.dir);
    expect(revealed.code, revealed.stderr).toBe(0);
    const out = JSON.parse(revealed.stdout) as { legacyText: string; openedAs: string; openedSeq: number };
    expect(out.legacyText).toBe(`legacy refuses customer ${canary}`);
    expect(out.openedAs).toBe('operator:alice');
    const [opened] = await querySqlite<{ actor: string; detail: string }>(w.state, 'SELECT actor, detail FROM audit_log WHERE seq = ?', [out.openedSeq]);
    expect(opened).toEqual({ actor: 'operator:alice', detail: expect.any(String) as unknown as string });
    expect(JSON.parse(opened!.detail)).toMatchObject({ keys: [badKey], kind: 'legacy-error' });
    const verify = await rekey(['audit', 'verify', '--state', state], w.dir);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect((await rawState(w)).audit).not.toContain(canary);
  });
});

describe('a failure of the whole batch whose message names one customer (PostgreSQL serialization failure)', () => {
  const canary = canaryName();
  const bodies = benchSubmissions(4, 100);
  bodies[1] = withTown(bodies[1]!, 'Nowhere');

  it('gives every record of the batch the code and rekey\'s reason, never the message', async () => {
    const legacy = await postgresLegacy(`RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'could not serialize access: customer ${canary}'`);
    // The first failure only: a retry due within the pass (10 ms by default here) would split the batch (bisect.ts).
    const w = work(legacy, bodies, { retry: { maxAttempts: 5, initialDelay: '1h', maxDelay: '1h' } });
    const run = await w.run(env(legacy));
    expect(summaryOf(run), show(run)).toMatchObject({ receivedNew: 4, delivered: 0, rejected: 0, dead: 0, waitingRetry: 4 });
    const rows = await ledgerRows(w.state, PIPELINE);
    expect(rows.map((r) => [r.state, r.lastError])).toEqual(Array(4).fill(['failed', { code: 'SQL_BUSY', disposition: 'retry', message: 'the legacy database failed the batch (code 40001)' }]));
    const raw = await rawState(w);
    expect(raw.sealed).toEqual([null, null, null, null]);
    expect(raw.audit + raw.ledger + run.stdout + run.stderr).not.toContain(canary);
    expect(filesHolding(w.dir, canary)).toEqual([]);
  }, TIMEOUT);
});

describe('a refusal at COMMIT no record can be blamed for, whose message names a customer (PostgreSQL deferred trigger)', () => {
  const canary = canaryName();
  const bodies = benchSubmissions(3, 200);
  bodies[1] = withTown(bodies[1]!, 'Nowhere');

  it('stops the pipeline with the code and constraint, never the message, and keeps the name out of everything written', async () => {
    const legacy = await postgresLegacy(`RAISE EXCEPTION 'legacy refuses customer ${canary}'`, true);
    const w = work(legacy, bodies);
    const run = await w.run(env(legacy));
    expect(run.code, show(run)).not.toBe(0);
    expect(run.stderr).toContain('cannot write to');
    expect(run.stderr).toContain('the database refused the batch (code P0001)');
    const raw = await rawState(w);
    const at = (text: string) => text.slice(Math.max(0, text.indexOf(canary) - 300), text.indexOf(canary) + 50);
    expect(raw.audit, at(raw.audit)).not.toContain(canary);
    expect(raw.ledger, at(raw.ledger)).not.toContain(canary);
    // Sequelize's Transaction.commit console.warns the database's message ("Committing
    // transaction ... failed with error ..."); rekey turns it into a coded warning instead.
    expect(run.stderr).not.toMatch(/Committing transaction|Rolling back transaction/);
    const unsettled = run.stderr.split('\n').filter((l) => l.includes('"code":"DB_TRANSACTION_UNSETTLED"'));
    expect(unsettled.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 40, code: 'DB_TRANSACTION_UNSETTLED', action: 'commit', dialect: 'postgres', dbCode: 'P0001', msg: 'a database COMMIT failed (code P0001); its connection was closed' }),
    ]);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(canary);
    expect(filesHolding(w.dir, canary)).toEqual([]);
  }, TIMEOUT);
});
