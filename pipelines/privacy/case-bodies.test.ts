import { describe, expect, it } from 'vitest';
import { migrate, migrateDown } from '../store/migrate.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import type { LedgerTestEnv } from '../ledger/ledger.test-helpers.js';
import { eraseSubmission } from './erase.js';
import { purgePipeline } from './purge.js';
import { DEFAULT_RETENTION } from './retention.js';
import { caseBodyId } from './case-bodies.js';

const RUNNER = 'runner:test:1';
const DPO = { reason: 'request 7', actor: 'operator:dpo' };

interface BodyRow {
  id: number;
  body: string;
  body_of: number | null;
}

async function bodyRows(env: LedgerTestEnv): Promise<BodyRow[]> {
  const rows = await env.ts.store.select<{ id: number | string; body: string; body_of: number | string | null }>('SELECT id, body, body_of FROM ledger_bodies ORDER BY id');
  return rows.map((r) => ({ id: Number(r.id), body: r.body, body_of: r.body_of === null ? null : Number(r.body_of) }));
}

async function idOf(env: LedgerTestEnv, pipeline: string, key: string): Promise<number> {
  const [row] = await env.ts.store.select<{ id: number | string }>('SELECT id FROM ledger WHERE pipeline = $1 AND key = $2', [pipeline, key]);
  return Number(row!.id);
}

/** Delivers `key` in each of `lanes`. */
async function deliver(env: LedgerTestEnv, lanes: readonly string[], key: string): Promise<void> {
  for (const lane of lanes) {
    await env.ledger.apply(lane, null, [{ key, to: 'delivering' }], RUNNER);
    await env.ledger.apply(lane, null, [{ key, to: 'delivered', legacyRef: `ref-${lane}` }], RUNNER);
  }
}

describe.each(TEST_DIALECTS)('one body per case, on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const fresh = pipelineNames();

  it('stores the body of a submission several routes receive once, and each route opens it as its own', async () => {
    const p = fresh();
    const [a, b, c] = [`${p}~a`, `${p}~b`, `${p}~c`];
    const before = (await bodyRows(env)).length;
    const body = { ref: 'k1', name: 'Ada Lovelace', lines: ['1 Analytical Row'] };
    const out = await env.ledger.receiveLanes(
      'run-1',
      [
        { pipeline: a, items: [sub('k1', 'h1', body), sub('k2')] },
        { pipeline: b, items: [sub('k1', 'h1', body)] },
        { pipeline: c, items: [sub('k1', 'h1', body), sub('k3')] },
      ],
      RUNNER,
    );
    expect(out).toEqual([['new', 'new'], ['new'], ['new', 'new']]);
    const rows = await bodyRows(env);
    expect(rows).toHaveLength(before + 6);
    const first = await idOf(env, a, 'k1');
    const caseRow = rows.find((r) => r.id === caseBodyId(first))!;
    expect(caseRow.body.length).toBeGreaterThan(0);
    expect(caseRow.body_of).toBeNull();
    for (const lane of [a, b, c]) {
      const id = await idOf(env, lane, 'k1');
      expect(rows.find((r) => r.id === id)).toEqual({ id, body: '', body_of: caseRow.id });
      expect((await env.ledger.get(lane, 'k1'))?.body).toEqual(body);
    }
    // Keys only one route receives keep a body of their own.
    for (const [lane, key] of [[a, 'k2'], [c, 'k3']] as const) {
      const id = await idOf(env, lane, key);
      expect(rows.find((r) => r.id === id)).toMatchObject({ body_of: null });
      expect((await env.ledger.get(lane, key))?.body).toEqual({ ref: key });
    }
    const claimed = await env.ledger.claim(b, RUNNER, 10, 60_000);
    expect(claimed.map((x) => [x.key, x.body])).toEqual([['k1', body]]);
  });

  it('keeps the case body while one route still holds it, and deletes it with the last, by erasure or by purge', async () => {
    const p = fresh();
    const [a, b, c] = [`${p}~a`, `${p}~b`, `${p}~c`];
    const parts = [a, b, c].map((pipeline) => ({ pipeline, items: [sub('k1'), sub('k2')] }));
    await env.ledger.receiveLanes('run-2', parts, RUNNER);
    const caseIds = [caseBodyId(await idOf(env, a, 'k1')), caseBodyId(await idOf(env, a, 'k2'))];
    const held = async () => (await bodyRows(env)).filter((r) => caseIds.includes(r.id)).map((r) => r.id);
    expect(await held()).toEqual([...caseIds].sort((x, y) => x - y));
    await deliver(env, [a, b, c], 'k1');
    await deliver(env, [a, b], 'k2');

    // Erasure, one route at a time: the case body stays until the last route's row is erased.
    expect(await eraseSubmission(env.ts.store, env.audit, a, 'k1', DPO)).toMatchObject({ bodies: 1 });
    expect(await held()).toContain(caseIds[0]);
    expect((await env.ledger.get(b, 'k1'))?.body).toEqual({ ref: 'k1' });
    await eraseSubmission(env.ts.store, env.audit, b, 'k1', DPO);
    expect((await env.ledger.get(c, 'k1'))?.body).toEqual({ ref: 'k1' });
    await eraseSubmission(env.ts.store, env.audit, c, 'k1', DPO);
    expect(await held()).not.toContain(caseIds[0]);

    // Purge: routes a and b are past retention, c still delivers k2 and keeps the body.
    const later = new Date(Date.now() + DEFAULT_RETENTION.bodiesMs + 86_400_000);
    for (const lane of [a, b]) {
      const counts = await purgePipeline(env.ts.store, env.audit, lane, DEFAULT_RETENTION, { actor: 'operator:alice', now: later });
      expect(counts.find((x) => x.kind === 'bodies')?.count).toBe(1);
    }
    expect(await held()).toEqual([caseIds[1]]);
    expect(await env.ledger.get(a, 'k2')).toMatchObject({ body: null });
    const claimed = await env.ledger.claim(c, RUNNER, 10, 60_000);
    expect(claimed.map((x) => [x.key, x.body])).toEqual([['k2', { ref: 'k2' }]]);
    await deliver(env, [c], 'k2');
    await purgePipeline(env.ts.store, env.audit, c, DEFAULT_RETENTION, { actor: 'operator:alice', now: later });
    expect(await held()).toEqual([]);
    expect((await env.audit.verify()).ok).toBe(true);
  });

  it('opens a case body only as the body of its own key and pipeline', async () => {
    const p = fresh();
    const lanes = [`${p}~a`, `${p}~b`];
    await env.ledger.receiveLanes('run-3', lanes.map((pipeline) => ({ pipeline, items: [sub('k1'), sub('k2')] })), RUNNER);
    const [one, two] = [caseBodyId(await idOf(env, lanes[0]!, 'k1')), caseBodyId(await idOf(env, lanes[0]!, 'k2'))];
    const [copy] = await env.ts.store.select<{ body: string }>('SELECT body FROM ledger_bodies WHERE id = $1', [two]);
    // k2's ciphertext and data key on k1's case row: it opens as k2's body only (the additional authenticated data names the key).
    const [key2] = await env.ts.store.select<{ kid: string; dek: string }>('SELECT kid, dek FROM ledger_bodies WHERE id = $1', [two]);
    await env.ts.store.exec('UPDATE ledger_bodies SET body = $1, kid = $2, dek = $3 WHERE id = $4', [copy!.body, key2!.kid, key2!.dek, one]);
    await env.ts.store.exec('UPDATE ledger_bodies SET kid = $1, dek = $2 WHERE body_of = $3', [key2!.kid, key2!.dek, one]);
    await expect(env.ledger.get(lanes[1]!, 'k1')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    expect((await env.ledger.get(lanes[1]!, 'k2'))?.body).toEqual({ ref: 'k2' });
  });

  it('refuses to undo migration 0024 while a case body is stored, and undoes it once none is', async () => {
    expect((await bodyRows(env)).some((r) => r.id < 0)).toBe(true);
    expect(await migrateDown(env.ts.store)).toBe('0025-sealed-bytes');
    await expect(migrateDown(env.ts.store)).rejects.toThrow(/bodies shared by a case's routes, sealed for the case: rekey before 0024-case-bodies cannot open them/);
    await env.ts.store.exec('DELETE FROM ledger_bodies WHERE id < 0 OR body_of IS NOT NULL');
    expect(await migrateDown(env.ts.store)).toBe('0024-case-bodies');
    expect(await migrate(env.ts.store)).toEqual(['0024-case-bodies', '0025-sealed-bytes']);
  });
});
