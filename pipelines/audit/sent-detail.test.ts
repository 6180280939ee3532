import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sharedTextParts, sharedTexts } from '../flow/sealed-chunk.js';
import { sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import type { AuditRecord } from './audit.types.js';
import { piiHash } from './pii.js';
import { sentDetail, sentText } from './sent-detail.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const hash = (v: unknown) => piiHash(v, KEY);

describe('what was sent, as the audit log holds it', () => {
  it('hashes the canonical record and keys every field, a group field once per child row', () => {
    const sent = { record: { B: 2, A: 'x', GONE: undefined }, children: { G: [{ F: 'r1' }, { F: 'r2', H: true }] } };
    const text = sentText(sent);
    expect(text).toBe('{"children":{"G":[{"F":"r1"},{"F":"r2","H":true}]},"record":{"A":"x","B":2}}');
    expect(sentDetail(sent, text, hash)).toEqual({
      hash: `sha256:${createHash('sha256').update(text).digest('hex')}`,
      fields: { B: hash(2), A: hash('x'), 'G.F': [hash('r1'), hash('r2')], 'G.H': [hash(null), hash(true)] },
    });
  });
});

describe.each(TEST_DIALECTS)('the audit log refuses values in sent fields, on %s', (dialect) => {
  const env = useTestLedger(dialect);

  it('refuses a sent field that is not a keyed hash, and a malformed sent hash, writing nothing', async () => {
    const head = await env.audit.head();
    const entry = (sent: unknown) => ({ pipeline: 'p', event: 'delivered' as const, actor: 'runner:test:1', detail: { keys: ['k'], records: [{ key: 'k', sent: sent as AuditRecord['sent'] }] } });
    await expect(env.audit.append([entry({ hash: `sha256:${'a'.repeat(64)}`, fields: { SURNAME: 'Smith' } })])).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
      message: 'audit record for "k": sent field SURNAME must be a piiHash (hmac:...), never a value',
    });
    await expect(env.audit.append([entry({ hash: `sha256:${'a'.repeat(64)}`, fields: { 'G.F': [hash('x'), 'LS1 1AA'] } })])).rejects.toMatchObject({
      message: 'audit record for "k": sent field G.F must be a piiHash (hmac:...), never a value',
    });
    await expect(env.audit.append([entry({ hash: 'Smith', fields: {} })])).rejects.toMatchObject({ message: 'audit record for "k": sent.hash must be sha256:<64 hex>' });
    expect(await env.audit.head()).toEqual(head);
    await env.audit.append([entry({ hash: `sha256:${'a'.repeat(64)}`, fields: { SURNAME: hash('Smith') } })]);
    expect((await env.audit.head()).seq).toBe(head.seq + 1);
  });

  it('reads a sent detail handed over as its JSON bytes, as a mapping worker hands it, and refuses one holding a value, writing nothing', async () => {
    const p = 'sent-json';
    await env.ledger.receive(p, null, [sub('a'), sub('b')], 'runner:test:1');
    // As a worker hands it over: the JSON's bytes in shared memory.
    const bytes = (v: unknown) => sharedTextParts(sharedTexts([JSON.stringify(v)]))[0]!;
    const good = { hash: `sha256:${'a'.repeat(64)}`, fields: { SURNAME: hash('Smith'), 'G.F': [hash('x')] } };
    await env.ledger.apply(p, null, [{ key: 'a', to: 'mapped', detail: { sent: bytes(good) } }], 'runner:test:1');
    expect((await env.ledger.history(p, 'a')).at(-1)?.detail.records?.[0]?.sent).toEqual(good);
    const head = await env.audit.head();
    const leaky = { key: 'b', to: 'mapped' as const, detail: { sent: bytes({ ...good, fields: { SURNAME: 'Smith' } }) } };
    await expect(env.ledger.apply(p, null, [leaky], 'runner:test:1')).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
      message: 'audit record for "b": sent field SURNAME must be a piiHash (hmac:...), never a value',
    });
    expect(await env.audit.head()).toEqual(head);
    expect((await env.ledger.get(p, 'b'))?.state).toBe('received');
    const text = (await env.ts.store.select<{ detail: string }>('SELECT detail FROM audit_log')).map((r) => r.detail).join('\n');
    expect(text).not.toContain('Smith');
  });
});
