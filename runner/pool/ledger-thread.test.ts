/**
 * The ledger's writes on a thread of their own (`ledger-thread.ts`), on a
 * real SQLite state file: a pass with mapping workers records through it
 * what the main thread's ledger would (rows, sealed bodies, a chain that
 * verifies, no citizen's value in clear); its errors come back with their
 * codes; its writes and the main thread's interleave on the one file; a
 * thread that stops fails the calls out instead of leaving them hanging.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import pino from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CryptoErrors } from '../../lib/envelope.errors.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { CodedError, isCoded } from '../../lib/errors.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { contentHash } from '../../pipelines/flow/submission-key.js';
import { flowPipeline } from '../../pipelines/flow/flow-pipeline.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import type { IncomingSubmission } from '../../pipelines/ledger/ledger.types.js';
import { LedgerTransitionError, PipelineError } from '../../pipelines/pipeline.errors.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { WriteLock } from '../../pipelines/store/write-lock.js';
import { pgSkipReason, PG_URL } from '../../pipelines/store/store.test-helpers.js';
import { mappingOptions } from '../commands/run.command.js';
import { loadPipelineFile } from '../pipeline-files.js';
import { openRuntime, piiHasher } from '../runtime.js';
import { LedgerThread } from './ledger-thread.js';
import { revivedError, threadError } from './ledger-thread.messages.js';
import { MappingPool } from './mapping-pool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mappingFile = `${root}examples/mappings/change-of-address.yaml`;
const fixture = readFileSync(`${root}fixtures/submissions/govuk-forms/change-of-address.ndjson`, 'utf8').trim().split('\n');
const PII_KEY = Buffer.alloc(32, 9);
const ACTOR = 'runner:test:1';
const CANARY = 'CANARYLEDGERTHREADQXZ';

const dir = mkdtempSync(join(tmpdir(), 'rekey-ledger-thread-'));
const closing: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

/** A migrated state file, its store and ledger on this thread, and a ledger thread on it. */
async function stateFile(name: string): Promise<{ url: string; file: string; store: StateStore; ledger: Ledger; thread: LedgerThread }> {
  const file = join(dir, `${name}.sqlite`);
  const url = `sqlite:${file}`;
  const store = await openStateStore(url);
  const thread = await LedgerThread.start(url, TEST_KEYS, store.writeLock);
  closing.push(() => store.close(), () => thread.close());
  return { url, file, store, ledger: new Ledger(store, new AuditLog(store), TEST_KEYS), thread };
}

function items(prefix: string, n: number): IncomingSubmission[] {
  return Array.from({ length: n }, (_, i) => {
    const body = { ref: `${prefix}-${i}` };
    return { key: `${prefix}-${i}`, contentHash: contentHash(body), body: undefined, bodyJson: JSON.stringify(body), source: `test:${i + 1}` };
  });
}

async function rows(store: StateStore, pipeline: string): Promise<Record<string, number>> {
  const out = await store.select<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM ledger WHERE pipeline = $1 GROUP BY state', [pipeline]);
  return Object.fromEntries(out.map((r) => [r.state, Number(r.n)]));
}

describe('the ledger thread', () => {
  it('carries a pass with mapping workers: every submission recorded once through it, sealed, on a chain that verifies', async () => {
    const s = await stateFile('pass');
    const calls = vi.spyOn(s.thread, 'call');
    const input = fixture.map((line, i) => (i === 0 ? line.replace(/"[^"]*@[^"]*"/, `"${CANARY.toLowerCase()}@example.org"`) : line));
    expect(input[0]).toContain(CANARY.toLowerCase());
    writeFileSync(join(dir, 'in.ndjson'), `${input.join('\n')}\n`);
    writeFileSync(
      join(dir, 'pass.yaml'),
      [
        'pipeline: coa',
        `mapping: ${mappingFile}`,
        `source: { kind: file, config: { path: ${join(dir, 'in.ndjson')} } }`,
        `target: { kind: sqlite, config: { path: ./legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, setupSql: ${root}fixtures/legacy/drv_addr_chg.sqlite.sql } }`,
        '',
      ].join('\n'),
    );
    const loaded = await loadPipelineFile(join(dir, 'pass.yaml'));
    if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
    const pool = new MappingPool(mappingFile, 1, PII_KEY);
    closing.push(() => pool.close());
    const opts = { owner: ACTOR, actor: ACTOR, log: pino({ level: 'silent' }), signal: new AbortController().signal, leaseMs: 60_000, retryWaitMs: 0, piiHash: piiHasher(PII_KEY) };
    const r = await runPass(flowPipeline(loaded.pipeline), s.thread.ledger(s.ledger), { ...opts, ...mappingOptions(pool, loaded.pipeline.mapping, PII_KEY) });

    expect(r.read).toBe(fixture.length);
    expect(r.delivered + r.rejected).toBe(fixture.length);
    expect(r.delivered).toBeGreaterThan(0);
    // The chunk's admission and its outcomes went through the thread; nothing else did.
    const ops = calls.mock.calls.map(([op]) => op);
    expect(ops).toContain('receive');
    expect(ops).toContain('apply');
    expect(new Set(ops)).toEqual(new Set(['receive', 'apply']));
    // The workers' seals crossed to the thread as bytes in memory the threads share, never as text; each delivery kept its sealed copy of what was sent.
    const items = calls.mock.calls.filter(([op]) => op === 'receive').flatMap(([, args]) => args[2] as IncomingSubmission[]);
    expect(items).toHaveLength(fixture.length);
    for (const item of items) expect((item.sealedBody!.body as Uint8Array).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(await s.store.select('SELECT COUNT(*) AS n FROM ledger_sent')).toEqual([{ n: r.delivered }]);
    // Read back on this thread's connection: every row once, every body opens.
    expect(await rows(s.store, 'coa')).toEqual({ delivered: r.delivered, ...(r.rejected ? { rejected: r.rejected } : {}) });
    const [one] = await s.ledger.list('coa', { limit: 1 });
    expect(await s.ledger.get('coa', one!.key)).toMatchObject({ contentHash: one!.contentHash });
    expect(await new AuditLog(s.store).verify()).toMatchObject({ ok: true });
    // A second pass over the same file: all duplicates, none keyed twice.
    const again = await runPass(flowPipeline(loaded.pipeline), s.thread.ledger(s.ledger), { ...opts, ...mappingOptions(pool, loaded.pipeline.mapping, PII_KEY) });
    expect(again).toMatchObject({ read: fixture.length, duplicates: fixture.length, receivedNew: 0, delivered: 0 });
    // No citizen's value in clear anywhere the thread wrote (the file and its write-ahead log).
    await s.thread.close();
    for (const f of [s.file, `${s.file}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(CANARY.toLowerCase())).toBe(false);
  });

  it('answers with the ledger\'s errors, codes kept, and writes nothing for them', async () => {
    const s = await stateFile('errors');
    const bad = [...items('ok', 2), { key: '', contentHash: 'sha256:00' } as IncomingSubmission];
    const refused = await s.thread.call('receive', ['p', null, bad, ACTOR]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PipelineError);
    expect(refused).toMatchObject({ code: 'LEDGER_BAD_REQUEST', disposition: 'reject', message: 'submission 2 has no key' });
    expect(await rows(s.store, 'p')).toEqual({});

    expect(await s.thread.call('receive', ['p', null, items('k', 3), ACTOR])).toEqual(['new', 'new', 'new']);
    const illegal = await s.thread.call('apply', ['p', null, [{ key: 'k-1', to: 'delivered' }], ACTOR, {}]).catch((e: unknown) => e);
    expect(illegal).toBeInstanceOf(LedgerTransitionError);
    expect(illegal).toMatchObject({ code: 'LEDGER_ILLEGAL_TRANSITION', key: 'k-1', from: 'received', to: 'delivered' });
    expect(await rows(s.store, 'p')).toEqual({ received: 3 });
  });

  it('interleaves its write transactions with the main thread\'s on one file', async () => {
    const s = await stateFile('both');
    const onThread = Array.from({ length: 12 }, (_, i) => s.thread.call('receive', ['t', null, items(`t${i}`, 300), ACTOR]));
    const onMain = Array.from({ length: 12 }, (_, i) => s.ledger.receive('m', null, items(`m${i}`, 300), ACTOR));
    const runs = Array.from({ length: 12 }, () => s.ledger.startRun('m', ACTOR, null));
    const all = await Promise.all([...onThread, ...onMain]);
    await Promise.all(runs);
    expect(all.flat().filter((o) => o === 'new')).toHaveLength(24 * 300);
    expect(await rows(s.store, 't')).toEqual({ received: 3600 });
    expect(await rows(s.store, 'm')).toEqual({ received: 3600 });
    expect(await new AuditLog(s.store).verify()).toMatchObject({ ok: true });
  });

  it('fails the calls out when the thread stops, and every call after it, with STORE_UNAVAILABLE, freeing the write lock it held', async () => {
    const s = await stateFile('stops');
    const lock = new WriteLock(s.store.writeLock);
    let answered = false;
    const out = s.thread.call('receive', ['p', null, items('x', 20_000), ACTOR]).finally(() => (answered = true));
    // Stopped in the middle of its write: once it holds the file's write lock.
    while (lock.heldBy === 0 && !answered) await new Promise((ok) => setImmediate(ok));
    const worker = Reflect.get(s.thread, 'worker') as Worker;
    expect(lock.heldBy).toBe(worker.threadId + 1);
    await worker.terminate();
    await expect(out).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(lock.heldBy).toBe(0);
    expect(await s.ledger.receive('p', null, items('after', 1), ACTOR)).toEqual(['new']);
    expect(await rows(s.store, 'p')).toEqual({ received: 1 });
    await expect(s.thread.call('receive', ['p', null, items('y', 1), ACTOR])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'the ledger thread is stopped (exited with code 1)' });
    await s.thread.close();
  });

  it('refuses calls once closed, closes twice harmlessly, and fails to start on a store it cannot open', async () => {
    const s = await stateFile('closed');
    await s.thread.close();
    await s.thread.close();
    await expect(s.thread.call('receive', ['p', null, items('z', 1), ACTOR])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'the ledger thread is closed' });
    writeFileSync(join(dir, 'not-a-database.sqlite'), 'this is not a database file, and SQLite says so'.repeat(100));
    await expect(LedgerThread.start(`sqlite:${join(dir, 'not-a-database.sqlite')}`, TEST_KEYS)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('is what a runner\'s passes with workers write through on a SQLite file, and closes with its runtime', async () => {
    const runtime = await openRuntime(`sqlite:${join(dir, 'runtime.sqlite')}`);
    closing.push(() => runtime.close());
    const threaded = await runtime.threadedLedger();
    expect(threaded).not.toBe(runtime.ledger);
    expect(Object.getPrototypeOf(threaded)).toBe(runtime.ledger);
    expect(Object.keys(threaded).sort()).toEqual(['apply', 'receive', 'receiveLanes']);
    expect(await runtime.threadedLedger()).not.toBe(threaded);
    expect(await threaded.receive('p', 'run-1', items('r', 2), ACTOR)).toEqual(['new', 'new']);
    expect(await rows(runtime.store, 'p')).toEqual({ received: 2 });
    await runtime.close();
    await expect(threaded.receive('p', 'run-1', items('s', 1), ACTOR)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it.skipIf(Boolean(pgSkipReason))('leaves a PostgreSQL state store\'s ledger as it is', async () => {
    const runtime = await openRuntime(`${PG_URL}?schema=rekey_ledger_thread_${process.pid}`);
    try {
      expect(await runtime.threadedLedger()).toBe(runtime.ledger);
    } finally {
      await runtime.store.exec(`DROP SCHEMA rekey_ledger_thread_${process.pid} CASCADE`);
      await runtime.close();
    }
  });

  it('rebuilds a driver error with its code and errno, and another layer\'s coded error as coded', () => {
    const e = Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY', errno: 5 });
    expect(revivedError(threadError(e))).toMatchObject({ name: 'Error', message: 'SQLITE_BUSY: database is locked', code: 'SQLITE_BUSY', errno: 5 });
    expect(revivedError(threadError('plain'))).toMatchObject({ message: 'plain' });
    const unknownKey = new CodedError(CryptoErrors.DATA_KEY_UNKNOWN, 'the body is sealed under a key this ring does not hold');
    const revived = revivedError(threadError(unknownKey));
    expect(isCoded(revived)).toBe(true);
    expect(revived).toMatchObject({ code: unknownKey.code, disposition: unknownKey.disposition, message: unknownKey.message });
  });
});
