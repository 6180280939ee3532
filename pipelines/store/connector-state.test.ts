import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore } from './state-store.js';
import { connectorState } from './connector-state.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from './store.test-helpers.js';

describe.each(TEST_DIALECTS)('connector state on %s', (dialect) => {
  let ts: TestStore;
  afterEach(() => ts.dispose());

  it('keeps values per pipeline: set, get, overwrite, list by prefix in name order, delete', async () => {
    ts = await openTestStore(dialect);
    const a = connectorState(ts.store, 'a');
    const b = connectorState(ts.store, 'b');
    expect(await a.get('file:000002')).toBeUndefined();
    await a.set('file:000002', '{"n":2}');
    await a.set('file:000001', '{"n":1}');
    await a.set('other', 'x');
    await b.set('file:000001', 'b1');
    await a.set('file:000002', '{"n":22}');
    expect(await a.get('file:000002')).toBe('{"n":22}');
    expect(await a.list('file:')).toEqual([
      { name: 'file:000001', value: '{"n":1}' },
      { name: 'file:000002', value: '{"n":22}' },
    ]);
    expect(await b.list('')).toEqual([{ name: 'file:000001', value: 'b1' }]);
    await a.delete('file:000001');
    expect(await a.list('file:')).toEqual([{ name: 'file:000002', value: '{"n":22}' }]);
    expect(await b.get('file:000001')).toBe('b1');
  });

  it('hands out sequence numbers once each, concurrently and after the store is reopened', async () => {
    ts = await openTestStore(dialect);
    const a = connectorState(ts.store, 'a');
    const got = await Promise.all(Array.from({ length: 20 }, () => a.next('seq')));
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await connectorState(ts.store, 'b').next('seq')).toBe(1);
    const again = await openStateStore(ts.url);
    try {
      expect(await connectorState(again, 'a').next('seq')).toBe(21);
    } finally {
      await again.close();
    }
    expect(await a.get('seq')).toBe('21');
  });
});
