import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { runPass } from './pass.js';
import { arraySource, submission, TEST_PII_KEY, testOptions, testPipeline, TestTarget } from './flow.test-helpers.js';
import { piiHash } from '../audit/pii.js';
import { loadMapping } from '../../mappings/index.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

let store: StateStore;
let ledger: Ledger;
let audit: AuditLog;

beforeEach(async () => {
  store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-flow-')), 'state.sqlite')}`);
  audit = new AuditLog(store);
  ledger = new Ledger(store, audit, TEST_KEYS);
});
afterEach(() => store.close());

const zero = { read: 0, receivedNew: 0, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 0, delivered: 0, failed: 0, dead: 0, waitingRetry: 0 };

describe('a pass of a pipeline', () => {
  it('records, maps and delivers every submission once, and a second pass delivers nothing twice', async () => {
    const target = new TestTarget();
    const bodies = ['AA2BB3CC', 'DD4EE5FF', 'GG6HH7JJ', 'KK8LL9MM'].map((r) => submission(r));
    const source = arraySource(bodies);
    const first = await runPass(testPipeline(source, target), ledger, testOptions());
    expect(first).toEqual({ ...zero, runId: first.runId, read: 4, receivedNew: 4, delivered: 4 });
    expect([...target.rows.keys()]).toEqual(['F/AA2BB3CC', 'F/DD4EE5FF', 'F/GG6HH7JJ', 'F/KK8LL9MM']);
    expect(source.commits).toBe(1);
    const second = await runPass(testPipeline(arraySource(bodies), target), ledger, testOptions());
    expect(second).toEqual({ ...zero, runId: second.runId, read: 4, duplicates: 4 });
    expect(target.calls).toHaveLength(4);
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('delivered');
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.legacyRef).toBe('1');
  });

  it('rejects what the mapping rejects, never sending it to the target, and goes on with the rest', async () => {
    const target = new TestTarget();
    const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC'), submission('DD4EE5FF', '  ', 'SW1A 1ZZZ')]), target), ledger, testOptions());
    expect(r).toMatchObject({ read: 2, delivered: 1, rejected: 1 });
    expect(target.calls.map((c) => c.key)).toEqual(['F/AA2BB3CC']);
    const row = await ledger.get('flow-test', 'F/DD4EE5FF');
    expect(row?.state).toBe('rejected');
    expect(row?.lastError).toEqual({
      code: 'MAPPING_RECORD_REJECTED',
      disposition: 'reject',
      message: 'SURNAME (answer:nm.last_name): required: is required but was not given; POSTCODE (answer:pc): postcode: "SW1A 1ZZZ" is not a valid UK postcode',
    });
  });

  it('counts unreadable records and records the rest', async () => {
    const r = await runPass(testPipeline(arraySource([{ unreadable: 'not valid JSON' }, submission('AA2BB3CC')]), new TestTarget()), ledger, testOptions());
    expect(r).toMatchObject({ read: 1, unreadable: 1, delivered: 1 });
  });

  it('retries a transient failure with backoff and then delivers', async () => {
    const target = new TestTarget({ 'F/AA2BB3CC': { failTimes: 2 } });
    const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC')]), target), ledger, testOptions());
    expect(r).toMatchObject({ delivered: 1, failed: 2, dead: 0, waitingRetry: 0 });
    expect(target.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('delivered');
  });

  it('dead-letters a submission when its attempts are used up, with the last error', async () => {
    const target = new TestTarget({ 'F/AA2BB3CC': { alwaysFail: true } });
    const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC'), submission('DD4EE5FF')]), target), ledger, testOptions());
    expect(r).toMatchObject({ delivered: 1, failed: 2, dead: 1 });
    const row = await ledger.get('flow-test', 'F/AA2BB3CC');
    expect(row).toMatchObject({ state: 'dead', attempts: 3 });
    expect(row?.lastError).toEqual({ code: 'LEGACY_TIMEOUT', disposition: 'retry', message: 'the legacy system timed out' });
    expect(target.calls.filter((c) => c.key === 'F/AA2BB3CC')).toHaveLength(3);
  });

  it('leaves a failure waiting for a later pass when its retry is not due within the wait', async () => {
    const target = new TestTarget({ 'F/AA2BB3CC': { failTimes: 1 } });
    const p = testPipeline(arraySource([submission('AA2BB3CC')]), target, { retryDelay: () => 60_000 });
    const r = await runPass(p, ledger, testOptions());
    expect(r).toMatchObject({ delivered: 0, failed: 1, waitingRetry: 1 });
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('failed');
  });

  it('never retries a business rejection by the legacy system', async () => {
    const target = new TestTarget({ 'F/AA2BB3CC': { reject: 'Licence number already has an open case' } });
    const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC')]), target), ledger, testOptions());
    expect(r).toMatchObject({ rejected: 1, failed: 0 });
    expect(target.calls).toHaveLength(1);
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.lastError?.message).toBe('Licence number already has an open case');
  });

  it('treats a target that is down as a transient failure of the whole batch', async () => {
    const target = new TestTarget();
    target.down = true;
    const p = testPipeline(arraySource([submission('AA2BB3CC'), submission('DD4EE5FF')]), target, { retryDelay: () => 60_000 });
    const r = await runPass(p, ledger, testOptions());
    expect(r).toMatchObject({ failed: 2, waitingRetry: 2, delivered: 0 });
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.lastError).toEqual({ code: 'TARGET_UNAVAILABLE', disposition: 'retry', message: 'the batch failed: TARGET_UNAVAILABLE (ECONNREFUSED)' });
  });

  it('flags the same key with different content as a conflict and keeps the first', async () => {
    const target = new TestTarget();
    await runPass(testPipeline(arraySource([submission('AA2BB3CC', 'Smith')]), target), ledger, testOptions());
    const r = await runPass(testPipeline(arraySource([submission('AA2BB3CC', 'Jones')]), target), ledger, testOptions());
    expect(r).toMatchObject({ conflicts: 1, delivered: 0 });
    expect(target.rows.get('F/AA2BB3CC')?.SURNAME).toBe('SMITH');
  });

  it('delivers nothing while the write window is closed, and keeps the submissions', async () => {
    const target = new TestTarget();
    const opens = new Date('2026-11-24T07:00:00Z');
    const p = testPipeline(arraySource([submission('AA2BB3CC')]), target, { writeAllowed: () => false, nextWriteTime: () => opens });
    const r = await runPass(p, ledger, testOptions());
    expect(r).toMatchObject({ receivedNew: 1, delivered: 0, windowClosedUntil: '2026-11-24T07:00:00.000Z' });
    expect(target.calls).toEqual([]);
    expect((await ledger.get('flow-test', 'F/AA2BB3CC'))?.state).toBe('received');
  });

  it('puts keys and keyed hashes of PII on the audit log, never the values', async () => {
    await runPass(testPipeline(arraySource([submission('AA2BB3CC', 'Featherstonehaugh')]), new TestTarget()), ledger, testOptions());
    const history = await ledger.history('flow-test', 'F/AA2BB3CC');
    expect(history.map((h) => h.event)).toEqual(expect.arrayContaining(['received', 'delivering', 'delivered']));
    const text = JSON.stringify(history);
    expect(text).not.toMatch(/featherstonehaugh/i);
    expect(text).toContain(piiHash('FEATHERSTONEHAUGH', TEST_PII_KEY));
    expect((await audit.verify()).ok).toBe(true);
  });

  it('records a delivery whose mapping has PII in a group: one keyed hash per child row', async () => {
    const text = [
      'mapping: flow-groups',
      'fields:',
      '  REF: { from: submission_reference, required: true }',
      'groups:',
      '  PREV:',
      '    each: { answer: prev }',
      '    fields:',
      '      PC: { from: $item.postcode, pii: true }',
      '',
    ].join('\n');
    const body = { form_name: 'F', submission_reference: 'GG1', answers: [{ question_id: 'prev', question_text: 'Previous addresses', can_have_multiple_answers: true, answer_text: ['LS1 1AA', 'YO1 7HH'], postcode: ['LS1 1AA', 'YO1 7HH'] }] };
    const target = new TestTarget();
    const r = await runPass(testPipeline(arraySource([body]), target, { mapping: loadMapping('flow-groups.yaml', text).compiled! }), ledger, testOptions());
    expect(r).toMatchObject({ delivered: 1, dead: 0, failed: 0 });
    const delivered = (await ledger.history('flow-test', 'F/GG1')).find((h) => h.event === 'delivered');
    expect(delivered?.detail.records?.[0]?.sent?.fields).toEqual({ REF: piiHash('GG1', TEST_PII_KEY), 'PREV.PC': [piiHash('LS1 1AA', TEST_PII_KEY), piiHash('YO1 7HH', TEST_PII_KEY)] });
    expect(delivered?.detail.records?.[0]?.pii).toBeUndefined();
    expect(JSON.stringify(await ledger.history('flow-test', 'F/GG1'))).not.toContain('LS1 1AA');
  });

  it('marks a redelivery after a lost lease as uncertain, so the target checks before keying again', async () => {
    const target = new TestTarget();
    const p = testPipeline(arraySource([submission('AA2BB3CC')]), target);
    await ledger.receive('flow-test', 'run-0', [{ key: 'F/AA2BB3CC', contentHash: 'sha256:x', body: submission('AA2BB3CC'), source: 't' }], 'runner:test:9');
    await ledger.claim('flow-test', 'runner:other-host:1', 10, 60_000);
    await ledger.apply('flow-test', 'run-0', [{ key: 'F/AA2BB3CC', to: 'delivering' }], 'runner:other-host:1', {});
    await ledger.release('flow-test', 'runner:other-host:1');
    await runPass({ ...p, source: arraySource([]) }, ledger, testOptions());
    expect(target.calls).toEqual([{ key: 'F/AA2BB3CC', uncertain: true, attempt: 1 }]);
  });
});
