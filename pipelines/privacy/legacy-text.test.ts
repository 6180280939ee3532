import { describe, expect, it } from 'vitest';
import { piiHash } from '../audit/pii.js';
import { pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { eraseSubmission } from './erase.js';

const RUNNER = 'runner:test:1';
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe.each(TEST_DIALECTS)("the legacy system's error text, on %s", (dialect) => {
  const env = useTestLedger(dialect);
  const fresh = pipelineNames();
  const canary = `legacy refuses customer Zebedee Canarywright${dialect}`;
  const textHash = piiHash(canary, KEY);
  const error = { code: 'SQL_CONSTRAINT', disposition: 'reject' as const, message: 'the legacy database refused the record (code P0001)', legacyText: canary, textHash };

  /** `a` and `b` received; `a` rejected with the legacy text, `b` failed with an error that carries none. */
  async function refused(p: string): Promise<void> {
    await env.ledger.receive(p, null, [sub('a'), sub('b')], RUNNER);
    await env.ledger.apply(p, null, [{ key: 'a', to: 'delivering' }, { key: 'b', to: 'delivering' }], RUNNER);
    await env.ledger.apply(p, null, [{ key: 'a', to: 'rejected', error }, { key: 'b', to: 'failed', error: { code: 'SQL_BUSY', disposition: 'retry', message: 'the legacy database failed the batch (code 40001)' } }], RUNNER);
  }

  const raw = async (p: string) => {
    const store = env.ts.store;
    const ledger = await store.select<Record<string, unknown>>('SELECT * FROM ledger WHERE pipeline = $1', [p]);
    const audit = await store.select<Record<string, unknown>>('SELECT * FROM audit_log WHERE pipeline = $1', [p]);
    const bodies = await store.select<{ key: string; legacy_error: string | null }>('SELECT l.key, b.legacy_error FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 ORDER BY l.key', [p]);
    return { clear: JSON.stringify([ledger, audit]), bodies };
  };

  it('stores only the hash in the row and the audit entry, and the text sealed with its own record alone', async () => {
    const p = fresh();
    await refused(p);
    const a = await env.ledger.get(p, 'a');
    expect(a?.lastError).toEqual({ code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code P0001)', textHash });
    expect((await env.ledger.get(p, 'b'))?.lastError).toEqual({ code: 'SQL_BUSY', disposition: 'retry', message: 'the legacy database failed the batch (code 40001)' });
    const { clear, bodies } = await raw(p);
    expect(clear).not.toContain('Canarywright');
    expect(bodies.map((b) => [b.key, b.legacy_error === null])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(Buffer.from(bodies[0]!.legacy_error!, 'base64').toString('latin1')).not.toContain('Canarywright');
    expect(await env.ledger.legacyText(p, 'a')).toEqual({ text: canary, textHash });
    expect(await env.ledger.legacyText(p, 'b')).toBeNull();
    expect((await env.audit.verify()).ok).toBe(true);
  });

  it('is destroyed with the body when the submission is erased', async () => {
    const p = fresh();
    await refused(p);
    await eraseSubmission(env.ts.store, env.audit, p, 'a', { reason: 'request 42', actor: 'operator:dpo' });
    expect(await env.ledger.legacyText(p, 'a')).toBeNull();
    expect((await raw(p)).bodies.map((b) => b.key)).toEqual(['b']);
  });
});
