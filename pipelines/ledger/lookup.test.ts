import { describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { findSubmission, matchSubmissions } from './lookup.js';
import { pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';

describe.each(TEST_DIALECTS)('finding a submission by any reference on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const next = pipelineNames();

  async function seed(): Promise<string> {
    const p = next();
    const keys = ['Change address/CA3HJ7WR', 'Change address/CA3HJ7WX', 'Newid cyfeiriad/K72MP4XB', 'Other form/100%_done'];
    await env.ledger.receive(p, 'r1', keys.map((k) => sub(k)), 'runner:test');
    await env.ledger.apply(p, 'r1', [{ key: 'Newid cyfeiriad/K72MP4XB', to: 'delivering' }, { key: 'Newid cyfeiriad/K72MP4XB', to: 'delivered', legacyRef: 'DRV-000042' }], 'runner:test');
    return p;
  }

  it('finds by full key, by the form reference in any case, by the legacy reference and by a unique prefix', async () => {
    const p = await seed();
    expect(await findSubmission(env.ts.store, p, 'Change address/CA3HJ7WR')).toMatchObject({ key: 'Change address/CA3HJ7WR', by: 'key' });
    expect(await findSubmission(env.ts.store, p, 'ca3hj7wr')).toMatchObject({ key: 'Change address/CA3HJ7WR', by: 'reference' });
    expect(await findSubmission(env.ts.store, p, 'DRV-000042')).toMatchObject({ key: 'Newid cyfeiriad/K72MP4XB', by: 'legacy-ref', legacyRef: 'DRV-000042' });
    expect(await findSubmission(env.ts.store, p, 'K72')).toMatchObject({ key: 'Newid cyfeiriad/K72MP4XB', by: 'prefix' });
    expect(await findSubmission(env.ts.store, p, 'newid')).toMatchObject({ key: 'Newid cyfeiriad/K72MP4XB', by: 'prefix' });
    expect(await findSubmission(env.ts.store, p, '100%_')).toMatchObject({ key: 'Other form/100%_done' });
  });

  it('lists every match of an ambiguous reference and names what was not found', async () => {
    const p = await seed();
    await expect(findSubmission(env.ts.store, p, 'CA3HJ7W')).rejects.toMatchObject({
      code: 'SUBMISSION_AMBIGUOUS',
      message: `"CA3HJ7W" matches 2 submissions of pipeline ${p}; give one of:\n  Change address/CA3HJ7WR (received)\n  Change address/CA3HJ7WX (received)`,
    });
    await expect(findSubmission(env.ts.store, p, 'ZZ9')).rejects.toMatchObject({
      code: 'SUBMISSION_NOT_FOUND',
      message: `pipeline ${p} holds no submission matching "ZZ9" (by key, form reference, legacy reference or prefix)`,
    });
    expect(await matchSubmissions(env.ts.store, p, '%')).toEqual([]);
    expect(await matchSubmissions(env.ts.store, next(), 'CA3HJ7WR')).toEqual([]);
  });
});
