import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { openTestStore, pgSkipReason, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { Ledger } from './ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const items = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, contentHash: `h${i}`, body: { i }, source: 't' }));

describe.each(TEST_DIALECTS)('two runners on one %s state store', (dialect) => {
  let ts: TestStore | undefined;
  let other: StateStore | undefined;
  afterEach(async () => {
    await other?.close();
    await ts?.dispose();
  });

  async function twoLedgers(): Promise<[Ledger, Ledger]> {
    ts = await openTestStore(dialect);
    other = await openStateStore(ts.url);
    return [new Ledger(ts.store, new AuditLog(ts.store), TEST_KEYS), new Ledger(other, new AuditLog(other), TEST_KEYS)];
  }

  it('never lease the same submission twice', async () => {
    const [a, b] = await twoLedgers();
    await a.receive('p', null, items('k', 600), 'runner:a:1');
    const seen: string[] = [];
    for (let round = 0; round < 8; round++) {
      const [x, y] = await Promise.all([a.claim('p', 'runner:a:1', 50, 60_000), b.claim('p', 'runner:b:1', 50, 60_000)]);
      seen.push(...x.map((c) => c.key), ...y.map((c) => c.key));
    }
    expect(seen).toHaveLength(600);
    expect(new Set(seen).size).toBe(600);
  });

  it('never fork the audit chain, and judge a key received by both once', async () => {
    const [a, b] = await twoLedgers();
    const work = [];
    for (let i = 0; i < 10; i++) {
      work.push(a.receive('p', null, items(`a${i}-`, 40), 'runner:a:1'));
      work.push(b.receive('p', null, items(`b${i}-`, 40), 'runner:b:1'));
      work.push(a.receive('p', null, items('same-', 20), 'runner:a:1'), b.receive('p', null, items('same-', 20), 'runner:b:1'));
    }
    const outcomes = (await Promise.all(work)).flat();
    expect(outcomes.filter((o) => o === 'new')).toHaveLength(800 + 20);
    expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(0);
    const verified = await a.audit.verify({ pageSize: 7 });
    expect(verified).toMatchObject({ ok: true });
    const keys = await a.store.select<{ n: number | string }>("SELECT COUNT(*) AS n FROM audit_keys k JOIN ledger l ON l.id = k.ledger_id WHERE l.key LIKE 'same-%'");
    expect(Number(keys[0]?.n)).toBe(20 * 20);
  });
});

describe.skipIf(pgSkipReason !== null)('a runner’s heartbeat on PostgreSQL', () => {
  let ts: TestStore | undefined;
  let other: StateStore | undefined;
  afterEach(async () => {
    await other?.close();
    await ts?.dispose();
  });

  it('skips rows another transaction holds locked instead of waiting, so it cannot deadlock with the recording of outcomes', async () => {
    ts = await openTestStore('postgres');
    other = await openStateStore(ts.url);
    const ledger = new Ledger(ts.store, new AuditLog(ts.store), TEST_KEYS);
    await ledger.receive('p', null, items('k', 3), 'runner:a:1');
    expect(await ledger.claim('p', 'runner:a:1', 3, 60_000)).toHaveLength(3);
    // As the recording of a batch does: its rows locked one by one in the batch's order, here k2 and k1 first, k0 last.
    const lock = (key: string, t: Parameters<Parameters<StateStore['transaction']>[0]>[0]) => other!.select('SELECT key FROM ledger WHERE pipeline = $1 AND key = $2 FOR UPDATE', ['p', key], t);
    const renewed = await other.transaction(async (t) => {
      await lock('k2', t);
      await lock('k1', t);
      // A heartbeat that waited for k1 and k2 would never return here (and had it locked k0 first, the next lock would deadlock).
      const n = await ledger.renew('p', 'runner:a:1', 120_000);
      await lock('k0', t);
      return n;
    });
    expect(renewed).toBe(1);
    expect(await ledger.renew('p', 'runner:a:1', 120_000)).toBe(3);
  });
});
