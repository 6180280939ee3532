import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ctx, MappedRecord, Outcome } from '../../connectors/connector.types.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { runPass } from './pass.js';
import { arraySource, submission, testOptions, testPipeline, TestTarget, type Behaviour } from './flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

let store: StateStore;
let ledger: Ledger;
let audit: AuditLog;

beforeEach(async () => {
  store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-bisect-')), 'state.sqlite')}`);
  audit = new AuditLog(store);
  ledger = new Ledger(store, audit, TEST_KEYS);
});
afterEach(() => store.close());

const refs = Array.from({ length: 10 }, (_, i) => `R${String(i).padStart(2, '0')}`);
const keys = refs.map((r) => `F/${r}`);
/** The test target's whole-batch failure, by code (how its message is kept is the ledger's business). */
const busy = { code: 'LEGACY_BUSY', disposition: 'retry' };

async function run(target: TestTarget, over: Parameters<typeof testPipeline>[2] = {}, seen?: Outcome['status'][][]) {
  // No wait before a retry: every failed record is due again at once, so each attempt claims the batch whole, whatever the clock does.
  const p = testPipeline(arraySource(refs.map((r) => submission(r))), target, { batchSize: 10, retryDelay: () => 0, ...over });
  return runPass(p, ledger, testOptions(seen ? { observe: { delivery: (d) => seen.push(d.outcomes.map((o) => o.status)) } } : {}));
}

function poisoned(...at: number[]): Record<string, Behaviour> {
  return Object.fromEntries(at.map((i) => [keys[i]!, { poison: true }]));
}

/** The test target, holding what goes through until its flush (as the file drop does). */
class HoldingTarget extends TestTarget {
  open: string[] = [];
  override async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    const out = await super.deliver(batch, ctx);
    if (out.every((o) => o.status === 'failed')) return out;
    this.open.push(...batch.map((r) => r.key));
    return batch.map((r) => ({ key: r.key, status: 'held' }));
  }
  async flush(): Promise<Outcome[]> {
    const out = this.open.map((key): Outcome => ({ key, status: 'delivered', legacyRef: `DROP#${key}` }));
    this.open = [];
    return out;
  }
}

async function states(): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await ledger.get('flow-test', k))!.state])));
}

async function deliveredEntries(key: string) {
  return (await ledger.history('flow-test', key)).filter((h) => h.event === 'delivered');
}

describe('a batch that fails as a whole with a retryable error', () => {
  it('is left whole on its first failure, then split in halves: the nine others delivered once, only the poison dead', async () => {
    const target = new TestTarget(poisoned(3));
    const seen: Outcome['status'][][] = [];
    const r = await run(target, {}, seen);
    expect(r).toMatchObject({ read: 10, delivered: 9, failed: 11, dead: 1, waitingRetry: 0 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5, 3, 2, 1, 1, 5, 1]);
    expect(target.batches[8]).toEqual([keys[3]]);
    expect([...target.rows.keys()].sort()).toEqual(keys.filter((_, i) => i !== 3));
    expect(await states()).toEqual(Object.fromEntries(keys.map((k, i) => [k, i === 3 ? 'dead' : 'delivered'])));
    expect(await ledger.get('flow-test', keys[3]!)).toMatchObject({ attempts: 3, lastError: busy });
    expect(await ledger.get('flow-test', keys[0]!)).toMatchObject({ attempts: 2, lastError: null });
    for (const k of keys.filter((_, i) => i !== 3)) {
      const d = await deliveredEntries(k);
      expect(d, k).toHaveLength(1);
      expect(d[0]!.detail.records?.[0]?.alreadyPresent, k).toBeUndefined();
    }
    expect((await deliveredEntries(keys[0]!))[0]!.detail.records?.[0]?.calls).toEqual([
      { size: 10, status: 'failed', code: 'LEGACY_BUSY' },
      { size: 5, status: 'failed', code: 'LEGACY_BUSY' },
      { size: 3, status: 'delivered' },
    ]);
    const failedAgain = (await ledger.history('flow-test', keys[3]!)).filter((h) => h.event === 'failed')[1]!;
    expect(failedAgain.detail.records?.[0]?.calls).toEqual([
      { size: 10, status: 'failed', code: 'LEGACY_BUSY' },
      { size: 5, status: 'failed', code: 'LEGACY_BUSY' },
      { size: 2, status: 'failed', code: 'LEGACY_BUSY' },
      { size: 1, status: 'failed', code: 'LEGACY_BUSY' },
    ]);
    expect(seen).toEqual(target.batches.map((b, i) => b.map(() => ([3, 6, 7].includes(i) ? 'delivered' : 'failed'))));
    expect((await audit.verify()).ok).toBe(true);
  });

  it('pins two poison records of one batch, each on its own', async () => {
    const target = new TestTarget(poisoned(2, 7));
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 8, dead: 2, waitingRetry: 0 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5, 3, 2, 1, 2, 5, 3, 2, 1, 2, 2, 1, 1]);
    expect([...target.rows.keys()].sort()).toEqual(keys.filter((_, i) => i !== 2 && i !== 7));
    expect(await states()).toEqual(Object.fromEntries(keys.map((k, i) => [k, i === 2 || i === 7 ? 'dead' : 'delivered'])));
    for (const k of keys.filter((_, i) => i !== 2 && i !== 7)) expect(await deliveredEntries(k), k).toHaveLength(1);
  });

  it('pins two poison neighbours at the bottom of the split, the deepest case the guard must let through', async () => {
    const target = new TestTarget(poisoned(0, 1));
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 8, dead: 2 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5, 3, 2, 1, 1, 1, 2, 5, 2, 1, 1]);
    expect(await states()).toEqual(Object.fromEntries(keys.map((k, i) => [k, i < 2 ? 'dead' : 'delivered'])));
  });

  it('splits at once when this failure is the last attempt', async () => {
    const target = new TestTarget(poisoned(9));
    const r = await run(target, { maxAttempts: 1 });
    expect(r).toMatchObject({ delivered: 9, dead: 1, failed: 0 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 5, 5, 3, 2, 1, 1]);
  });

  it('makes no more calls once the write window closes: what was not tried again keeps its failure', async () => {
    const target = new TestTarget(poisoned(9));
    const r = await run(target, { maxAttempts: 1, writeAllowed: () => target.batches.length < 2 });
    expect(r).toMatchObject({ delivered: 5, dead: 5 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 5]);
    expect(await ledger.get('flow-test', keys[5]!)).toMatchObject({ state: 'dead', lastError: busy });
  });

  it('does not storm a target that fails everything: a bounded split, then everything failed as before', async () => {
    const target = new TestTarget();
    target.busy = true;
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 0, failed: 20, dead: 10 });
    // Per attempt after the first: the whole batch, then ceil(log2 10) + 2 = 6 halves failing in a row, against 19 for a full split.
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5, 3, 2, 1, 1, 1, 10, 5, 3, 2, 1, 1, 1]);
    expect(await states()).toEqual(Object.fromEntries(keys.map((k) => [k, 'dead'])));
    expect(await ledger.get('flow-test', keys[9]!)).toMatchObject({ attempts: 3, lastError: busy });
  });

  it('never splits for a target that throws (it cannot be reached): one call per attempt, as before', async () => {
    const target = new TestTarget();
    target.down = true;
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 0, failed: 20, dead: 10 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 10]);
  });

  it('leaves a record that fails alone in its batch to the retry: nothing to split', async () => {
    const target = new TestTarget({ [keys[4]!]: { alwaysFail: true } });
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 9, dead: 1 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 1, 1]);
  });

  it('sends an uncertain record uncertain in every part, so the target probes each time', async () => {
    const target = new TestTarget(poisoned(1));
    await ledger.receive('flow-test', 'run-0', keys.slice(0, 3).map((key, i) => ({ key, contentHash: `sha256:${i}`, body: submission(refs[i]!), source: 't' })), 'runner:test:9');
    await ledger.claim('flow-test', 'runner:other-host:1', 10, 60_000);
    await ledger.apply('flow-test', 'run-0', keys.slice(0, 3).map((key) => ({ key, to: 'delivering' as const })), 'runner:other-host:1', {});
    await ledger.release('flow-test', 'runner:other-host:1');
    const r = await runPass(testPipeline(arraySource([]), target, { batchSize: 10, maxAttempts: 1 }), ledger, testOptions());
    expect(r).toMatchObject({ delivered: 2, dead: 1 });
    expect(target.batches).toEqual([keys.slice(0, 3), keys.slice(0, 2), [keys[0]], [keys[1]], [keys[2]]]);
    expect(target.calls.filter((c) => c.key === keys[0]).map((c) => c.uncertain)).toEqual([true, true, true]);
  });

  it('takes parts the target holds to its flush, like any held record', async () => {
    const target = new HoldingTarget(poisoned(3));
    const r = await run(target);
    expect(r).toMatchObject({ delivered: 9, dead: 1 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 10, 5, 3, 2, 1, 1, 5, 1]);
    expect(await ledger.get('flow-test', keys[4]!)).toMatchObject({ state: 'delivered', legacyRef: `DROP#${keys[4]}` });
    expect(await states()).toEqual(Object.fromEntries(keys.map((k, i) => [k, i === 3 ? 'dead' : 'delivered'])));
  });

  it('makes no more calls once the pass is stopped', async () => {
    const target = new TestTarget(poisoned(9));
    const stop = new AbortController();
    const p = testPipeline(arraySource(refs.map((x) => submission(x))), target, { batchSize: 10, maxAttempts: 1 });
    const deliver = target.deliver.bind(target);
    target.deliver = async (batch, ctx) => {
      const out = await deliver(batch, ctx);
      if (target.batches.length === 2) stop.abort();
      return out;
    };
    const r = await runPass(p, ledger, testOptions({ signal: stop.signal }));
    expect(r).toMatchObject({ delivered: 5, dead: 5 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 5]);
  });

  it('stops splitting when the target throws in the middle (it went down): that part gets its error, the rest keep theirs', async () => {
    const target = new TestTarget(poisoned(3));
    const deliver = target.deliver.bind(target);
    target.deliver = async (batch, ctx) => {
      target.down = target.batches.length === 2;
      return deliver(batch, ctx);
    };
    const r = await run(target, { maxAttempts: 1 });
    expect(r).toMatchObject({ delivered: 0, dead: 10 });
    expect(target.batches.map((b) => b.length)).toEqual([10, 5, 3]);
    expect((await ledger.get('flow-test', keys[0]!))?.lastError).toMatchObject({ code: 'TARGET_UNAVAILABLE', disposition: 'retry' });
    expect((await ledger.get('flow-test', keys[3]!))?.lastError).toMatchObject(busy);
    expect((await ledger.get('flow-test', keys[9]!))?.lastError).toMatchObject(busy);
  });
});
