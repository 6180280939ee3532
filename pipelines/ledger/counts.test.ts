import { describe, expect, it } from 'vitest';
import { migrate, migrateDown } from '../store/migrate.js';
import { readInt } from '../store/sql.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { countsByState, FOLD_AFTER, zeroCounts } from './counts.js';
import type { StateCounts } from './ledger.js';
import { ERR, PATH, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import type { LedgerState } from './ledger.types.js';

describe.each(TEST_DIALECTS)('ledger counts kept by triggers on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const fresh = pipelineNames();

  /** The counts as COUNT(*) over the rows gives them: what `ledger_counts` must always equal. */
  async function truth(): Promise<Record<string, StateCounts>> {
    const rows = await env.ts.store.select<{ pipeline: string; state: LedgerState; n: number | string }>('SELECT pipeline, state, COUNT(*) AS n FROM ledger GROUP BY pipeline, state');
    const out: Record<string, StateCounts> = {};
    for (const r of rows) (out[r.pipeline] ??= zeroCounts())[r.state] = readInt(r.n);
    return out;
  }

  async function moveTo(p: string, key: string, state: LedgerState): Promise<void> {
    for (const to of PATH[state]) {
      const error = to === 'failed' || to === 'dead' ? ERR : to === 'rejected' ? { ...ERR, disposition: 'reject' as const } : undefined;
      await env.ledger.apply(p, null, [{ key, to, ...(error ? { error } : {}) }], 'runner:test');
    }
  }

  it('follows every move the ledger makes: receive, each state, claim, retry, discard, replay, removal', async () => {
    const p = fresh();
    const q = fresh();
    await env.ledger.receive(p, null, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => sub(k)), 'runner:test');
    await env.ledger.receive(q, null, [sub('x'), sub('y')], 'runner:test');
    await env.ledger.receive(p, null, [sub('a'), sub('z')], 'runner:test');
    expect(await countsByState(env.ts.store)).toEqual(await truth());
    expect((await env.ledger.counts(p))[p]).toEqual({ ...zeroCounts(), received: 9 });

    const states: LedgerState[] = ['mapped', 'delivering', 'delivered', 'failed', 'rejected', 'dead', 'discarded'];
    for (const [i, state] of states.entries()) await moveTo(p, 'abcdefg'[i]!, state);
    expect((await env.ledger.counts(p))[p]).toEqual({ received: 2, mapped: 1, delivering: 1, delivered: 1, failed: 1, rejected: 1, dead: 1, discarded: 1 });
    expect(await countsByState(env.ts.store)).toEqual(await truth());

    await env.ledger.claim(q, 'runner:test', 10, 60_000);
    await env.ledger.renew(q, 'runner:test', 60_000);
    await env.ledger.release(q, 'runner:test');
    await env.ledger.retry(p, 'f', 'operator:ann');
    await env.ledger.replay(p, 'c', 'operator:ann');
    expect(await countsByState(env.ts.store)).toEqual(await truth());

    await env.ts.store.exec(`DELETE FROM ledger_bodies WHERE id IN (SELECT id FROM ledger WHERE pipeline = $1)`, [q]);
    await env.ts.store.exec(`DELETE FROM ledger WHERE pipeline = $1`, [q]);
    const all = await countsByState(env.ts.store);
    expect(all).toEqual(await truth());
    expect(all[q]).toBeUndefined();
    expect(await countsByState(env.ts.store, [q])).toEqual({ [q]: zeroCounts() });
  });

  it('counts a statement that moves rows of several pipelines and states at once', async () => {
    const p = fresh();
    const q = fresh();
    await env.ledger.receive(p, null, ['a', 'b', 'c'].map((k) => sub(k)), 'runner:test');
    await env.ledger.receive(q, null, ['a', 'b'].map((k) => sub(k)), 'runner:test');
    await moveTo(p, 'a', 'dead');
    await env.ts.store.exec(`UPDATE ledger SET state = CASE WHEN state = 'dead' THEN 'discarded' ELSE 'rejected' END WHERE pipeline IN ($1, $2)`, [p, q]);
    await env.ts.store.exec(`UPDATE ledger SET attempts = attempts + 1 WHERE pipeline IN ($1, $2)`, [p, q]);
    expect(await countsByState(env.ts.store, [p, q])).toEqual({ [p]: { ...zeroCounts(), discarded: 1, rejected: 2 }, [q]: { ...zeroCounts(), rejected: 2 } });
    expect(await countsByState(env.ts.store)).toEqual(await truth());
  });

  it('rolls back with the transaction that changed the rows', async () => {
    const p = fresh();
    await env.ledger.receive(p, null, [sub('a')], 'runner:test');
    await expect(
      env.ts.store.transaction(async (t) => {
        await env.ts.store.exec(`UPDATE ledger SET state = 'dead' WHERE pipeline = $1`, [p], t);
        throw new Error('give up');
      }),
    ).rejects.toThrow('give up');
    expect((await countsByState(env.ts.store, [p]))[p]).toEqual({ ...zeroCounts(), received: 1 });
  });

  it('is filled from the rows already there when the migration runs', async () => {
    const p = fresh();
    await env.ledger.receive(p, null, ['a', 'b', 'c'].map((k) => sub(k)), 'runner:test');
    await moveTo(p, 'b', 'delivered');
    // Undo the migrations down to 0016 (later ones first), write a row without the triggers, then migrate again.
    const undone: string[] = [];
    while (undone.at(-1) !== '0016-ledger-counts' && undone.length < 20) undone.push((await migrateDown(env.ts.store))!);
    await env.ledger.receive(p, null, [sub('d')], 'runner:test');
    expect(await migrate(env.ts.store)).toEqual(undone.reverse());
    expect((await countsByState(env.ts.store, [p]))[p]).toEqual({ ...zeroCounts(), received: 3, delivered: 1 });
    expect(await countsByState(env.ts.store)).toEqual(await truth());
  });

  it.runIf(dialect === 'postgres')('keeps concurrent writers apart and folds piled-up deltas into one row per pipeline and state', async () => {
    const p = fresh();
    await Promise.all(Array.from({ length: 8 }, (_, w) => env.ledger.receive(p, null, Array.from({ length: 25 }, (_, i) => sub(`w${w}-${i}`)), `runner:w${w}`)));
    await Promise.all(Array.from({ length: 8 }, (_, w) => moveTo(p, `w${w}-0`, 'delivered')));
    expect((await countsByState(env.ts.store, [p]))[p]).toEqual({ ...zeroCounts(), received: 192, delivered: 8 });
    // Deltas that cancel out, for a pipeline with no rows: enough to make the next read fold.
    const ghost = fresh();
    const values = Array.from({ length: FOLD_AFTER }, (_, i) => `('${ghost}', 'received', ${i % 2 ? -1 : 1})`).join(', ');
    await env.ts.store.exec(`INSERT INTO ledger_counts (pipeline, state, n) VALUES ${values}`);
    const counts = await countsByState(env.ts.store);
    expect(counts).toEqual(await truth());
    expect(counts[ghost]).toBeUndefined();
    const [left] = await env.ts.store.select<{ rows: number | string; keys: number | string }>('SELECT COUNT(*) AS rows, COUNT(DISTINCT (pipeline, state)) AS keys FROM ledger_counts');
    expect(readInt(left!.rows)).toBe(readInt(left!.keys));
  });
});
