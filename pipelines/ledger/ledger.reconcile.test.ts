import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import { Ledger } from './ledger.js';
import type { AnswerResult } from '../../connectors/connector.types.js';
import { piiHash } from '../audit/pii.js';

const PII_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const hashText = (text: string) => piiHash(text, PII_KEY);
const REASON_HASH = hashText('E114 POSTCODE NOT ON ADDRESS FILE');
const REJECTED = 'the legacy system rejected the record in its answer (code E114)';

const RUNNER = 'runner:test:1';

describe.each(TEST_DIALECTS)('Ledger.reconcile (legacy answers) on %s', (dialect) => {
  const env = useTestLedger(dialect);
  let ledger: Ledger;
  let audit: AuditLog;
  const fresh = pipelineNames();
  beforeAll(() => void ({ ledger, audit } = env));

  /** Keys a..e delivered as F1#1..F1#5; `f` received only. */
  async function delivered(p: string): Promise<void> {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    await ledger.receive(p, null, [...keys, 'f'].map((k) => sub(k)), RUNNER);
    await ledger.apply(p, null, keys.flatMap((k, i) => [{ key: k, to: 'delivering' as const }, { key: k, to: 'delivered' as const, legacyRef: `F1#${i + 1}` }]), RUNNER);
  }

  const ANSWERS: AnswerResult[] = [
    { key: 'a', legacyRef: 'F1#1', accepted: true },
    { key: 'b', legacyRef: 'F1#2', accepted: false, reason: 'E114 POSTCODE NOT ON ADDRESS FILE', code: 'E114' },
    { key: 'c', legacyRef: 'F1#3', accepted: true },
  ];

  it('confirms accepted records and dead-letters rejected ones, the legacy reason kept sealed and only its keyed hash audited', async () => {
    const p = fresh();
    await delivered(p);
    const before = await audit.head();
    expect(await ledger.reconcile(p, 'run-2', ANSWERS, RUNNER, { target: 'file-drop', hashText })).toEqual({ confirmed: ['a', 'c'], dead: ['b'], already: [], skipped: [] });
    expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivered', confirmed: true, legacyRef: 'F1#1' });
    expect(await ledger.get(p, 'c')).toMatchObject({ state: 'delivered', confirmed: true });
    expect(await ledger.get(p, 'd')).toMatchObject({ state: 'delivered', confirmed: false });
    expect(await ledger.get(p, 'b')).toMatchObject({
      state: 'dead',
      confirmed: false,
      legacyRef: 'F1#2',
      lastError: { code: 'LEGACY_REJECTED', disposition: 'reject', message: REJECTED, textHash: REASON_HASH },
    });
    expect(await ledger.legacyText(p, 'b')).toEqual({ text: 'E114 POSTCODE NOT ON ADDRESS FILE', textHash: REASON_HASH });
    const seen = new Map<number, { event: string; target: string | null; detail: unknown }>();
    for (const k of ['a', 'b', 'c', 'd']) for (const e of await ledger.history(p, k)) if (e.seq > before.seq) seen.set(e.seq, { event: e.event, target: e.target, detail: e.detail });
    // Each entry about a batch carries the Merkle root of its records (see audit.hash.ts).
    const ROOT = /^[0-9a-f]{64}$/;
    const added = [...seen.entries()].sort(([x], [y]) => x - y).map(([, v]) => v);
    expect((await audit.head()).seq).toBe(before.seq + 2);
    expect(added).toEqual([
      { event: 'confirmed', target: 'file-drop', detail: { runId: 'run-2', answer: 'accepted by the legacy system', merkle: { size: 2, root: expect.stringMatching(ROOT) }, keys: ['a', 'c'], records: [{ key: 'a', legacyRef: 'F1#1' }, { key: 'c', legacyRef: 'F1#3' }] } },
      {
        event: 'dead',
        target: 'file-drop',
        detail: {
          runId: 'run-2',
          answer: 'rejected by the legacy system',
          merkle: { size: 1, root: expect.stringMatching(ROOT) },
          keys: ['b'],
          records: [{ key: 'b', from: 'delivered', legacyRef: 'F1#2', legacyCode: 'E114', error: { code: 'LEGACY_REJECTED', disposition: 'reject', message: REJECTED, textHash: REASON_HASH } }],
        },
      },
    ]);
    expect((await ledger.list(p, { states: ['dead'], limit: 10 })).map((r) => r.key)).toEqual(['b']);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('applying the same answers again changes nothing and audits nothing', async () => {
    const p = fresh();
    await delivered(p);
    await ledger.reconcile(p, 'run-2', ANSWERS, RUNNER, { hashText });
    const rows = await ledger.list(p, { limit: 10 });
    const head = await audit.head();
    expect(await ledger.reconcile(p, 'run-3', ANSWERS, RUNNER, { hashText })).toEqual({ confirmed: [], dead: [], already: ['a', 'b', 'c'], skipped: [] });
    expect(await ledger.list(p, { limit: 10 })).toEqual(rows);
    expect(await audit.head()).toEqual(head);
  });

  it('reports answers that do not fit their row and applies the rest', async () => {
    const p = fresh();
    await delivered(p);
    await ledger.reconcile(p, null, [{ key: 'd', legacyRef: 'F1#4', accepted: true }], RUNNER);
    const report = await ledger.reconcile(
      p,
      null,
      [
        { key: 'zz', accepted: true },
        { key: 'f', accepted: true },
        { key: 'f', accepted: false, reason: 'X' },
        { key: 'a', legacyRef: 'F0#7', accepted: false, reason: 'OLD FILE' },
        { key: 'd', legacyRef: 'F1#4', accepted: false, reason: 'CHANGED OUR MIND' },
        { key: 'e', legacyRef: 'F1#5', accepted: false, reason: 'NO SUCH DRIVER' },
      ],
      RUNNER,
    );
    expect(report).toEqual({
      confirmed: [],
      dead: ['e'],
      already: [],
      skipped: [
        { key: 'zz', reason: `pipeline ${p} holds no submission with this key` },
        { key: 'f', reason: 'accepted, but the submission is received, not delivered' },
        { key: 'f', reason: 'answered twice in one set; the first answer counts' },
        { key: 'a', reason: 'answers delivery F0#7, but the submission\'s latest delivery is F1#1' },
        { key: 'd', reason: 'rejected, but an earlier answer confirmed it' },
      ],
    });
    expect(await ledger.get(p, 'a')).toMatchObject({ state: 'delivered', confirmed: false });
    expect(await ledger.get(p, 'd')).toMatchObject({ state: 'delivered', confirmed: true });
    expect(await ledger.get(p, 'f')).toMatchObject({ state: 'received' });
    expect(await ledger.get(p, 'e')).toMatchObject({ state: 'dead', lastError: { message: 'the legacy system rejected the record in its answer' } });
    expect(await ledger.legacyText(p, 'e'), 'no hash function: the reason is not kept').toBeNull();
    const again = await ledger.reconcile(p, null, [{ key: 'e', legacyRef: 'F1#5', accepted: false, reason: 'ANOTHER REASON' }, { key: 'e', accepted: true }], RUNNER);
    expect(again.skipped[0]).toEqual({ key: 'e', reason: 'rejected, but the submission is dead, not delivered' });
  });

  it('a rejected record retried from the dead letters is delivered again, and the old answer no longer applies to it', async () => {
    const p = fresh();
    await delivered(p);
    await ledger.reconcile(p, null, ANSWERS, RUNNER);
    await ledger.retry(p, 'b', 'operator:alice');
    await ledger.apply(p, null, [{ key: 'b', to: 'delivering' }, { key: 'b', to: 'delivered', legacyRef: 'F2#1' }], RUNNER);
    expect((await ledger.reconcile(p, null, ANSWERS, RUNNER)).skipped).toEqual([{ key: 'b', reason: "answers delivery F1#2, but the submission's latest delivery is F2#1" }]);
    expect(await ledger.reconcile(p, null, [{ key: 'b', legacyRef: 'F2#1', accepted: true }], RUNNER)).toMatchObject({ confirmed: ['b'] });
  });
});
