import { describe, expect, it } from 'vitest';
import { PipelineCodes } from '../pipeline.errors.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { caseCounts, caseOf, caseState, resolveCase, routesOf } from './cases.js';
import { ERR, PATH, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import type { LedgerState } from './ledger.types.js';

const NO_ROUTE = { code: PipelineCodes.NO_ROUTE_APPLIES.code, disposition: 'reject' as const, message: 'no route applies: the condition of each route is false (a, b)' };
const REFUSED = { code: 'LEGACY_REFUSED', disposition: 'reject' as const, message: 'office says: unknown council' };

describe.each(TEST_DIALECTS)('cases of a routed pipeline on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const fresh = pipelineNames();

  async function moveTo(p: string, key: string, state: LedgerState, opts: { legacyRef?: string } = {}): Promise<void> {
    for (const to of PATH[state]) {
      const error = to === 'failed' || to === 'dead' ? ERR : to === 'rejected' ? REFUSED : undefined;
      await env.ledger.apply(p, null, [{ key, to, ...(error && { error }), ...(to === 'delivered' && opts.legacyRef && { legacyRef: opts.legacyRef }) }], 'runner:test', { mappingVersion: 'sha256:m' });
    }
  }

  /** Receives `key` into the lanes of `p` named in `states` and moves each to its state. */
  async function makeCase(p: string, key: string, states: Record<string, LedgerState>): Promise<void> {
    for (const [route, state] of Object.entries(states)) {
      await env.ledger.receive(`${p}~${route}`, null, [sub(key)], 'runner:test');
      await moveTo(`${p}~${route}`, key, state, { legacyRef: `${route.toUpperCase()}-${key.slice(-3)}` });
    }
  }

  it('knows the lanes of a pipeline and no other pipeline’s, whatever characters the names hold', async () => {
    const p = `${fresh()}_x`;
    await env.ledger.receive(`${p}~b`, null, [sub('f/1')], 'runner:test');
    await env.ledger.receive(`${p}~a`, null, [sub('f/1')], 'runner:test');
    await env.ledger.receive(p, null, [sub('f/2')], 'runner:test');
    // Look-alikes: `_` is a LIKE wildcard, and a name that only starts the same.
    await env.ledger.receive(`${p.replace('_', 'Q')}~c`, null, [sub('f/1')], 'runner:test');
    await env.ledger.receive(`${p}-2~d`, null, [sub('f/1')], 'runner:test');
    expect(await routesOf(env.ts.store, p)).toEqual([`${p}~a`, `${p}~b`]);
    expect(await routesOf(env.ts.store, `${p}-2`)).toEqual([`${p}-2~d`]);
    expect(await routesOf(env.ts.store, fresh())).toEqual([]);
  });

  it('gathers a key’s rows of every lane with state, attempts, legacy ref, error and mapping', async () => {
    const p = fresh();
    await makeCase(p, 'form/AAA111', { a: 'delivered', b: 'dead' });
    await env.ledger.receive(`${p}~c`, null, [sub('form/OTHER')], 'runner:test');
    const c = await caseOf(env.ts.store, p, 'form/AAA111');
    expect(c).toMatchObject({ pipeline: p, key: 'form/AAA111', state: 'needs-attention', notTold: ['c'], intake: null });
    expect(c!.routes.map(({ updatedAt: _, ...r }) => r)).toEqual([
      { route: 'a', pipeline: `${p}~a`, state: 'delivered', attempts: 1, legacyRef: 'A-111', error: null, mappingVersion: 'sha256:m' },
      { route: 'b', pipeline: `${p}~b`, state: 'dead', attempts: 1, legacyRef: null, error: { code: ERR.code, field: null, message: ERR.message }, mappingVersion: 'sha256:m' },
    ]);
    expect(c!.routes[0]!.updatedAt).toBeInstanceOf(Date);
    expect(await caseOf(env.ts.store, p, 'form/NOPE')).toBeUndefined();
  });

  it('derives the case state: not routed, needs attention, in progress, complete, closed', async () => {
    const p = fresh();
    await env.ledger.receive(p, null, [{ ...sub('f/none'), then: { to: 'rejected', error: NO_ROUTE } }], 'runner:test');
    await makeCase(p, 'f/done', { a: 'delivered', b: 'delivered' });
    await makeCase(p, 'f/one', { b: 'delivered' });
    await makeCase(p, 'f/rej', { a: 'delivered', b: 'rejected' });
    await makeCase(p, 'f/going', { a: 'delivered', b: 'failed' });
    await makeCase(p, 'f/half', { a: 'discarded', b: 'delivered' });
    await makeCase(p, 'f/shut', { a: 'discarded' });
    const states: Record<string, string | undefined> = {};
    for (const k of ['none', 'done', 'one', 'rej', 'going', 'half', 'shut']) states[k] = (await caseOf(env.ts.store, p, `f/${k}`))?.state;
    expect(states).toEqual({ none: 'not-routed', done: 'complete', one: 'complete', rej: 'needs-attention', going: 'in-progress', half: 'complete', shut: 'closed' });
    const rej = await caseOf(env.ts.store, p, 'f/rej');
    expect(rej!.routes[1]!.error).toEqual({ code: REFUSED.code, field: null, message: REFUSED.message });
    const none = await caseOf(env.ts.store, p, 'f/none');
    expect(none).toMatchObject({ state: 'not-routed', routes: [], notTold: ['a', 'b'], intake: { route: null, pipeline: p, state: 'rejected', error: { code: 'NO_ROUTE_APPLIES' } } });
    // The counts of `rekey status` agree with the state of each case.
    expect(await caseCounts(env.ts.store, p, await routesOf(env.ts.store, p))).toEqual({ 'not-routed': 1, complete: 3, 'needs-attention': 1, 'in-progress': 1, closed: 1 });
    expect(caseState([], { state: 'received' })).toBe('in-progress');
  });

  it('resolves a reference in the pipeline’s own ledger or any lane, to one key', async () => {
    const p = fresh();
    await env.ledger.receive(p, null, [{ ...sub('form/ZZZ999'), then: { to: 'rejected', error: NO_ROUTE } }], 'runner:test');
    await makeCase(p, 'form/ABC123', { a: 'delivered', b: 'delivered' });
    await makeCase(p, 'form/ABD456', { b: 'delivered' });
    const store = env.ts.store;
    expect(await resolveCase(store, p, 'form/ABC123')).toBe('form/ABC123');
    expect(await resolveCase(store, p, 'abc123')).toBe('form/ABC123');
    expect(await resolveCase(store, p, 'A-123')).toBe('form/ABC123');
    expect(await resolveCase(store, p, 'B-456')).toBe('form/ABD456');
    expect(await resolveCase(store, p, 'ZZZ9')).toBe('form/ZZZ999');
    await expect(resolveCase(store, p, 'AB')).rejects.toMatchObject({ code: PipelineCodes.SUBMISSION_AMBIGUOUS.code });
    await expect(resolveCase(store, p, 'QQQ')).rejects.toMatchObject({ code: PipelineCodes.SUBMISSION_NOT_FOUND.code });
  });
});
