import { beforeAll, describe, expect, it } from 'vitest';
import { LedgerTransitionError } from '../pipeline.errors.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Ledger } from './ledger.js';
import { pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';

const RUNNER = 'runner:test:1';

describe.each(TEST_DIALECTS)('Ledger.receiveLanes on %s', (dialect) => {
  const env = useTestLedger(dialect);
  let ledger: Ledger;
  let audit: AuditLog;
  const fresh = pipelineNames();
  beforeAll(() => void ({ ledger, audit } = env));

  it('records each part in its own pipeline, rows, bodies and audit entries, as receive does, in one go', async () => {
    const [a, b, c] = [fresh(), fresh(), fresh()];
    await ledger.receive(b, null, [sub('k1')], RUNNER);
    const out = await ledger.receiveLanes(
      'run-1',
      [
        { pipeline: a, items: [sub('k1', 'h', { v: 1 }), sub('k2')], opts: { mappingVersion: 'sha256:a' } },
        { pipeline: b, items: [sub('k1'), sub('k3', 'h3')] },
        { pipeline: c, items: [] },
      ],
      RUNNER,
    );
    expect(out).toEqual([['new', 'new'], ['duplicate', 'new'], []]);
    expect(await ledger.get(a, 'k1')).toMatchObject({ state: 'received', contentHash: 'h', body: { v: 1 } });
    expect(await ledger.get(b, 'k3')).toMatchObject({ state: 'received', contentHash: 'h3', body: { ref: 'k3' } });
    const [received] = await ledger.history(a, 'k1');
    expect(received).toMatchObject({ pipeline: a, event: 'received', mappingVersion: 'sha256:a', detail: { runId: 'run-1', keys: ['k1', 'k2'] } });
    expect((await ledger.history(b, 'k1')).map((e) => e.event)).toEqual(['received', 'duplicate']);
    expect((await ledger.history(b, 'k3')).map((e) => [e.pipeline, e.event])).toEqual([[b, 'received']]);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('writes nothing in any part when one part cannot be recorded', async () => {
    const [a, b] = [fresh(), fresh()];
    const before = await audit.head();
    const bad = { ...sub('k1'), then: { to: 'delivered' as const } };
    await expect(ledger.receiveLanes('run-2', [{ pipeline: a, items: [sub('k1')] }, { pipeline: b, items: [bad] }], RUNNER)).rejects.toBeInstanceOf(LedgerTransitionError);
    expect(await ledger.get(a, 'k1')).toBeNull();
    expect(await ledger.get(b, 'k1')).toBeNull();
    expect(await audit.head()).toEqual(before);
    await expect(ledger.receiveLanes('run-2', [{ pipeline: a, items: [sub('k2')] }, { pipeline: b, items: [{ ...sub('k2'), contentHash: '' }] }], RUNNER)).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
    });
    expect(await ledger.get(a, 'k2')).toBeNull();
  });
});
