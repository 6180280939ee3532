import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ctx, MappedRecord, Outcome, Target } from '../../connectors/connector.types.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { runPass } from './pass.js';
import { arraySource, submission, testOptions, testPipeline } from './flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

/** A target that writes records into an open "file" and makes it visible only on flush, numbered from its connector state. */
class HoldingTarget implements Target {
  open: MappedRecord[] = [];
  readonly files: { name: string; keys: string[] }[] = [];
  failFlush = false;
  flushWait = 0;
  seenState = false;
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    this.seenState ||= ctx.state !== undefined;
    this.open.push(...batch);
    return batch.map((r) => ({ key: r.key, status: 'held' }));
  }
  async flush(ctx: Ctx): Promise<Outcome[]> {
    if (this.flushWait) await new Promise((ok) => setTimeout(ok, this.flushWait));
    if (this.failFlush) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    if (!this.open.length) return [];
    const name = `DROP_${String(await ctx.state!.next('seq')).padStart(4, '0')}.dat`;
    this.files.push({ name, keys: this.open.map((r) => r.key) });
    const out = this.open.map((r, i): Outcome => ({ key: r.key, status: 'delivered', legacyRef: `${name}#${i + 1}` }));
    this.open = [];
    return out;
  }
}

let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-held-')), 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(() => store.close());

const refs = ['AA2BB3CC', 'DD4EE5FF', 'GG6HH7JJ', 'KK8LL9MM', 'NN2PP3QQ'];

describe('a target that holds records until it flushes', () => {
  it('gets its connector state, and its records are delivered only by the flush at the end of the pass', async () => {
    const target = new HoldingTarget();
    const r = await runPass(testPipeline(arraySource(refs.map((x) => submission(x))), target), ledger, testOptions());
    expect(r).toMatchObject({ read: 5, receivedNew: 5, delivered: 5, failed: 0 });
    expect(target.seenState).toBe(true);
    expect(target.files).toEqual([{ name: 'DROP_0001.dat', keys: refs.map((x) => `F/${x}`) }]);
    expect((await ledger.get('flow-test', 'F/GG6HH7JJ'))?.legacyRef).toBe('DROP_0001.dat#3');
    const again = await runPass(testPipeline(arraySource([submission('RR4SS5TT')]), target), ledger, testOptions());
    expect(again.delivered).toBe(1);
    expect(target.files[1]).toEqual({ name: 'DROP_0002.dat', keys: ['F/RR4SS5TT'] });
  });

  it('leaves held records delivering when the flush fails, and the next pass takes them as uncertain', async () => {
    const target = new HoldingTarget();
    target.failFlush = true;
    await expect(runPass(testPipeline(arraySource(refs.slice(0, 2).map((x) => submission(x))), target), ledger, testOptions())).rejects.toThrow('disk full');
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('delivering');
    expect(await ledger.leaseOwners('flow-test')).toEqual([]);
    target.failFlush = false;
    target.open = [];
    const seen: boolean[] = [];
    const deliver = target.deliver.bind(target);
    target.deliver = async (batch, ctx) => {
      seen.push(...batch.map((b) => b.uncertain));
      return deliver(batch, ctx);
    };
    const r = await runPass(testPipeline(arraySource([]), target), ledger, testOptions());
    expect(r.delivered).toBe(2);
    expect(seen).toEqual([true, true]);
    expect(target.files).toEqual([{ name: 'DROP_0001.dat', keys: ['F/AA2BB3CC', 'F/DD4EE5FF'] }]);
  });

  it('records the outcomes of a flushed file a batch at a time, and a crash between batches leaves the rest to be checked', async () => {
    const target = new HoldingTarget();
    let hits = 0;
    // Hits 1 to 3 are the three batches written into the open file; hit 4 is the flush's first part recorded.
    const crash = (point: string) => {
      if (point === 'after-ledger-delivered' && ++hits === 4) throw new Error('killed after the first part');
    };
    const pipeline = testPipeline(arraySource(refs.map((x) => submission(x))), target, { batchSize: 2 });
    await expect(runPass(pipeline, ledger, testOptions({ crash }))).rejects.toThrow('killed after the first part');
    const states = await Promise.all(refs.map(async (x) => (await ledger.get('flow-test', `F/${x}`))?.state));
    expect(states).toEqual(['delivered', 'delivered', 'delivered', 'delivered', 'delivering']);
    const entries = await store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'delivered' ORDER BY seq");
    expect(entries.map((e) => (JSON.parse(e.detail) as { keys: string[] }).keys)).toEqual([
      ['F/AA2BB3CC', 'F/DD4EE5FF'],
      ['F/GG6HH7JJ', 'F/KK8LL9MM'],
    ]);
    const seen: [string, boolean][] = [];
    const deliver = target.deliver.bind(target);
    target.deliver = async (batch, ctx) => {
      seen.push(...batch.map((b): [string, boolean] => [b.key, b.uncertain]));
      return deliver(batch, ctx);
    };
    const again = await runPass(testPipeline(arraySource([]), target, { batchSize: 2 }), ledger, testOptions());
    expect(again.delivered).toBe(1);
    expect(seen).toEqual([['F/NN2PP3QQ', true]]);
    expect(await Promise.all(refs.map(async (x) => (await ledger.get('flow-test', `F/${x}`))?.state))).toEqual(refs.map(() => 'delivered'));
  });

  it('keeps its leases alive while a slow flush runs', async () => {
    const target = new HoldingTarget();
    target.flushWait = 2600;
    const leaseMs = 1500;
    let latest = 0;
    const watch = setInterval(() => {
      void store.select<{ lease_until: string | null }>("SELECT lease_until FROM ledger WHERE key = 'F/AA2BB3CC'").then(([row]) => {
        if (row?.lease_until) latest = Math.max(latest, Date.parse(row.lease_until));
      });
    }, 200);
    const started = Date.now();
    try {
      const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC')]), target), ledger, testOptions({ leaseMs }));
      expect(r.delivered).toBe(1);
    } finally {
      clearInterval(watch);
    }
    expect(latest).toBeGreaterThan(started + leaseMs + 900);
  });

  it('is a fatal error for a target to hold records without a flush', async () => {
    const target = new HoldingTarget();
    Object.defineProperty(target, 'flush', { value: undefined });
    await expect(runPass(testPipeline(arraySource([submission('AA2BB3CC')]), target), ledger, testOptions())).rejects.toMatchObject({
      code: 'TARGET_HELD_WITHOUT_FLUSH',
      disposition: 'fatal',
    });
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('delivering');
  });
});
