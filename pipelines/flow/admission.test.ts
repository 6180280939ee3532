import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import type { IncomingSubmission } from '../ledger/ledger.types.js';
import { admit, identify, type AdmitCounts, type Door } from './admission.js';
import { PushDoor } from './push-door.js';
import { submission, testMapping } from './flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const P = 'admit-test';
let url: string;
let store: StateStore;
let ledger: Ledger;
let logs: Record<string, unknown>[];
let batches: number[];

function door(runId: string | null = 'run-1'): Door {
  const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (logs.push(JSON.parse(c.toString()) as Record<string, unknown>), done()) }));
  const counted = {
    receive: (pipeline: string, run: string | null, items: IncomingSubmission[], actor: string) => {
      batches.push(items.length);
      return ledger.receive(pipeline, run, items, actor);
    },
  };
  return { pipeline: P, ledger: counted, runId, actor: 'runner:test:1', log };
}

function incoming(body: unknown, source = 'test'): IncomingSubmission {
  return { ...identify(testMapping(), body), body, source };
}

beforeEach(async () => {
  url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-admit-')), 'state.sqlite')}`;
  store = await openStateStore(url);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
  logs = [];
  batches = [];
});
afterEach(() => store.close());

describe('identify', () => {
  it('keys by the mapping (form/reference) and hashes the canonical content; without a reference the key is the hash', () => {
    const m = testMapping();
    const body = submission('AA2BB3CC') as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const id = identify(m, body);
    expect(id.key).toBe('F/AA2BB3CC');
    expect(id.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(identify(m, reordered)).toEqual(id);
    expect(identify(m, { ...body, answers: [] }).contentHash).not.toBe(id.contentHash);
    const bare = identify(m, { note: 'no reference' });
    expect(bare.key).toBe(bare.contentHash);
  });
});

describe('admit: the one door into the ledger', () => {
  it('records new submissions durably, counts duplicates and conflicts, keeps the first content and warns of conflicts by key only', async () => {
    const counts: AdmitCounts = { receivedNew: 0, duplicates: 0, conflicts: 0 };
    const a = submission('AA2BB3CC');
    const b = submission('DD4EE5FF');
    expect(await admit(door(), [incoming(a, 'f:1'), incoming(b, 'f:2')], counts)).toEqual(['new', 'new']);
    const changed = submission('AA2BB3CC', "O'Connor");
    expect(await admit(door(), [incoming(b, 'f:3'), incoming(changed, 'f:4'), incoming(submission('GG6HH7JJ'), 'f:5')], counts)).toEqual(['duplicate', 'conflict', 'new']);
    expect(counts).toEqual({ receivedNew: 3, duplicates: 1, conflicts: 1 });
    expect(batches).toEqual([2, 3]);
    expect((await ledger.get(P, 'F/AA2BB3CC'))?.body).toEqual(a);
    expect((await ledger.get(P, 'F/AA2BB3CC'))?.source).toBe('f:1');
    expect(await ledger.conflictCount(P)).toBe(1);
    expect((await ledger.list(P, { limit: 10 })).map((r) => r.key).sort()).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF', 'F/GG6HH7JJ']);
    const warnings = logs.filter((l) => l.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ pipeline: P, keys: ['F/AA2BB3CC'], msg: 'same key arrived with different content: recorded as a conflict, not overwritten' })]);
    expect(JSON.stringify(logs)).not.toContain("O'Connor");
  });

  it('writes nothing for an empty batch, and rejects with nothing recorded or counted when the ledger fails', async () => {
    const counts: AdmitCounts = { receivedNew: 0, duplicates: 0, conflicts: 0 };
    expect(await admit(door(), [], counts)).toEqual([]);
    expect(batches).toEqual([]);
    const item = incoming(submission('AA2BB3CC'));
    await expect(admit(door(), [item, { ...item, key: '' }], counts)).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
    expect(counts).toEqual({ receivedNew: 0, duplicates: 0, conflicts: 0 });
    expect(await ledger.list(P, { limit: 10 })).toEqual([]);
  });
});

describe('PushDoor: pushed submissions through admit by group commit', () => {
  it('answers new, duplicate and conflict with the key, writes concurrent ones together, and calls onNew once per new one', async () => {
    let fresh = 0;
    const d = new PushDoor(door(null), testMapping(), { maxBatch: 100, maxPending: 1000 }, () => fresh++);
    const refs = Array.from({ length: 40 }, (_, i) => `R${String(i).padStart(7, '0')}`);
    const answers = await Promise.all(refs.map((r) => d.admit(submission(r), `push ${r}`)));
    expect(answers).toEqual(refs.map((r) => ({ status: 'new', key: `F/${r}` })));
    expect(batches.reduce((x, y) => x + y, 0)).toBe(40);
    expect(batches.length).toBeLessThan(40);
    expect(await d.admit(submission(refs[0]!), 'again')).toEqual({ status: 'duplicate', key: `F/${refs[0]}` });
    expect(await d.admit(submission(refs[0]!, 'Jones'), 'changed')).toEqual({ status: 'conflict', key: `F/${refs[0]}` });
    expect(fresh).toBe(40);
    expect((await ledger.get(P, `F/${refs[1]}`))?.source).toBe(`push ${refs[1]}`);
    expect(d.closing).toBe(false);
    await d.close();
    expect(d.closing).toBe(true);
    expect(await d.admit(submission('ZZ9ZZ9ZZ'), 'late')).toEqual({ status: 'stopping' });
    expect(await ledger.get(P, 'F/ZZ9ZZ9ZZ')).toBeNull();
  });

  it('refuses as busy beyond maxPending and as unavailable when the ledger fails, storing nothing for either', async () => {
    const d = new PushDoor(door(null), testMapping(), { maxBatch: 1, maxPending: 1 });
    const answers = await Promise.all(['AA000001', 'AA000002', 'AA000003', 'AA000004'].map((r) => d.admit(submission(r), r)));
    const busy = answers.filter((a) => a.status === 'busy');
    expect(busy.length).toBeGreaterThan(0);
    const stored = answers.filter((a) => a.status === 'new').map((a) => (a as { key: string }).key);
    expect((await ledger.list(P, { limit: 10 })).map((r) => r.key).sort()).toEqual(stored.sort());
    await store.close();
    const down = await d.admit(submission('BB000001'), 'down');
    expect(down).toMatchObject({ status: 'unavailable', error: { message: expect.any(String) } });
    store = await openStateStore(url);
    await d.close();
  });
});
