import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { LedgerTransitionError, PipelineError } from '../pipeline.errors.js';
import { TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { ERR, PATH, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { Ledger } from './ledger.js';
import { TRANSITIONS, type LedgerState, type Transition } from './ledger.types.js';

const RUNNER = 'runner:test:1';
const STATES = Object.keys(TRANSITIONS) as LedgerState[];



describe.each(TEST_DIALECTS)('Ledger on %s', (dialect) => {
  const env = useTestLedger(dialect);
  let ts: TestStore;
  let ledger: Ledger;
  let audit: AuditLog;
  const fresh = pipelineNames();
  beforeAll(() => void ({ ts, ledger, audit } = env));

  async function putInState(p: string, key: string, state: LedgerState): Promise<void> {
    await ledger.receive(p, null, [sub(key)], RUNNER);
    for (const to of PATH[state]) {
      const t: Transition = { key, to, ...(to === 'failed' || to === 'dead' ? { error: ERR } : {}) };
      await ledger.apply(p, null, [t], RUNNER);
    }
  }

  describe('every transition, from the TRANSITIONS table', () => {
    const cases = STATES.flatMap((from) => STATES.map((to) => ({ from, to, legal: TRANSITIONS[from].includes(to) })));
    it.each(cases)('$from -> $to (legal: $legal)', async ({ from, to, legal }) => {
      const p = fresh();
      await putInState(p, 'k', from);
      const before = await audit.head();
      const move = ledger.apply(p, 'run-1', [{ key: 'k', to, ...(to === 'failed' ? { error: ERR } : {}) }], RUNNER, { target: 't' });
      if (legal) {
        await move;
        expect((await ledger.get(p, 'k'))?.state).toBe(to);
        const [last] = (await ledger.history(p, 'k')).slice(-1);
        expect(last?.seq).toBe(before.seq + 1);
      } else {
        const err = await move.then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(LedgerTransitionError);
        expect(err).toMatchObject({ code: 'LEDGER_ILLEGAL_TRANSITION', disposition: 'fatal', key: 'k', from, to });
        expect((await ledger.get(p, 'k'))?.state).toBe(from);
        expect(await audit.head()).toEqual(before);
      }
    });
  });

  it('writes nothing of a batch that holds one illegal move', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
    const before = await audit.head();
    await expect(ledger.apply(p, null, [{ key: 'a', to: 'mapped' }, { key: 'b', to: 'delivered' }], RUNNER)).rejects.toMatchObject({ key: 'b', from: 'received' });
    expect((await ledger.get(p, 'a'))?.state).toBe('received');
    expect(await audit.head()).toEqual(before);
    await expect(ledger.apply(p, null, [{ key: 'zz', to: 'mapped' }], RUNNER)).rejects.toMatchObject({ code: 'LEDGER_UNKNOWN_KEY', disposition: 'reject' });
  });

  it('applies several moves of one key in order and audits them in that order', async () => {
    const p = fresh();
    await ledger.receive(p, 'r', [sub('a'), sub('b')], RUNNER);
    await ledger.apply(p, 'r', [{ key: 'a', to: 'delivering' }, { key: 'b', to: 'delivering' }, { key: 'a', to: 'delivered', legacyRef: 'CASE-1' }], RUNNER, {
      target: 'sql',
      mappingVersion: 'sha256:m1',
    });
    const a = await ledger.get(p, 'a');
    expect(a).toMatchObject({ state: 'delivered', legacyRef: 'CASE-1', mappingVersion: 'sha256:m1' });
    expect((await ledger.history(p, 'a')).map((e) => e.event)).toEqual(['received', 'delivering', 'delivered']);
    const delivered = (await ledger.history(p, 'a')).at(-1)!;
    expect(delivered).toMatchObject({ target: 'sql', mappingVersion: 'sha256:m1', legacyRef: 'CASE-1', actor: RUNNER });
    expect(delivered.detail).toMatchObject({ runId: 'r', keys: ['a'], records: [{ key: 'a', from: 'delivering', legacyRef: 'CASE-1', confirmed: false }] });
  });

  it('each settled delivery counts an attempt; failed sets the retry time; delivered clears lease and error', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('a')], RUNNER);
    await ledger.claim(p, 'owner-1', 10, 60_000);
    await ledger.apply(p, null, [{ key: 'a', to: 'delivering' }], RUNNER);
    expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivering', leaseOwner: 'owner-1' });
    const retryAt = new Date(Date.now() + 3_600_000);
    await ledger.apply(p, null, [{ key: 'a', to: 'failed', error: ERR, nextAttemptAt: retryAt }], RUNNER);
    expect(await ledger.get(p, 'a')).toMatchObject({ state: 'failed', attempts: 1, nextAttemptAt: retryAt, lastError: ERR, leaseOwner: null });
    await ledger.apply(p, null, [{ key: 'a', to: 'delivering' }, { key: 'a', to: 'failed', error: ERR, nextAttemptAt: retryAt }], RUNNER);
    expect((await ledger.get(p, 'a'))?.attempts).toBe(2);
    await ledger.apply(p, null, [{ key: 'a', to: 'delivering' }, { key: 'a', to: 'delivered', legacyRef: 'R9', confirmed: true, mappingVersion: 'sha256:v' }], RUNNER);
    expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivered', attempts: 3, legacyRef: 'R9', confirmed: true, lastError: null, nextAttemptAt: null, leaseUntil: null });
  });

  describe('receive', () => {
    it('records new keys, duplicates and conflicts, in order, without overwriting', async () => {
      const p = fresh();
      expect(await ledger.receive(p, 'r1', [sub('a', 'h1', { v: 1 }), sub('b'), sub('a', 'h1', { v: 1 }), sub('c', 'h3'), sub('c', 'hX')], RUNNER)).toEqual([
        'new',
        'new',
        'duplicate',
        'new',
        'conflict',
      ]);
      expect(await ledger.receive(p, 'r2', [sub('a', 'h1'), sub('a', 'h2', { v: 2 }), sub('d')], RUNNER)).toEqual(['duplicate', 'conflict', 'new']);
      expect(await ledger.get(p, 'a')).toMatchObject({ state: 'received', contentHash: 'h1', body: { v: 1 }, source: 'test.ndjson:a' });
      const conflicts = await ledger.conflicts(p);
      expect(conflicts.map((c) => [c.key, c.contentHash, c.body])).toEqual([
        ['c', 'hX', { ref: 'c' }],
        ['a', 'h2', { v: 2 }],
      ]);
      expect(await ledger.conflictCount(p)).toBe(2);
      expect((await ledger.history(p, 'a')).map((e) => e.event)).toEqual(['received', 'duplicate', 'duplicate', 'conflict']);
      const conflict = (await ledger.history(p, 'a')).at(-1)!;
      expect(conflict.detail.records).toEqual([{ key: 'a', contentHash: 'h2', storedHash: 'h1', source: 'test.ndjson:a' }]);
      expect((await ledger.counts(p))[p]).toMatchObject({ received: 4 });
    });

    it('records new rows already leased when asked', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('a')], RUNNER, { lease: { owner: 'me', leaseMs: 60_000 } });
      expect((await ledger.get(p, 'a'))?.leaseOwner).toBe('me');
      expect(await ledger.claim(p, 'other', 10, 1000)).toEqual([]);
      expect(await ledger.leaseOwners(p)).toEqual(['me']);
    });

    it('moves new rows on at once with `then`, audited in the same transaction; known keys are not moved', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('old')], RUNNER);
      const lease = { owner: 'me', leaseMs: 60_000 };
      const items = [
        { ...sub('a'), then: { to: 'delivering' as const, mappingVersion: 'sha256:m' } },
        { ...sub('b'), then: { to: 'rejected' as const, error: { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject' as const, message: 'DOB: required' } } },
        { ...sub('old'), then: { to: 'delivering' as const } },
      ];
      expect(await ledger.receive(p, 'r', items, RUNNER, { lease, target: 'sqlite', mappingVersion: 'sha256:m' })).toEqual(['new', 'new', 'duplicate']);
      expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivering', leaseOwner: 'me', mappingVersion: 'sha256:m', body: { ref: 'a' } });
      expect(await ledger.get(p, 'b')).toMatchObject({ state: 'rejected', leaseOwner: null, lastError: { code: 'MAPPING_RECORD_REJECTED', message: 'DOB: required' } });
      expect(await ledger.get(p, 'old')).toMatchObject({ state: 'received', leaseOwner: null });
      const [received] = await ledger.history(p, 'a');
      expect(received).toMatchObject({ event: 'received', target: 'sqlite', mappingVersion: 'sha256:m' });
      expect(received?.detail.records?.find((r) => r.key === 'a')).toMatchObject({ state: 'delivering' });
      expect(received?.detail.records?.find((r) => r.key === 'b')?.state).toBeUndefined();
      expect((await ledger.history(p, 'b')).map((e) => e.event)).toEqual(['received', 'rejected']);
      await ledger.apply(p, 'r', [{ key: 'a', to: 'delivered', legacyRef: 'R1' }], RUNNER, { owner: 'me' });
      expect((await ledger.history(p, 'a')).map((e) => e.event)).toEqual(['received', 'delivered']);
      await expect(ledger.receive(p, null, [{ ...sub('c'), then: { to: 'delivered' as const } }], RUNNER)).rejects.toBeInstanceOf(LedgerTransitionError);
      expect(await ledger.get(p, 'c')).toBeNull();
      expect((await audit.verify()).ok).toBe(true);
    });

    it('rejects an item without key or hash, writing nothing', async () => {
      const p = fresh();
      await expect(ledger.receive(p, null, [sub('a'), { ...sub('b'), key: '' }], RUNNER)).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
      expect(await ledger.get(p, 'a')).toBeNull();
    });
  });

  describe('claim', () => {
    it('leases due rows in the order they arrived, once, until the lease runs out', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('b'), sub('a')], RUNNER);
      await ledger.receive(p, null, [sub('c')], RUNNER);
      const now = new Date(Date.now() + 10);
      const first = await ledger.claim(p, 'o1', 2, 1000, now);
      expect(first.map((c) => c.key)).toEqual(['b', 'a']);
      expect(first[1]).toMatchObject({ contentHash: 'sha256:a', body: { ref: 'a' }, state: 'received', attempts: 0, uncertain: false });
      expect((await ledger.claim(p, 'o2', 10, 1000, now)).map((c) => c.key)).toEqual(['c']);
      expect(await ledger.claim(p, 'o3', 10, 1000, now)).toEqual([]);
      const later = new Date(now.getTime() + 1001);
      expect((await ledger.claim(p, 'o3', 10, 1000, later)).map((c) => c.key)).toEqual(['b', 'a', 'c']);
    });

    it('claims a batch in the order it was read, not in key order: repeats, duplicates and batches recorded in the same millisecond keep it', async () => {
      const p = fresh();
      const read = ['k09', 'k03', 'k07', 'k01', 'k05'];
      await ledger.receive(p, null, [sub('k03')], RUNNER);
      expect(await ledger.receive(p, null, [...read, 'k07'].map((k) => sub(k)), RUNNER)).toEqual(['new', 'duplicate', 'new', 'new', 'new', 'duplicate']);
      await ledger.receive(p, null, ['k08', 'k02'].map((k) => sub(k)), RUNNER);
      await ledger.receive(p, null, ['k06', 'k04'].map((k) => sub(k)), RUNNER);
      const order = ['k03', 'k09', 'k07', 'k01', 'k05', 'k08', 'k02', 'k06', 'k04'];
      const claimed: string[] = [];
      for (let c = await ledger.claim(p, 'o1', 4, 60_000); c.length; c = await ledger.claim(p, 'o1', 4, 60_000)) claimed.push(...c.map((x) => x.key));
      expect(claimed).toEqual(order);
    });

    it('claims through ledger_claim_order, in its order, without sorting the due rows', async () => {
      const p = fresh();
      await ledger.receive(p, null, ['z', 'y', 'x'].map((k) => sub(k)), RUNNER);
      const { store } = ts;
      const seen: Array<{ sql: string; params: unknown[] }> = [];
      const noting = { ...store, select: (sql: string, params: unknown[] = [], t?: Parameters<typeof store.select>[2]) => (seen.push({ sql, params }), store.select(sql, params, t)) } as typeof store;
      expect((await new Ledger(noting, new AuditLog(noting), TEST_KEYS).claim(p, 'o1', 2, 60_000)).map((c) => c.key)).toEqual(['z', 'y']);
      const { sql, params } = seen.find((s) => s.sql.includes('ORDER BY'))!;
      const plan =
        dialect === 'sqlite'
          ? (await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join('\n')
          : (
              await store.transaction(async (t) => {
                await store.exec('SET LOCAL enable_sort = off', [], t);
                return store.select<Record<string, string>>(`EXPLAIN ${sql}`, params, t);
              })
            )
              .map((r) => Object.values(r)[0]!)
              .join('\n');
      expect(plan).toMatch(/USING INDEX ledger_claim_order|Index Scan using ledger_claim_order/);
      expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
    });

    it('brings back failed rows when due, and delivering rows with expired leases as uncertain', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('f'), sub('d'), sub('x')], RUNNER);
      const now = new Date();
      await ledger.claim(p, 'o1', 10, 1000, now);
      const retryAt = new Date(now.getTime() + 5000);
      await ledger.apply(p, null, [{ key: 'f', to: 'delivering' }, { key: 'f', to: 'failed', error: ERR, nextAttemptAt: retryAt }, { key: 'd', to: 'delivering' }, { key: 'x', to: 'rejected' }], RUNNER);
      expect(await ledger.claim(p, 'o2', 10, 1000, new Date(now.getTime() + 500))).toEqual([]);
      const afterLease = await ledger.claim(p, 'o2', 10, 60_000, new Date(now.getTime() + 1500));
      expect(afterLease.map((c) => [c.key, c.state, c.uncertain])).toEqual([['d', 'delivering', true]]);
      const afterRetry = await ledger.claim(p, 'o3', 10, 1000, new Date(now.getTime() + 5001));
      expect(afterRetry.map((c) => [c.key, c.state, c.attempts, c.uncertain])).toEqual([['f', 'failed', 1, false]]);
    });

    it('release gives back one owner’s leases; delivering rows come back uncertain', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
      await ledger.claim(p, 'o1', 1, 60_000);
      await ledger.claim(p, 'o2', 1, 60_000);
      await ledger.apply(p, null, [{ key: 'a', to: 'delivering' }], RUNNER);
      expect(await ledger.leaseOwners(p)).toEqual(['o1', 'o2']);
      expect(await ledger.release(p, 'o1')).toBe(1);
      const back = await ledger.claim(p, 'o3', 10, 60_000);
      expect(back.map((c) => [c.key, c.uncertain])).toEqual([['a', true]]);
      expect((await ledger.get(p, 'b'))?.leaseOwner).toBe('o2');
    });

    it('renew extends one owner’s leases, so they do not run out under it', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('a'), sub('b'), sub('c')], RUNNER);
      const now = new Date();
      await ledger.claim(p, 'o1', 2, 1000, now);
      await ledger.claim(p, 'o2', 1, 1000, now);
      expect(await ledger.renew(p, 'o1', 60_000, new Date(now.getTime() + 900))).toBe(2);
      const later = await ledger.claim(p, 'o3', 10, 1000, new Date(now.getTime() + 1500));
      expect(later.map((c) => c.key)).toEqual(['c']);
      expect((await ledger.get(p, 'a'))?.leaseOwner).toBe('o1');
    });

    it('fences a runner whose lease was taken over: its moves of those rows are skipped and reported', async () => {
      const p = fresh();
      await ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
      const now = new Date();
      await ledger.claim(p, 'o1', 10, 1000, now);
      expect(await ledger.apply(p, null, [{ key: 'a', to: 'delivering' }, { key: 'b', to: 'delivering' }], RUNNER, { owner: 'o1' })).toEqual([]);
      const taken = await ledger.claim(p, 'o2', 1, 60_000, new Date(now.getTime() + 1500));
      expect(taken.map((c) => [c.key, c.uncertain])).toEqual([['a', true]]);
      const late = [
        { key: 'a', to: 'delivered' as const, legacyRef: 'LATE-A' },
        { key: 'b', to: 'delivered' as const, legacyRef: 'B' },
      ];
      expect(await ledger.apply(p, null, late, RUNNER, { owner: 'o1' })).toEqual(['a']);
      expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivering', leaseOwner: 'o2', legacyRef: null });
      expect(await ledger.get(p, 'b')).toMatchObject({ state: 'delivered', legacyRef: 'B' });
      expect((await ledger.history(p, 'a')).map((e) => e.event)).toEqual(['received', 'delivering']);
    });

    it('writes a runner’s outcomes on its leased rows as a read-then-write would: what a move leaves alone stays', async () => {
      const p = fresh();
      const lease = { owner: 'me', leaseMs: 60_000 };
      await ledger.receive(p, 'r', [sub('a'), sub('b')], RUNNER, { lease });
      await ledger.apply(p, 'r', [{ key: 'a', to: 'delivering' }, { key: 'b', to: 'delivering', mappingVersion: 'sha256:v1' }], RUNNER, { owner: 'me' });
      await ledger.apply(p, 'r', [{ key: 'b', to: 'delivered', legacyRef: 'OLD-REF', confirmed: true }], RUNNER, { owner: 'me' });
      await ledger.replay(p, 'b', 'operator:bob');
      expect((await ledger.claim(p, 'me', 10, 60_000)).map((c) => c.key)).toEqual(['b']);
      await ledger.apply(p, 'r', [{ key: 'b', to: 'delivering' }], RUNNER, { owner: 'me' });
      const rejected = { code: 'TARGET_CONSTRAINT', disposition: 'reject' as const, message: 'CHECK failed' };
      const moves = [
        { key: 'a', to: 'delivered' as const, legacyRef: 'CASE-1', confirmed: true, detail: { pii: { SURNAME: `hmac:${'0'.repeat(32)}` } } },
        { key: 'b', to: 'rejected' as const, error: rejected },
      ];
      expect(await ledger.apply(p, 'r', moves, RUNNER, { target: 'sqlite', mappingVersion: 'sha256:v2', owner: 'me' })).toEqual([]);
      expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivered', legacyRef: 'CASE-1', confirmed: true, lastError: null, nextAttemptAt: null, leaseOwner: null, leaseUntil: null, mappingVersion: 'sha256:v2' });
      expect(await ledger.get(p, 'b')).toMatchObject({ state: 'rejected', legacyRef: 'OLD-REF', confirmed: true, lastError: rejected, leaseOwner: null, mappingVersion: 'sha256:v1' });
      const [aLast, bLast] = [(await ledger.history(p, 'a')).at(-1)!, (await ledger.history(p, 'b')).at(-1)!];
      expect(aLast).toMatchObject({ event: 'delivered', target: 'sqlite', mappingVersion: 'sha256:v2', legacyRef: 'CASE-1' });
      expect(aLast.detail.records).toEqual([{ key: 'a', from: 'delivering', legacyRef: 'CASE-1', confirmed: true, pii: { SURNAME: `hmac:${'0'.repeat(32)}` } }]);
      expect(bLast).toMatchObject({ event: 'rejected', detail: { records: [{ key: 'b', from: 'delivering', error: rejected }] } });
      expect((await ledger.history(p, 'b')).map((e) => e.event)).toEqual(['received', 'delivering', 'delivered', 'replayed', 'delivering', 'rejected']);
      expect((await audit.verify()).ok).toBe(true);
    });

    it('checks a runner’s outcome on a row that is not delivering as any move, writing nothing when illegal', async () => {
      const p = fresh();
      await ledger.receive(p, 'r', [sub('a'), sub('b')], RUNNER, { lease: { owner: 'me', leaseMs: 60_000 } });
      await ledger.apply(p, 'r', [{ key: 'a', to: 'delivering' }], RUNNER, { owner: 'me' });
      const moves = [
        { key: 'a', to: 'delivered' as const, legacyRef: 'CASE-1' },
        { key: 'b', to: 'delivered' as const, legacyRef: 'CASE-2' },
      ];
      await expect(ledger.apply(p, 'r', moves, RUNNER, { owner: 'me' })).rejects.toBeInstanceOf(LedgerTransitionError);
      expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivering', legacyRef: null, leaseOwner: 'me' });
      expect((await ledger.history(p, 'a')).map((e) => e.event)).toEqual(['received', 'delivering']);
    });
  });

  describe('operator actions', () => {
    it('retry sends dead and failed back to received with attempts reset; not delivered ones', async () => {
      const p = fresh();
      await putInState(p, 'dead1', 'dead');
      await putInState(p, 'fail1', 'failed');
      await putInState(p, 'done', 'delivered');
      await ledger.retry(p, ['dead1', 'fail1'], 'operator:alice');
      expect(await ledger.get(p, 'fail1')).toMatchObject({ state: 'received', attempts: 0, lastError: null });
      const last = (await ledger.history(p, 'dead1')).at(-1)!;
      expect(last).toMatchObject({ event: 'retried', actor: 'operator:alice' });
      await expect(ledger.retry(p, 'done', 'operator:alice')).rejects.toBeInstanceOf(LedgerTransitionError);
      await expect(ledger.retry(p, 'done', 'operator:alice')).rejects.toMatchObject({ code: 'LEDGER_ACTION_REFUSED', disposition: 'reject', message: 'submission "done" cannot move from delivered to received' });
      expect((await ledger.get(p, 'done'))?.state).toBe('delivered');
    });

    it('discard needs a reason and a dead row; replay takes delivered or rejected', async () => {
      const p = fresh();
      await putInState(p, 'dead1', 'dead');
      await putInState(p, 'done', 'delivered');
      await expect(ledger.discard(p, 'dead1', '  ', 'operator:bob')).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
      await expect(ledger.discard(p, 'done', 'why', 'operator:bob')).rejects.toBeInstanceOf(LedgerTransitionError);
      await ledger.discard(p, 'dead1', 'duplicate of case 77', 'operator:bob');
      expect((await ledger.history(p, 'dead1')).at(-1)).toMatchObject({ event: 'discarded', actor: 'operator:bob', detail: { reason: 'duplicate of case 77' } });
      await ledger.replay(p, 'done', 'operator:bob');
      expect((await ledger.get(p, 'done'))?.state).toBe('received');
      expect((await ledger.history(p, 'done')).at(-1)).toMatchObject({ event: 'replayed', actor: 'operator:bob' });
      await expect(ledger.replay(p, 'dead1', 'operator:bob')).rejects.toBeInstanceOf(LedgerTransitionError);
      await expect(ledger.replay(p, 'nope', 'operator:bob')).rejects.toBeInstanceOf(PipelineError);
    });
  });

  it('lists, counts and pages rows', async () => {
    const p = fresh();
    await ledger.receive(p, null, ['a', 'b', 'c', 'd'].map((k) => sub(k)), RUNNER);
    await ledger.apply(p, null, [{ key: 'b', to: 'rejected', error: { ...ERR, disposition: 'reject' } }, { key: 'c', to: 'mapped' }], RUNNER);
    expect((await ledger.list(p, { limit: 2 })).map((r) => r.key)).toEqual(['a', 'b']);
    expect((await ledger.list(p, { limit: 2, offset: 2 })).map((r) => r.key)).toEqual(['c', 'd']);
    expect((await ledger.list(p, { states: ['rejected', 'mapped'], limit: 10 })).map((r) => r.key)).toEqual(['b', 'c']);
    expect((await ledger.counts(p))[p]).toEqual({ received: 2, mapped: 1, delivering: 0, failed: 0, delivered: 0, rejected: 1, dead: 0, discarded: 0 });
    expect(Object.keys(await ledger.counts())).toContain(p);
    expect(await ledger.pipelines()).toContain(p);
  });

  it('records runs with their summaries, audited', async () => {
    const p = fresh();
    const run = await ledger.startRun(p, RUNNER, 'sha256:map');
    const summary = { read: 3, receivedNew: 2, duplicates: 1, conflicts: 0, unreadable: 0, rejected: 0, delivered: 2, failed: 0, dead: 0 };
    await ledger.finishRun(run, summary);
    const [r] = await ledger.runs(p, 5);
    expect(r).toMatchObject({ id: run, pipeline: p, actor: RUNNER, mappingVersion: 'sha256:map', summary });
    expect(r?.finishedAt).toBeInstanceOf(Date);
    await expect(ledger.finishRun('no-such-run', summary)).rejects.toMatchObject({ code: 'LEDGER_UNKNOWN_RUN' });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('audits a changed pipeline definition or mapping when a run starts, and nothing when neither changed', async () => {
    const p = fresh();
    const events = async (from: number) =>
      (await ts.store.select<{ event: string; detail: string }>('SELECT event, detail FROM audit_log WHERE pipeline = $1 AND seq > $2 ORDER BY seq', [p, from])).map(
        (r) => [r.event, (({ from: f, to }) => (to === undefined ? undefined : { from: f, to }))(JSON.parse(r.detail) as { from?: string; to?: string })],
      );
    let seq = (await audit.head()).seq;
    await ledger.startRun(p, RUNNER, 'sha256:m1', 'sha256:d1');
    expect(await events(seq)).toEqual([
      ['pipeline-changed', { from: null, to: 'sha256:d1' }],
      ['mapping-changed', { from: null, to: 'sha256:m1' }],
      ['run-started', undefined],
    ]);
    seq = (await audit.head()).seq;
    await ledger.startRun(p, RUNNER, 'sha256:m1', 'sha256:d1');
    expect(await events(seq)).toEqual([['run-started', undefined]]);
    seq = (await audit.head()).seq;
    await ledger.startRun(p, RUNNER, 'sha256:m2', 'sha256:d1');
    expect(await events(seq)).toEqual([
      ['mapping-changed', { from: 'sha256:m1', to: 'sha256:m2' }],
      ['run-started', undefined],
    ]);
    seq = (await audit.head()).seq;
    await ledger.startRun(p, RUNNER, 'sha256:m2', 'sha256:d2');
    expect(await events(seq)).toEqual([
      ['pipeline-changed', { from: 'sha256:d1', to: 'sha256:d2' }],
      ['run-started', undefined],
    ]);
  });

  it('compares with the run just before even when runs start in the same millisecond', async () => {
    const p = fresh();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2026-11-24T09:00:00.000Z'));
      const froms: (string | null)[] = [];
      for (const v of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']) {
        const seq = (await audit.head()).seq;
        await ledger.startRun(p, RUNNER, `sha256:${v}`, 'sha256:d1');
        const [changed] = await ts.store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE pipeline = $1 AND seq > $2 AND event = 'mapping-changed'", [p, seq]);
        froms.push((JSON.parse(changed!.detail) as { from: string | null }).from);
      }
      expect(froms).toEqual([null, 'sha256:m1', 'sha256:m2', 'sha256:m3', 'sha256:m4', 'sha256:m5']);
      const starts = (await ledger.runs(p)).map((r) => r.startedAt.toISOString());
      expect(new Set(starts).size).toBe(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps PII out of the audit log: only keyed hashes pass', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
    const hash = 'hmac:0123456789abcdef0123456789abcdef';
    await ledger.apply(p, null, [{ key: 'a', to: 'mapped', detail: { pii: { SURNAME: hash } } }], RUNNER);
    expect((await ledger.history(p, 'a')).at(-1)?.detail.records?.[0]?.pii).toEqual({ SURNAME: hash });
    const before = await audit.head();
    await expect(ledger.apply(p, null, [{ key: 'b', to: 'mapped', detail: { pii: { SURNAME: 'Smith-Jones' } } }], RUNNER)).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
    });
    expect(await audit.head()).toEqual(before);
    expect((await ledger.get(p, 'b'))?.state).toBe('received');
    const text = (await ts.store.select<{ detail: string }>('SELECT detail FROM audit_log')).map((r) => r.detail).join('\n');
    expect(text).not.toContain('Smith-Jones');
  });

  it('takes a group field’s PII as one keyed hash per child row, and no value among them', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
    const hashes = ['hmac:0123456789abcdef0123456789abcdef', 'hmac:fedcba9876543210fedcba9876543210'];
    await ledger.apply(p, null, [{ key: 'a', to: 'mapped', detail: { pii: { SURNAME: hashes[0]!, 'PREV_ADDR.POSTCODE': hashes } } }], RUNNER);
    expect((await ledger.history(p, 'a')).at(-1)?.detail.records?.[0]?.pii).toEqual({ SURNAME: hashes[0], 'PREV_ADDR.POSTCODE': hashes });
    const leaky = { key: 'b', to: 'mapped' as const, detail: { pii: { 'PREV_ADDR.POSTCODE': [hashes[0]!, 'SW1A 1AA'] } } };
    await expect(ledger.apply(p, null, [leaky], RUNNER)).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
      message: 'audit record for "b": PII field PREV_ADDR.POSTCODE must be a piiHash (hmac:...), never a value',
    });
    expect((await ledger.get(p, 'b'))?.state).toBe('received');
  });
});
