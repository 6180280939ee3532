import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../lib/envelope.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../audit/audit-log.js';
import { sentText } from '../audit/sent-detail.js';
import { Ledger } from '../ledger/ledger.js';
import { pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { migrate, migrateDown } from '../store/migrate.js';
import { openTestStore, TEST_DIALECTS } from '../store/store.test-helpers.js';
import { eraseSubmission } from './erase.js';
import { purgePipeline } from './purge.js';
import { rotateKeys } from './rotate.js';
import { sealSentWith } from './sent-copy.js';

const RUNNER = 'runner:test:1';
const CANARY = 'Zqxwvortanic';
const SENT = { record: { REF: 'AA2BB3CC', SURNAME: CANARY, N: 3 }, children: { LINES: [{ ITEM: `${CANARY}-line` }] } };

describe.each(TEST_DIALECTS)('the record as sent, kept sealed with its submission, on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const next = pipelineNames();
  /** Each row's copy as base64 text (SQLite keeps it as bytes, PostgreSQL as base64). */
  const raw = async (p: string) =>
    (
      await env.ts.store.select<{ key: string; sent: string | Uint8Array | null }>(
        'SELECT l.key, s.sent FROM ledger l JOIN ledger_bodies b ON b.id = l.id LEFT JOIN ledger_sent s ON s.id = l.id WHERE l.pipeline = $1 ORDER BY l.key',
        [p],
      )
    ).map((r) => ({ key: r.key, sent: r.sent === null || typeof r.sent === 'string' ? r.sent : Buffer.from(r.sent).toString('base64') }));
  /** Sent copies kept for `p`'s rows, whether or not their body rows are still there. */
  const copies = async (p: string) => Number((await env.ts.store.select<{ n: number | string }>('SELECT COUNT(*) AS n FROM ledger_sent WHERE id IN (SELECT id FROM ledger WHERE pipeline = $1)', [p]))[0]!.n);

  async function delivered(p: string, keys: string[], owner?: string): Promise<void> {
    await env.ledger.receive(p, null, keys.map((k) => sub(k)), RUNNER, owner ? { lease: { owner, leaseMs: 60_000 } } : {});
    await env.ledger.apply(p, null, keys.map((k) => ({ key: k, to: 'delivering' as const })), RUNNER, owner ? { owner } : {});
    await env.ledger.apply(p, null, keys.map((k) => ({ key: k, to: 'delivered' as const, sent: sentText(SENT) })), RUNNER, owner ? { owner } : {});
  }

  it.each([
    ['an operator or reading path', undefined],
    ['a runner on its own leases (the blind SQLite path)', RUNNER],
  ])('is stored by the delivered move (%s), sealed, and read back by sentRecord', async (_, owner) => {
    const p = next();
    await delivered(p, ['k1', 'k2'], owner);
    await env.ledger.receive(p, null, [sub('k3')], RUNNER);
    expect(await env.ledger.sentRecord(p, 'k1')).toEqual(SENT);
    // Each copy on its own row: one sealed for another row would not open here.
    expect(await env.ledger.sentRecord(p, 'k2')).toEqual(SENT);
    expect(await env.ledger.sentRecord(p, 'k3')).toBeNull();
    expect(await env.ledger.sentRecord(p, 'nope')).toBeNull();
    const rows = await raw(p);
    expect(rows.map((r) => r.sent === null)).toEqual([false, false, true]);
    expect(rows.map((r) => r.sent ?? '').join('\n')).not.toContain(CANARY);
    expect(Buffer.from(rows[0]!.sent!, 'base64').toString('latin1')).not.toContain(CANARY);
    const kind = dialect === 'sqlite' ? 'typeof(s.sent)' : 'pg_typeof(s.sent)::text';
    const kinds = await env.ts.store.select<{ kind: string }>(`SELECT ${kind} AS kind FROM ledger l JOIN ledger_sent s ON s.id = l.id WHERE l.pipeline = $1`, [p]);
    expect(kinds.map((k) => k.kind)).toEqual(dialect === 'sqlite' ? ['blob', 'blob'] : ['text', 'text']);
  });

  it('opens only on its own row: a copy moved to another submission does not open', async () => {
    const p = next();
    await delivered(p, ['k1', 'k2']);
    const [one] = await raw(p);
    await env.ts.store.exec('UPDATE ledger_sent SET sent = $1 WHERE id = (SELECT id FROM ledger WHERE pipeline = $2 AND key = $3)', [one!.sent, p, 'k2']);
    await expect(env.ledger.sentRecord(p, 'k2')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
  });

  it('keeps one copy per submission: a later delivery (after a replay) replaces the earlier one', async () => {
    const p = next();
    await delivered(p, ['k1']);
    const again = { record: { ...SENT.record, N: 4 }, children: {} };
    await env.ledger.replay(p, 'k1', 'operator:alice');
    await env.ledger.apply(p, null, [{ key: 'k1', to: 'delivering' }], RUNNER);
    await env.ledger.apply(p, null, [{ key: 'k1', to: 'delivered', sent: sentText(again) }], RUNNER);
    expect(await env.ledger.sentRecord(p, 'k1')).toEqual(again);
    expect(await copies(p)).toBe(1);
  });

  it('stores a copy a worker sealed only while the row holds the data key it was sealed under', async () => {
    const p = next();
    await env.ledger.receive(p, null, [sub('k1'), sub('k2')], RUNNER);
    await env.ledger.apply(p, null, [{ key: 'k1', to: 'delivering' }, { key: 'k2', to: 'delivering' }], RUNNER);
    const deks = await env.ts.store.select<{ key: string; kid: string; dek: string }>(
      'SELECT l.key, b.kid, b.dek FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 ORDER BY l.key',
      [p],
    );
    const [one, two] = deks.map((d) => sealSentWith(TEST_KEYS, p, d.key, d, sentText(SENT)));
    await env.ledger.apply(p, null, [
      { key: 'k1', to: 'delivered', sentSealed: one! },
      { key: 'k2', to: 'delivered', sentSealed: { ...two!, dek: one!.dek } },
    ], RUNNER);
    expect(await env.ledger.sentRecord(p, 'k1')).toEqual(SENT);
    expect(await env.ledger.sentRecord(p, 'k2')).toBeNull();
  });

  it('keeps no copy for a body still in clear (before migration 0008): citizens\' data is never stored in clear', async () => {
    const p = next();
    await env.ledger.receive(p, null, [sub('k1', 'h1', { n: 1 })], RUNNER);
    await env.ts.store.exec('UPDATE ledger_bodies SET body = $1, kid = NULL, dek = NULL WHERE id = (SELECT id FROM ledger WHERE pipeline = $2 AND key = $3)', ['{"n":1}', p, 'k1']);
    await env.ledger.apply(p, null, [{ key: 'k1', to: 'delivering' }], RUNNER);
    await env.ledger.apply(p, null, [{ key: 'k1', to: 'delivered', sent: sentText(SENT) }], RUNNER);
    expect(await raw(p)).toEqual([{ key: 'k1', sent: null }]);
    expect(await env.ledger.sentRecord(p, 'k1')).toBeNull();
    expect((await env.ledger.get(p, 'k1'))?.body).toEqual({ n: 1 });
  });

  it('goes with the body when retention purges it, while the audit log keeps the delivery', async () => {
    const p = next();
    await delivered(p, ['k1']);
    const DAY = 86_400_000;
    const later = new Date(Date.now() + 40 * DAY);
    const counts = await purgePipeline(env.ts.store, env.audit, p, { bodiesMs: 30 * DAY, evidenceMs: 90 * DAY, inboxDoneMs: 30 * DAY, inboxQuarantineMs: 90 * DAY, ledgerMs: 365 * DAY }, { actor: 'operator:alice', now: later });
    expect(counts.find((c) => c.kind === 'bodies')?.count).toBe(1);
    expect(await env.ledger.sentRecord(p, 'k1')).toBeNull();
    expect(await raw(p)).toEqual([]);
    expect(await copies(p)).toBe(0);
    expect((await env.ledger.history(p, 'k1')).map((e) => e.event)).toContain('delivered');
  });

  // Last in the file: it rotates every data key of the store away from TEST_KEYS.
  it('survives a key rotation, and an erasure removes it while the audit log keeps the delivery', async () => {
    const p = next();
    const a = new KeyRing(randomBytes(32));
    const ledger = new Ledger(env.ts.store, new AuditLog(env.ts.store), a);
    await ledger.receive(p, null, [sub('k1')], RUNNER);
    await ledger.apply(p, null, [{ key: 'k1', to: 'delivering' }], RUNNER);
    await ledger.apply(p, null, [{ key: 'k1', to: 'delivered', sent: sentText(SENT) }], RUNNER);
    const b = new KeyRing(randomBytes(32), [a.current.key, TEST_KEYS.current.key]);
    await rotateKeys(env.ts.store, env.audit, b, 'operator:alice');
    expect(await new Ledger(env.ts.store, new AuditLog(env.ts.store), new KeyRing(b.current.key)).sentRecord(p, 'k1')).toEqual(SENT);
    await eraseSubmission(env.ts.store, env.audit, p, 'k1', { reason: 'citizen asked', actor: 'operator:alice' });
    expect(await new Ledger(env.ts.store, new AuditLog(env.ts.store), b).sentRecord(p, 'k1')).toBeNull();
    expect(await raw(p)).toEqual([]);
    expect(await copies(p)).toBe(0);
    const history = await env.ledger.history(p, 'k1');
    expect(history.map((e) => e.event)).toEqual(['received', 'delivering', 'delivered', 'erased']);
  });
});

describe.each(TEST_DIALECTS)('the records as sent across migration 0023, on %s', (dialect) => {
  it('moves every copy from ledger_bodies.sent into ledger_sent and back down, each still opening', async () => {
    const ts = await openTestStore(dialect);
    try {
      const ledger = new Ledger(ts.store, new AuditLog(ts.store), TEST_KEYS);
      await ledger.receive('m', null, [sub('k1'), sub('k2')], RUNNER);
      await ledger.apply('m', null, [{ key: 'k1', to: 'delivering' }, { key: 'k2', to: 'delivering' }], RUNNER);
      await ledger.apply('m', null, [{ key: 'k1', to: 'delivered', sent: sentText(SENT) }], RUNNER);
      const stored = await ts.store.select<{ id: number | string; sent: string | Uint8Array }>('SELECT id, sent FROM ledger_sent');
      expect(stored).toHaveLength(1);
      // Kept as bytes on SQLite since 0025, as base64 text before it (and on PostgreSQL).
      expect(typeof stored[0]!.sent === 'string').toBe(dialect === 'postgres');
      const kept = stored.map((r) => ({ ...r, sent: typeof r.sent === 'string' ? r.sent : Buffer.from(r.sent).toString('base64') }));
      expect(await migrateDown(ts.store)).toBe('0025-sealed-bytes');
      expect(await ts.store.select('SELECT id, sent FROM ledger_sent')).toEqual(kept);
      expect(await migrateDown(ts.store)).toBe('0024-case-bodies');
      expect(await migrateDown(ts.store)).toBe('0023-ledger-sent');
      const down = await ts.store.select<{ key: string; sent: string | null }>('SELECT l.key, b.sent FROM ledger l JOIN ledger_bodies b ON b.id = l.id ORDER BY l.key');
      expect(down).toEqual([
        { key: 'k1', sent: kept[0]!.sent },
        { key: 'k2', sent: null },
      ]);
      expect(await migrate(ts.store)).toEqual(['0023-ledger-sent', '0024-case-bodies', '0025-sealed-bytes']);
      expect(await ts.store.select('SELECT id, sent FROM ledger_sent')).toEqual(kept);
      expect(await ledger.sentRecord('m', 'k1')).toEqual(SENT);
      expect(await ledger.sentRecord('m', 'k2')).toBeNull();
    } finally {
      await ts.dispose();
    }
  });
});
