import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { CodedError } from '../../lib/errors.js';
import { compileRouteCondition } from '../../mappings/route-condition.js';
import { loadMapping, type Condition } from '../../mappings/index.js';
import { readMappingText } from '../audit/mapping-texts.js';
import type { Source } from '../../connectors/connector.types.js';
import { arraySource, submission, testMapping, testOptions, testPipeline, TestTarget } from './flow.test-helpers.js';
import { runRoutedPass, type FlowRoute, type RoutedPipeline } from './routes.js';
import { routedSummary } from './flow-pipeline.js';
import { PipelineCodes } from '../pipeline.errors.js';

let store: StateStore;
let ledger: Ledger;

beforeEach(async () => {
  store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-routes-')), 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(() => store.close());

const mapping = testMapping();
/** London postcodes (SW) go to the "london" route; every submission to "national". */
const LONDON: Condition = { answer: 'pc', matches: '^SW' };

function route(name: string, target: TestTarget, when?: Condition): FlowRoute {
  const r: FlowRoute = { name, flow: testPipeline(arraySource([]), target, { name: `death~${name}` }) };
  if (when) r.applies = compileRouteCondition(when, mapping);
  return r;
}

function routed(source: Source, routes: FlowRoute[]): RoutedPipeline {
  return { name: 'death', source, keyMapping: mapping, batchSize: 3, routes };
}

describe('a pass of a pipeline with routes', () => {
  it('tells each route only what it applies to, once, and a second pass tells nobody again', async () => {
    const national = new TestTarget();
    const london = new TestTarget();
    const bodies = [submission('AA2BB3CC', 'Smith', 'SW1A 1AA'), submission('DD4EE5FF', 'Jones', 'M1 1AE'), submission('GG6HH7JJ', 'Brown', 'SW19 5AE')];
    const p = routed(arraySource(bodies), [route('national', national), route('london', london, LONDON)]);
    const first = await runRoutedPass(p, ledger, testOptions());
    expect(first.intake).toMatchObject({ read: 3, receivedNew: 3, duplicates: 0, conflicts: 0, rejected: 0 });
    expect(first.told).toEqual({ national: 3, london: 2 });
    expect(first.routes.map((r) => [r.lane, r.result?.delivered, r.error])).toEqual([
      ['death~national', 3, undefined],
      ['death~london', 2, undefined],
    ]);
    expect([...national.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF', 'F/GG6HH7JJ']);
    expect([...london.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/GG6HH7JJ']);
    expect(await ledger.get('death~london', 'F/DD4EE5FF')).toBeNull();
    expect(await ledger.get('death', 'F/DD4EE5FF')).toBeNull();

    const again = await runRoutedPass(routed(arraySource(bodies), p.routes), ledger, testOptions());
    expect(again.intake).toMatchObject({ read: 3, receivedNew: 0, duplicates: 3 });
    expect(again.told).toEqual({ national: 0, london: 0 });
    expect(national.calls).toHaveLength(3);
    expect(london.calls).toHaveLength(2);
    expect(routedSummary(first)).toMatchObject({ read: 3, receivedNew: 3, delivered: 5, rejected: 0 });
  });

  it('records on each route which offices were told and which were not, by name only', async () => {
    const p = routed(arraySource([submission('DD4EE5FF', 'Jones', 'M1 1AE')]), [route('national', new TestTarget()), route('london', new TestTarget(), LONDON)]);
    await runRoutedPass(p, ledger, testOptions());
    const received = (await ledger.history('death~national', 'F/DD4EE5FF')).find((e) => e.event === 'received');
    expect(received?.detail.records?.[0]).toMatchObject({ key: 'F/DD4EE5FF', routes: { told: ['national'], notTold: ['london'], why: 'when' } });
    expect(JSON.stringify(received)).not.toContain('Jones');
  });

  it('rejects a submission no route applies to in the pipeline, naming the routes, and goes on with the rest', async () => {
    const london = new TestTarget();
    const p = routed(arraySource([submission('DD4EE5FF', 'Jones', 'M1 1AE'), submission('AA2BB3CC', 'Smith', 'SW1A 1AA')]), [route('london', london, LONDON)]);
    const r = await runRoutedPass(p, ledger, testOptions());
    expect(r.intake).toMatchObject({ read: 2, receivedNew: 2, rejected: 1 });
    const row = await ledger.get('death', 'F/DD4EE5FF');
    expect(row?.state).toBe('rejected');
    expect(row?.lastError).toEqual({ code: 'NO_ROUTE_APPLIES', disposition: 'reject', message: 'no route applies: the condition of each route is false (london)' });
    expect([...london.rows.keys()]).toEqual(['F/AA2BB3CC']);
    expect(await ledger.get('death~london', 'F/DD4EE5FF')).toBeNull();
  });

  it('routes again a NO_ROUTE_APPLIES an operator sent back, under the conditions as they are now', async () => {
    const london = new TestTarget();
    const north = new TestTarget();
    const body = submission('DD4EE5FF', 'Jones', 'M1 1AE');
    await runRoutedPass(routed(arraySource([body]), [route('london', london, LONDON)]), ledger, testOptions());
    await ledger.replay('death', 'F/DD4EE5FF', 'operator:ann');
    const widened = routed(arraySource([]), [route('london', london, LONDON), route('north', north, { answer: 'pc', matches: '^M' })]);
    const r = await runRoutedPass(widened, ledger, testOptions());
    expect(r.intake).toMatchObject({ read: 0, receivedNew: 1, rejected: 0 });
    expect(r.told).toEqual({ london: 0, north: 1 });
    expect([...north.rows.keys()]).toEqual(['F/DD4EE5FF']);
    const entry = await ledger.get('death', 'F/DD4EE5FF');
    expect([entry?.state, entry?.legacyRef]).toEqual(['delivered', 'routes:north']);
    expect((await ledger.get('death~north', 'F/DD4EE5FF'))?.state).toBe('delivered');
  });

  it('lets one route reject or stop while the others deliver', async () => {
    const rejecting = new TestTarget({ 'F/AA2BB3CC': { reject: 'no such account' } });
    const broken = new TestTarget();
    broken.connect = () => Promise.reject(new CodedError(PipelineCodes.STORE_UNAVAILABLE, 'the office database cannot be reached'));
    const fine = new TestTarget();
    const p = routed(arraySource([submission('AA2BB3CC'), submission('DD4EE5FF')]), [route('a', rejecting), route('b', broken), route('c', fine)]);
    const r = await runRoutedPass(p, ledger, testOptions());
    expect(r.routes.map((x) => [x.name, x.result?.delivered, x.result?.rejected, x.error?.code])).toEqual([
      ['a', 1, 1, undefined],
      ['b', undefined, undefined, 'STORE_UNAVAILABLE'],
      ['c', 2, 0, undefined],
    ]);
    expect((await ledger.get('death~a', 'F/AA2BB3CC'))?.state).toBe('rejected');
    expect((await ledger.get('death~b', 'F/AA2BB3CC'))?.state).toBe('received');
    expect([...fine.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF']);
    broken.connect = () => Promise.resolve();
    const later = await runRoutedPass(routed(arraySource([]), p.routes), ledger, testOptions());
    expect(later.routes.map((x) => [x.name, x.result?.delivered])).toEqual([
      ['a', 0],
      ['b', 2],
      ['c', 0],
    ]);
  });

  it("stores each route's own mapping text with the first batch it records, though the reading then fails and no route's pass runs", async () => {
    const postcodes = loadMapping('postcodes.yaml', ['mapping: postcodes', 'fields:', '  REF: { from: submission_reference, required: true }', '  POSTCODE: { answer: pc, transform: [postcode] }', ''].join('\n')).compiled!;
    const national = route('national', new TestTarget());
    const london = route('london', new TestTarget(), LONDON);
    london.flow = { ...london.flow, mapping: postcodes };
    // The first batch goes to the national office only; the export then breaks off after seven records (three batches recorded).
    const bodies = [...['AA2BB3CC', 'DD4EE5FF', 'GG6HH7JJ'].map((ref) => submission(ref, 'Smith', 'M1 1AE')), ...['KK8LL9MM', 'NN2PP3QQ', 'RR4SS5TT', 'VV6WW7XX'].map((ref) => submission(ref, 'Smith', 'SW1A 1AA'))];
    const source: Source = {
      async *read(ctx) {
        yield* arraySource(bodies).read(ctx);
        throw new CodedError(PipelineCodes.STORE_UNAVAILABLE, 'the export broke off');
      },
      close: async () => undefined,
    };
    // Sequential: the routes' own passes (which also store their texts as their runs start) would run after the reading.
    const p: RoutedPipeline = { ...routed(source, [national, london]), batchSize: 3, sequential: true };
    await expect(runRoutedPass(p, ledger, testOptions())).rejects.toThrow('the export broke off');
    expect(postcodes.version).not.toBe(mapping.version);
    expect(await readMappingText(store, postcodes.version)).toBe(postcodes.canonical);
    for (const [lane, m, key] of [['death~national', mapping, 'F/AA2BB3CC'], ['death~london', postcodes, 'F/RR4SS5TT']] as const) {
      const received = (await ledger.history(lane, key)).find((e) => e.event === 'received');
      expect(received?.mappingVersion).toBe(m.version);
      expect(await readMappingText(store, m.version)).toBe(m.canonical);
    }
  });

  it('counts a case whose content changed under the same key as a conflict, and tells no route of it', async () => {
    const target = new TestTarget();
    await runRoutedPass(routed(arraySource([submission('AA2BB3CC', 'Smith')]), [route('a', target)]), ledger, testOptions());
    const r = await runRoutedPass(routed(arraySource([submission('AA2BB3CC', 'Smyth')]), [route('a', target)]), ledger, testOptions());
    expect(r.intake).toMatchObject({ read: 1, receivedNew: 0, conflicts: 1 });
    expect(target.calls).toHaveLength(1);
  });
});

describe('delivering at admission', () => {
  /** The audit events of `key` in `lane`, and the state its `received` entry recorded it in. */
  async function story(lane: string, key: string): Promise<{ events: string[]; receivedAs: unknown }> {
    const entries = await ledger.history(lane, key);
    return { events: entries.map((e) => e.event), receivedAs: entries.find((e) => e.event === 'received')?.detail.records?.[0]?.state };
  }

  it('delivers what a route admits as it is admitted, without claiming it back, and rejects at admission what its mapping refuses', async () => {
    const a = new TestTarget();
    const b = new TestTarget();
    const bodies = [submission('AA2BB3CC'), submission('DD4EE5FF', ' '), submission('GG6HH7JJ', 'Brown', 'SW19 5AE')];
    const r = await runRoutedPass(routed(arraySource(bodies), [route('a', a), route('b', b, LONDON)]), ledger, testOptions());
    expect(r.routes.map((x) => [x.name, x.result?.delivered, x.result?.rejected])).toEqual([
      ['a', 2, 1],
      ['b', 2, 1],
    ]);
    expect(await story('death~a', 'F/AA2BB3CC')).toEqual({ events: ['received', 'delivered'], receivedAs: 'delivering' });
    expect(await story('death~b', 'F/GG6HH7JJ')).toEqual({ events: ['received', 'delivered'], receivedAs: 'delivering' });
    const refused = await ledger.get('death~a', 'F/DD4EE5FF');
    expect([refused?.state, refused?.lastError?.code]).toEqual(['rejected', 'MAPPING_RECORD_REJECTED']);
    expect((await story('death~a', 'F/DD4EE5FF')).events).toEqual(['received', 'rejected']);
    // The rejection is the route's pass's (its run's problems), the reception the reading's.
    const refusal = await ledger.history('death~a', 'F/DD4EE5FF');
    expect(refusal.map((e) => e.detail.runId)).toEqual([r.intake.runId, r.routes[0]!.result!.runId]);
    expect(a.calls.map((c) => [c.key, c.uncertain])).toEqual([
      ['F/AA2BB3CC', false],
      ['F/GG6HH7JJ', false],
    ]);
    const delivered = (await ledger.history('death~b', 'F/AA2BB3CC')).find((e) => e.event === 'delivered');
    expect(delivered).toMatchObject({ target: 'test', mappingVersion: mapping.version });
    expect(delivered?.detail.records?.[0]).toMatchObject({ sent: { fields: { SURNAME: expect.any(String) } } });
    expect(JSON.stringify(await ledger.history('death~a', 'F/AA2BB3CC'))).not.toContain('Smith');
  });

  it('hashes a value the routes of one case both send once for the case, and each route records its hash', async () => {
    const hashed: unknown[] = [];
    const opts = testOptions();
    const counted = testOptions({ piiHash: (v) => (hashed.push(v), opts.piiHash(v)) });
    const bodies = [submission('AA2BB3CC', 'Smith', 'SW1A 1AA'), submission('DD4EE5FF', 'Jones', 'M1 1AE'), submission('GG6HH7JJ', 'Smith', 'SW19 5AE')];
    const r = await runRoutedPass(routed(arraySource(bodies), [route('national', new TestTarget()), route('london', new TestTarget(), LONDON)]), ledger, counted);
    expect(r.routes.map((x) => x.result?.delivered)).toEqual([3, 2]);
    // Three fields sent per case: national's three cases hash 9 values; london's two cases are national's too, so nothing more.
    // 'Smith' is hashed twice: once per case (each case keeps its own hashes).
    expect(hashed.map(String).sort()).toEqual(['AA2BB3CC', 'DD4EE5FF', 'GG6HH7JJ', 'M1 1AE', 'SMITH', 'JONES', 'SMITH', 'SW1A 1AA', 'SW19 5AE'].sort());
    for (const ref of ['AA2BB3CC', 'GG6HH7JJ']) {
      const sent = async (lane: string) => (await ledger.history(lane, `F/${ref}`)).find((e) => e.event === 'delivered')?.detail.records?.find((x) => x.key === `F/${ref}`)?.sent as { fields: Record<string, string> };
      const [national, london] = [await sent('death~national'), await sent('death~london')];
      expect(london.fields).toEqual(national.fields);
      expect(london.fields.REF).toBe(opts.piiHash(ref));
      expect(london.fields.SURNAME).toBe(opts.piiHash('SMITH'));
      expect(london.fields.POSTCODE).toBe(opts.piiHash(ref === 'AA2BB3CC' ? 'SW1A 1AA' : 'SW19 5AE'));
    }
  });

  it('does not deliver at admission a route whose window is closed: it holds the submissions received and delivers them once it opens', async () => {
    const open = new TestTarget();
    const shut = new TestTarget();
    const closed = route('shut', shut);
    closed.flow.writeAllowed = () => false;
    closed.flow.nextWriteTime = () => new Date('2026-12-07T07:00:00.000Z');
    const bodies = [submission('AA2BB3CC'), submission('DD4EE5FF')];
    const first = await runRoutedPass(routed(arraySource(bodies), [route('open', open), closed]), ledger, testOptions());
    expect(first.routes.map((x) => [x.name, x.result?.delivered, x.result?.windowClosedUntil])).toEqual([
      ['open', 2, undefined],
      ['shut', 0, '2026-12-07T07:00:00.000Z'],
    ]);
    expect(shut.calls).toEqual([]);
    expect(await story('death~shut', 'F/AA2BB3CC')).toEqual({ events: ['received'], receivedAs: undefined });
    const rows = await store.select<{ state: string; lease_owner: string | null }>("SELECT state, lease_owner FROM ledger WHERE pipeline = 'death~shut'");
    expect(rows).toEqual([
      { state: 'received', lease_owner: null },
      { state: 'received', lease_owner: null },
    ]);
    closed.flow.writeAllowed = () => true;
    const later = await runRoutedPass(routed(arraySource([]), [route('open', open), closed]), ledger, testOptions());
    expect(later.routes.map((x) => [x.name, x.result?.delivered])).toEqual([
      ['open', 0],
      ['shut', 2],
    ]);
    expect(shut.calls.map((c) => c.key)).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF']);
    expect((await story('death~shut', 'F/AA2BB3CC')).events).toEqual(['received', 'delivering', 'delivered']);
  });

  it('lets a route that cannot keep up claim later what it could not take, without holding the reading or the other routes back', async () => {
    let read!: () => void;
    const allRead = new Promise<void>((resolve) => (read = resolve));
    const slow = new TestTarget();
    const deliver = slow.deliver.bind(slow);
    slow.deliver = async (batch, ctx) => {
      await allRead;
      return deliver(batch, ctx);
    };
    const fast = new TestTarget();
    const refs = ['AA', 'BB', 'CC', 'DD', 'EE', 'FF', 'GG', 'HH', 'JJ', 'KK', 'LL', 'MM', 'NN', 'PP', 'QQ'].map((x) => `${x}2BB3CC`);
    const source = arraySource(refs.map((ref) => submission(ref)));
    source.commit = async () => read();
    const r = await runRoutedPass(routed(source, [route('slow', slow), route('fast', fast)]), ledger, testOptions());
    expect(r.routes.map((x) => [x.name, x.result?.delivered])).toEqual([
      ['slow', 15],
      ['fast', 15],
    ]);
    // The slow route took four batches as they were admitted (two on their way to its target, two waiting); the fifth it claimed after the reading.
    const batches = [0, 3, 6, 9, 12].map((i) => refs.slice(i, i + 3).map((x) => `F/${x}`));
    expect(slow.batches).toEqual(batches);
    expect(await story('death~slow', batches[3]![0]!)).toEqual({ events: ['received', 'delivered'], receivedAs: 'delivering' });
    expect(await story('death~slow', batches[4]![0]!)).toEqual({ events: ['received', 'delivering', 'delivered'], receivedAs: undefined });
    expect(fast.batches.flat()).toEqual(batches.flat());
    expect([...slow.calls, ...fast.calls].every((c) => !c.uncertain)).toBe(true);
  });

  it('delivers once, checking first, what was admitted for delivery when the process died before delivering it', async () => {
    const a = new TestTarget();
    const b = new TestTarget();
    const routes = [route('a', a), route('b', b)];
    const bodies = [submission('AA2BB3CC'), submission('DD4EE5FF')];
    // Killed right after the batch was recorded in both lanes: nothing runs after that, so no lease is given back.
    const dies = new Proxy(ledger, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop === 'release') return () => Promise.resolve(0);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const killed = (point: string) => {
      if (point === 'after-receive') throw new Error('killed');
    };
    await expect(runRoutedPass(routed(arraySource(bodies), routes), dies, testOptions({ crash: killed }))).rejects.toThrow('killed');
    for (const lane of ['death~a', 'death~b']) expect((await ledger.get(lane, 'F/AA2BB3CC'))?.state).toBe('delivering');
    expect([a.calls, b.calls]).toEqual([[], []]);
    // Restarted once the dead runner's leases ran out.
    const afterLease = () => new Date(Date.now() + 120_000);
    const again = await runRoutedPass(routed(arraySource(bodies), routes), ledger, testOptions({ owner: 'runner:test:2', now: afterLease }));
    expect(again.intake).toMatchObject({ read: 2, receivedNew: 0, duplicates: 2 });
    expect(again.routes.map((x) => [x.name, x.result?.delivered])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    for (const t of [a, b]) expect(t.calls.map((c) => [c.key, c.uncertain])).toEqual([
      ['F/AA2BB3CC', true],
      ['F/DD4EE5FF', true],
    ]);
    for (const lane of ['death~a', 'death~b']) {
      const events = (await ledger.history(lane, 'F/DD4EE5FF')).map((e) => e.event);
      expect(events.filter((e) => e === 'received' || e === 'delivered')).toEqual(['received', 'delivered']);
    }
  });
});

describe('a route that waits for others (after:)', () => {
  it('is told of a case once every awaited route holding it has delivered it, once, under its own condition', async () => {
    const a = new TestTarget({ 'F/DD4EE5FF': { failTimes: 1 } });
    const london = new TestTarget();
    const citizen = new TestTarget();
    const notify: FlowRoute = { ...route('notify', citizen, { answer: 'nm.last_name', notEquals: 'Nobody' }), after: ['a', 'london'] };
    const bodies = [submission('AA2BB3CC', 'Smith', 'SW1A 1AA'), submission('DD4EE5FF', 'Jones', 'M1 1AE'), submission('GG6HH7JJ', 'Nobody', 'M2 2AA')];
    // Route a retries a minute later, so its failure stands until the test makes it due.
    const slow = route('a', a);
    slow.flow.retryDelay = () => 60_000;
    const routes = [slow, route('london', london, LONDON), notify];
    const first = await runRoutedPass(routed(arraySource(bodies), routes), ledger, testOptions({ retryWaitMs: 0 }));
    // DD4EE5FF failed once on route a: its case is not finished, so the citizen is not told yet; GG6HH7JJ's condition is false.
    expect(first.told).toEqual({ a: 3, london: 1, notify: 1 });
    expect([...citizen.rows.keys()]).toEqual(['F/AA2BB3CC']);
    const history = await ledger.history('death~notify', 'F/AA2BB3CC');
    expect(history.find((e) => e.event === 'received')?.detail.records?.[0]).toMatchObject({ routes: { told: ['notify'], after: ['a', 'london'] } });
    await store.exec("UPDATE ledger SET next_attempt_at = NULL WHERE pipeline = 'death~a'");
    const second = await runRoutedPass(routed(arraySource(bodies), routes), ledger, testOptions());
    expect(second.told).toEqual({ a: 0, london: 0, notify: 1 });
    expect([...citizen.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF']);
    const third = await runRoutedPass(routed(arraySource(bodies), routes), ledger, testOptions());
    expect(third.told).toEqual({ a: 0, london: 0, notify: 0 });
    expect(citizen.calls).toHaveLength(2);
  });

  it('is not told of a case an awaited route rejected', async () => {
    const citizen = new TestTarget();
    const routes = [route('a', new TestTarget({ 'F/AA2BB3CC': { reject: 'no such licence' } })), route('b', new TestTarget()), { ...route('notify', citizen), after: ['a', 'b'] }];
    const r = await runRoutedPass(routed(arraySource([submission('AA2BB3CC')]), routes), ledger, testOptions());
    expect(r.told).toEqual({ a: 1, b: 1, notify: 0 });
    expect(citizen.calls).toHaveLength(0);
  });
});
