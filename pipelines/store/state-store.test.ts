import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { migrate, migrateDown } from './migrate.js';
import { migration0003 } from './migrations/0003-ledger-bodies.js';
import { migration0006 } from './migrations/0006-ledger-ids.js';
import { TEST_DIALECTS } from './store.test-helpers.js';
import { openStateStore, resolveStateUrl, SQLITE_PAGE_SIZE, type StateStore } from './state-store.js';
import { openTestStore, pgSkipReason, type TestStore } from './store.test-helpers.js';

const TABLES = ['audit_checkpoints', 'audit_keys', 'audit_keys_retired', 'audit_log', 'connector_state', 'console_sessions', 'ledger', 'ledger_bodies', 'ledger_conflicts', 'ledger_counts', 'ledger_sent', 'mapping_texts', 'pipeline_controls', 'rate_pacing', 'rekey_migrations', 'runs', 'schedule_ticks', 'sealed_files'];

describe('state store URL', () => {
  it('comes from the argument, else REKEY_STATE_URL, else .rekey/state.sqlite under the working directory', () => {
    expect(resolveStateUrl('sqlite:/x.sqlite', { REKEY_STATE_URL: 'postgres://h/db' })).toBe('sqlite:/x.sqlite');
    expect(resolveStateUrl(undefined, { REKEY_STATE_URL: 'postgres://h/db' })).toBe('postgres://h/db');
    expect(resolveStateUrl(undefined, {}, '/srv/app')).toBe('sqlite:/srv/app/.rekey/state.sqlite');
  });

  it('refuses what it cannot open', async () => {
    await expect(openStateStore('mysql://h/db')).rejects.toMatchObject({ code: 'STORE_URL_INVALID', disposition: 'fatal' });
    await expect(openStateStore('postgres://h/db?schema=x;drop')).rejects.toMatchObject({ code: 'STORE_URL_INVALID' });
  });

  it('says a SQLite store is unavailable, without hanging, when its folder cannot be made or its file cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-unavailable-'));
    writeFileSync(join(dir, 'a-file'), '');
    await expect(openStateStore(`sqlite:${join(dir, 'a-file', 'state.sqlite')}`)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      disposition: 'fatal',
      message: `cannot create the state store's folder ${join(dir, 'a-file')}: a file is in the way (EEXIST); run rekey where it may write, or set REKEY_STATE_URL (--state)`,
    });
    // SQLite cannot open a folder as its file (as it cannot open one in a folder it may not write, which a test running as root cannot arrange).
    mkdirSync(join(dir, 'folder.sqlite'));
    await expect(openStateStore(`sqlite:${join(dir, 'folder.sqlite')}`)).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: `cannot open the state store sqlite:${join(dir, 'folder.sqlite')}: SQLITE_CANTOPEN: unable to open database file`,
    });
  });

  it('names a PostgreSQL store it cannot reach without its password', async () => {
    const failed = await openStateStore('postgres://rekey:s%40cret@127.0.0.1:1/state').catch((e: Error) => e);
    expect(failed).toMatchObject({ disposition: 'fatal', message: 'state store postgres://rekey:***@127.0.0.1:1/state: migration failed: connect ECONNREFUSED 127.0.0.1:1' });
    expect((failed as Error).message).not.toMatch(/s@cret|s%40cret/);
  });
});

describe('SQLite state store', () => {
  const open: StateStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('creates the folder and the schema, and runs durable pragmas on every connection', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rekey-cwd-'));
    const store = await openStateStore(resolveStateUrl(undefined, {}, cwd));
    open.push(store);
    expect(existsSync(join(cwd, '.rekey', 'state.sqlite'))).toBe(true);
    const tables = await store.select<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(TABLES);
    const pragmas = async (t?: Parameters<StateStore['exec']>[2]) => ({
      journal: (await store.select<{ journal_mode: string }>('PRAGMA journal_mode', [], t))[0]?.journal_mode,
      sync: (await store.select<{ synchronous: number }>('PRAGMA synchronous', [], t))[0]?.synchronous,
      busy: (await store.select<{ timeout: number }>('PRAGMA busy_timeout', [], t))[0]?.timeout,
    });
    const expected = { journal: 'wal', sync: 2, busy: 50 };
    expect(await pragmas()).toEqual(expected);
    for (let i = 0; i < 3; i++) expect(await store.transaction((t) => pragmas(t))).toEqual(expected);
  });

  it('creates a new file with 16 KiB pages; a file made with smaller pages keeps them, and works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-page-'));
    const fresh = await openStateStore(`sqlite:${join(dir, 'new.sqlite')}`);
    open.push(fresh);
    expect(await fresh.select('PRAGMA page_size')).toEqual([{ page_size: SQLITE_PAGE_SIZE }]);
    expect(SQLITE_PAGE_SIZE).toBe(16_384);
    // A file as rekey made them before: SQLite's default pages, WAL, one table already in it.
    const oldFile = join(dir, 'old.sqlite');
    const db = new DatabaseSync(oldFile);
    db.exec('PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE kept (id INTEGER PRIMARY KEY)');
    db.close();
    const old = await openStateStore(`sqlite:${oldFile}`);
    open.push(old);
    expect(await old.select('PRAGMA page_size')).toEqual([{ page_size: 4096 }]);
    await old.transaction((t) => old.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')", [], t));
    expect(await old.select<{ id: string }>('SELECT id FROM runs')).toEqual([{ id: 'r' }]);
  });

  it('migrates once; a second open, or two at once, finds nothing to do', async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-mig-')), 'state.sqlite')}`;
    const [a, b] = await Promise.all([openStateStore(url), openStateStore(url)]);
    open.push(a, b);
    // Up to date: found so by one read, with no write transaction taken (and umzug not loaded).
    const transaction = vi.spyOn(a.sequelize, 'transaction');
    expect(await migrate(a)).toEqual([]);
    expect(transaction).not.toHaveBeenCalled();
    // One migration undone (with the file open once in this process): the next start applies it again, in a transaction of its own.
    await b.close();
    expect(await migrateDown(a)).toBe('0025-sealed-bytes');
    expect(await migrate(a)).toEqual(['0025-sealed-bytes']);
    expect(transaction).toHaveBeenCalled();
    transaction.mockRestore();
    const names = await a.select<{ name: string }>('SELECT name FROM rekey_migrations ORDER BY name');
    expect(names.map((n) => n.name)).toEqual(['0001-ledger', '0002-audit', '0003-ledger-bodies', '0004-run-versions', '0005-connector-state', '0006-ledger-ids', '0007-run-errors', '0008-data-at-rest', '0010-retention', '0011-audit-trail', '0012-console-sessions', '0013-pipeline-controls', '0014-corrections', '0015-console-indexes', '0016-ledger-counts', '0017-runs-mapping-version', '0018-legacy-error-text', '0019-claim-by-arrival', '0020-rate-pacing', '0022-schedule-ticks', '0023-ledger-sent', '0024-case-bodies', '0025-sealed-bytes']);
  });

  it('rolls a failed transaction back and can be closed twice', async () => {
    const store = await openStateStore('sqlite::memory:');
    await expect(
      store.transaction(async (t) => {
        await store.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')", [], t);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.select('SELECT * FROM runs')).toEqual([]);
    await store.close();
    await store.close();
  });
});

describe.skipIf(pgSkipReason !== null)('PostgreSQL state store', () => {
  let ts: TestStore | undefined;
  afterEach(() => ts?.dispose());

  it('keeps its tables in the given schema with synchronous_commit on in every session', async () => {
    ts = await openTestStore('postgres');
    const schema = new URL(ts.url).searchParams.get('schema');
    const tables = await ts.store.select<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename', [schema]);
    expect(tables.map((t) => t.tablename)).toEqual(TABLES);
    const settings = await Promise.all(Array.from({ length: 6 }, () => ts!.store.transaction((t) => ts!.store.select<{ synchronous_commit: string }>('SHOW synchronous_commit', [], t))));
    expect(settings.flat().map((s) => s.synchronous_commit)).toEqual(Array(6).fill('on'));
    const [a, b] = await Promise.all([openStateStore(ts.url), openStateStore(ts.url)]);
    expect(await migrate(a)).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe.each(TEST_DIALECTS)('migration 0003 on %s', (dialect) => {
  let ts: TestStore | undefined;
  afterEach(async () => {
    await ts?.dispose();
    ts = undefined;
  });

  it('moves the bodies of existing rows into ledger_bodies, and back down', async () => {
    ts = await openTestStore(dialect);
    const { store } = ts;
    const step = (fn: typeof migration0003.up) => store.withSequelize((s) => s.transaction((transaction) => fn({ qi: s.getQueryInterface(), dialect: store.dialect, transaction })));
    await step(migration0006.down);
    await step(migration0003.down);
    const at = '2026-01-01T00:00:00.000Z';
    await store.exec(
      `INSERT INTO ledger (pipeline, key, content_hash, state, attempts, confirmed, body, created_at, updated_at) VALUES ('p', 'k1', 'h', 'received', 0, false, $1, $2, $2), ('p', 'k2', 'h', 'delivered', 1, false, $3, $2, $2)`,
      ['{"a":1}', at, '{"b":"\u00e9"}'],
    );
    await step(migration0003.up);
    expect(await store.select('SELECT pipeline, key, body FROM ledger_bodies ORDER BY key')).toEqual([
      { pipeline: 'p', key: 'k1', body: '{"a":1}' },
      { pipeline: 'p', key: 'k2', body: '{"b":"\u00e9"}' },
    ]);
    const columns = dialect === 'sqlite' ? await store.select<{ name: string }>("SELECT name FROM pragma_table_info('ledger')") : await store.select<{ name: string }>("SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'ledger' AND table_schema = current_schema()");
    expect(columns.map((c) => c.name)).not.toContain('body');
    await step(migration0003.down);
    expect(await store.select('SELECT key, body FROM ledger ORDER BY key')).toEqual([
      { key: 'k1', body: '{"a":1}' },
      { key: 'k2', body: '{"b":"\u00e9"}' },
    ]);
    await step(migration0003.up);
    await step(migration0006.up);
  });
});

describe.each(TEST_DIALECTS)('migration 0006 on %s', (dialect) => {
  let ts: TestStore | undefined;
  afterEach(async () => {
    await ts?.dispose();
    ts = undefined;
  });

  it('numbers ledger rows by age and moves bodies and audit keys onto the numbers, and back down', async () => {
    ts = await openTestStore(dialect);
    const { store } = ts;
    const step = (fn: typeof migration0006.up) => store.withSequelize((s) => s.transaction((transaction) => fn({ qi: s.getQueryInterface(), dialect: store.dialect, transaction })));
    await step(migration0006.down);
    const row = (key: string, at: string) => [`('p', '${key}', 'h', 'received', 0, false, '${at}', '${at}')`];
    await store.exec(
      `INSERT INTO ledger (pipeline, key, content_hash, state, attempts, confirmed, created_at, updated_at) VALUES ${[...row('b', '2026-01-01T00:00:02.000Z'), ...row('a', '2026-01-01T00:00:01.000Z')].join(', ')}`,
    );
    await store.exec(`INSERT INTO ledger_bodies (pipeline, key, body) VALUES ('p', 'a', '{"a":1}'), ('p', 'b', '{"b":2}')`);
    await store.exec(`INSERT INTO audit_keys (seq, pipeline, key) VALUES (1, 'p', 'a'), (1, 'p', 'b'), (2, 'p', 'b')`);
    await step(migration0006.up);
    const num = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])));
    expect(num(await store.select('SELECT id, key FROM ledger ORDER BY id'))).toEqual([
      { id: 1, key: 'a' },
      { id: 2, key: 'b' },
    ]);
    expect(num(await store.select('SELECT id, body FROM ledger_bodies ORDER BY id'))).toEqual([
      { id: 1, body: '{"a":1}' },
      { id: 2, body: '{"b":2}' },
    ]);
    expect(num(await store.select('SELECT seq, ledger_id FROM audit_keys ORDER BY seq, ledger_id'))).toEqual([
      { seq: 1, ledger_id: 1 },
      { seq: 1, ledger_id: 2 },
      { seq: 2, ledger_id: 2 },
    ]);
    await step(migration0006.down);
    expect(await store.select('SELECT pipeline, key, body FROM ledger_bodies ORDER BY key')).toEqual([
      { pipeline: 'p', key: 'a', body: '{"a":1}' },
      { pipeline: 'p', key: 'b', body: '{"b":2}' },
    ]);
    expect(num(await store.select('SELECT seq, key FROM audit_keys ORDER BY seq, key'))).toEqual([
      { seq: 1, key: 'a' },
      { seq: 1, key: 'b' },
      { seq: 2, key: 'b' },
    ]);
    await step(migration0006.up);
  });
});

describe.each(TEST_DIALECTS)('migrations on %s', (dialect) => {
  let ts: TestStore | undefined;
  afterEach(async () => {
    await ts?.dispose();
    ts = undefined;
  });

  it('apply each migration whole or not at all, so a start cut short is finished by the next', async () => {
    ts = await openTestStore(dialect);
    const { store } = ts;
    const tables = async () =>
      (dialect === 'sqlite'
        ? await store.select<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        : await store.select<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename')
      ).map((t) => t.name);
    while (await migrateDown(store));
    expect(await tables()).toEqual(['rekey_migrations']);
    await store.exec('CREATE TABLE runs (pipeline TEXT, started_at TEXT)');
    await store.exec('CREATE INDEX runs_pipeline_started ON runs (pipeline, started_at)');
    await expect(migrate(store)).rejects.toMatchObject({ code: 'STORE_MIGRATION_FAILED' });
    expect(await tables()).toEqual(['rekey_migrations', 'runs']);
    expect(await store.select('SELECT name FROM rekey_migrations')).toEqual([]);
    await store.exec('DROP TABLE runs');
    expect(await migrate(store)).toEqual(['0001-ledger', '0002-audit', '0003-ledger-bodies', '0004-run-versions', '0005-connector-state', '0006-ledger-ids', '0007-run-errors', '0008-data-at-rest', '0010-retention', '0011-audit-trail', '0012-console-sessions', '0013-pipeline-controls', '0014-corrections', '0015-console-indexes', '0016-ledger-counts', '0017-runs-mapping-version', '0018-legacy-error-text', '0019-claim-by-arrival', '0020-rate-pacing', '0022-schedule-ticks', '0023-ledger-sent', '0024-case-bodies', '0025-sealed-bytes']);
    expect(await tables()).toEqual(TABLES);
  });
});

describe('SQLite state store on node:sqlite', () => {
  const open: StateStore[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('waits for another connection\'s write lock without blocking the thread, then writes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rekey-busy-')), 'state.sqlite');
    const store = await openStateStore(`sqlite:${file}`);
    open.push(store);
    const other = new DatabaseSync(file, { timeout: 0 });
    other.exec('BEGIN IMMEDIATE');
    // Released by a timer of this thread: a store that waited for the lock by blocking the thread would never see it released.
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        other.exec('COMMIT');
        other.close();
        resolve();
      }, 300),
    );
    await store.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')");
    await released;
    expect(await store.select('SELECT id FROM runs')).toEqual([{ id: 'r' }]);
  });

  it('changes its schema only where its file is open once in the process', async () => {
    const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-once-')), 'state.sqlite')}`;
    const a = await openStateStore(url);
    const b = await openStateStore(url);
    open.push(a, b);
    await expect(migrateDown(a)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: `the state store ${url} is open more than once in this process: its schema can be changed only where it is open once` });
    // Both stores still work after the refusal.
    await a.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')");
    expect(await b.select('SELECT id FROM runs')).toEqual([{ id: 'r' }]);
    await b.close();
    expect(await migrateDown(a)).toBe('0025-sealed-bytes');
    expect(await migrate(a)).toEqual(['0025-sealed-bytes']);
    expect(await a.select('SELECT id FROM runs')).toEqual([{ id: 'r' }]);
  });

  it('words its errors as node-sqlite3 did, and fails its statements once closed', async () => {
    const store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-words-')), 'state.sqlite')}`);
    await expect(store.select('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: 'SQLITE_ERROR', message: 'SQLITE_ERROR: no such table: no_such_table' });
    await store.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')");
    await expect(store.exec("INSERT INTO runs (id, pipeline, actor, started_at) VALUES ('r', 'p', 'a', '2024-01-01T00:00:00.000Z')")).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
    await store.close();
    await expect(store.select('SELECT 1')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: `the state store ${store.location} is closed` });
  });
});
