import { describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { PATH, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import type { LedgerState } from './ledger.types.js';

describe.each(TEST_DIALECTS)('cases ready for a route that waits, on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const fresh = pipelineNames();

  async function moveTo(p: string, key: string, state: LedgerState): Promise<void> {
    for (const to of PATH[state]) {
      const error = to === 'rejected' ? { code: 'X', disposition: 'reject' as const, message: 'no' } : undefined;
      await env.ledger.apply(p, null, [{ key, to, ...(error ? { error } : {}) }], 'runner:test');
    }
  }

  it('names a key once every awaited lane holding it has it delivered, and not once the waiting lane holds it', async () => {
    const p = fresh();
    const [a, b, w] = [`${p}~a`, `${p}~b`, `${p}~w`];
    const start = new Date(Date.now() - 1000);
    await env.ledger.receive(a, null, ['k1', 'k2', 'k3', 'k4'].map((k) => sub(k)), 'runner:test');
    await env.ledger.receive(b, null, ['k1', 'k2', 'k3'].map((k) => sub(k)), 'runner:test');
    await moveTo(a, 'k1', 'delivered');
    await moveTo(b, 'k1', 'delivered');
    await moveTo(a, 'k2', 'delivered');
    await moveTo(b, 'k2', 'rejected');
    await moveTo(a, 'k3', 'delivered');
    await moveTo(a, 'k4', 'delivered');
    const ready = await env.ledger.readyCases([a, b], w, start, 10);
    expect(ready.map((r) => r.key).sort()).toEqual(['k1', 'k4']);
    expect(ready.find((r) => r.key === 'k4')?.lane).toBe(a);
    expect(await env.ledger.readyCases([a, b], w, new Date(Date.now() + 60_000), 10)).toEqual([]);
    await env.ledger.receive(w, null, [sub('k1')], 'runner:test');
    expect((await env.ledger.readyCases([a, b], w, start, 10)).map((r) => r.key)).toEqual(['k4']);
    expect(await env.ledger.readyCases([a, b], w, start, 1)).toHaveLength(1);
  });
});
