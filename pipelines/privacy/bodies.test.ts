import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../lib/envelope.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { pipelineNames, sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { migrate, migrateDown } from '../store/migrate.js';
import { openTestStore, TEST_DIALECTS } from '../store/store.test-helpers.js';
import { bodyAad, sealedBodies, sealedColumnValue, sealMany } from './bodies.js';
import { sealedChunk, sealedParts } from '../flow/sealed-chunk.js';

const RUNNER = 'runner:test:1';
const canary = (what: string) => `CANARY-${what}-${randomBytes(4).toString('hex')}`;

type RawBody = { id: number | string; body: string; kid: string | null; dek: string | null };
/** A stored body as base64 text: SQLite keeps a sealed body as its bytes, PostgreSQL as base64. */
const base64 = (body: string | Uint8Array) => (typeof body === 'string' ? body : Buffer.from(body).toString('base64'));

describe('sealedBodies', () => {
  it('gives a sealed column its bytes on SQLite and its base64 text on PostgreSQL, whether handed base64 or bytes', () => {
    const bytes = new Uint8Array(new SharedArrayBuffer(4));
    bytes.set([1, 2, 250, 255]);
    for (const sealed of [bytes, Buffer.from(bytes).toString('base64')]) {
      expect(Buffer.from(sealedColumnValue('sqlite', sealed) as Uint8Array).equals(Buffer.from([1, 2, 250, 255]))).toBe(true);
      expect(sealedColumnValue('postgres', sealed)).toBe('AQL6/w==');
    }
  });

  it('opens what it sealed only as the same body of the same key, pipeline and place', () => {
    const codec = sealedBodies(TEST_KEYS);
    const [a, b] = codec.seal('p', 'body', [
      { key: 'k1', text: '{"n":1}' },
      { key: 'k2', text: '{"n":2}' },
    ]);
    expect(a!.kid).toBe(TEST_KEYS.current.id);
    expect(a!.dek).not.toBe(b!.dek);
    expect(codec.open('p', 'body', 'k1', a!)).toBe('{"n":1}');
    expect(() => codec.open('p', 'body', 'k2', a!)).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    expect(() => codec.open('q', 'body', 'k1', a!)).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    expect(() => codec.open('p', 'conflict', 'k1', a!)).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    expect(() => codec.open('p', 'body', 'k1', { ...a!, dek: null })).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    expect(codec.open('p', 'body', 'k1', { body: '{"old":true}', kid: null, dek: null })).toBe('{"old":true}');
    expect(bodyAad('p', 'body', 'k1')).toBe('rekey body\0p\0k1');
  });
});

describe.each(TEST_DIALECTS)('bodies at rest on %s', (dialect) => {
  const env = useTestLedger(dialect);
  let ledger: Ledger;
  const fresh = pipelineNames();
  beforeAll(() => void ({ ledger } = env));

  const raw = async (table: string) =>
    (await env.ts.store.select<RawBody & { body: string | Uint8Array }>(`SELECT id, body, kid, dek FROM ${table} ORDER BY id`)).map((r): RawBody => ({ ...r, body: base64(r.body) }));

  it('stores bodies and conflicting bodies as ciphertext with a wrapped data key, and opens them on every read', async () => {
    const p = fresh();
    const [surname, postcode, other] = [canary('SURNAME'), canary('POSTCODE'), canary('CONFLICT')];
    await ledger.receive(p, null, [sub('a', 'h-a', { surname, postcode }), sub('b', 'h-b', { surname: 'x' })], RUNNER);
    await ledger.receive(p, null, [sub('a', 'h-a2', { surname: other })], RUNNER);
    const rows = [...(await raw('ledger_bodies')), ...(await raw('ledger_conflicts'))];
    expect(rows).toHaveLength(3);
    const dump = JSON.stringify(rows);
    for (const c of [surname, postcode, other]) expect(dump).not.toContain(c);
    for (const r of rows) {
      expect(r.kid).toBe(TEST_KEYS.current.id);
      expect(r.dek).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(r.body).toMatch(/^[A-Za-z0-9+/]+=*$/);
      for (const c of [surname, postcode, other]) expect(Buffer.from(r.body, 'base64').toString('latin1')).not.toContain(c);
    }
    expect(new Set(rows.map((r) => r.dek)).size).toBe(3);
    expect((await ledger.get(p, 'a'))?.body).toEqual({ surname, postcode });
    expect((await ledger.conflicts(p)).map((c) => c.body)).toEqual([{ surname: other }]);
    const claimed = await ledger.claim(p, RUNNER, 10, 60_000);
    expect(claimed.map((c) => [c.key, c.body])).toEqual([
      ['a', { surname, postcode }],
      ['b', { surname: 'x' }],
    ]);
  });

  it('keeps a sealed body as its bytes on SQLite and as base64 on PostgreSQL; a body stored as base64 before still opens', async () => {
    const p = fresh();
    const secret = canary('BYTES');
    await ledger.receive(p, null, [sub('y1', 'h-y1', { secret }), sub('y2', 'h-y2', { n: 2 })], RUNNER);
    const kind = dialect === 'sqlite' ? 'typeof(b.body)' : "pg_typeof(b.body)::text";
    const stored = await env.ts.store.select<{ key: string; kind: string; body: string | Uint8Array }>(
      `SELECT l.key, ${kind} AS kind, b.body FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 ORDER BY l.key`,
      [p],
    );
    expect(stored.map((r) => r.kind)).toEqual(dialect === 'sqlite' ? ['blob', 'blob'] : ['text', 'text']);
    for (const r of stored) expect(Buffer.from(base64(r.body), 'base64').toString('latin1')).not.toContain(secret);
    // A row an earlier rekey wrote holds the base64 text of the same bytes.
    await env.ts.store.transaction((t) =>
      env.ts.store.exec('UPDATE ledger_bodies SET body = $1 WHERE id = (SELECT id FROM ledger WHERE pipeline = $2 AND key = $3)', [base64(stored[0]!.body), p, 'y1'], t),
    );
    expect((await env.ts.store.select<{ kind: string }>(`SELECT ${kind} AS kind FROM ledger l JOIN ledger_bodies b ON b.id = l.id WHERE l.pipeline = $1 ORDER BY l.key`, [p])).map((r) => r.kind)).toEqual(
      dialect === 'sqlite' ? ['text', 'blob'] : ['text', 'text'],
    );
    expect((await ledger.get(p, 'y1'))?.body).toEqual({ secret });
    expect((await ledger.claim(p, RUNNER, 10, 60_000)).map((c) => [c.key, c.body])).toEqual([
      ['y1', { secret }],
      ['y2', { n: 2 }],
    ]);
  });

  it('leaves no canary anywhere in the SQLite files', async () => {
    if (dialect !== 'sqlite') return;
    const p = fresh();
    const secret = canary('FILE');
    await ledger.receive(p, null, [sub('f', 'h-f', { secret })], RUNNER);
    await ledger.receive(p, null, [sub('f', 'h-f2', { secret: `${secret}-2` })], RUNNER);
    const file = env.ts.url.slice('sqlite:'.length);
    const dir = dirname(file);
    const bytes = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(bytes.join('')).toContain('h-f2');
    expect(bytes.join('')).not.toContain(secret);
  });

  it('refuses a body moved onto another row, and a body whose key-encryption key is not given', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('m1', 'h1', { n: canary('M1') }), sub('m2', 'h2', { n: canary('M2') })], RUNNER);
    const [m1, m2] = (await raw('ledger_bodies')).slice(-2);
    await env.ts.store.transaction((t) => env.ts.store.exec('UPDATE ledger_bodies SET body = $1, kid = $2, dek = $3 WHERE id = $4', [m2!.body, m2!.kid, m2!.dek, m1!.id], t));
    await expect(ledger.get(p, 'm1')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    await expect(ledger.claim(p, RUNNER, 10, 60_000)).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    const stranger = new Ledger(env.ts.store, new AuditLog(env.ts.store), new KeyRing(randomBytes(32)));
    const err = await stranger.get(p, 'm2').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DATA_KEY_UNKNOWN' });
    expect((err as Error).message).toContain(TEST_KEYS.current.id);
  });

  // What a mapping worker does with a chunk (pipelines/flow/chunk-map.ts): seals with the current key alone, and hands the bytes over in shared memory.
  const workerSeal = (p: string, key: string, body: unknown, ring = new KeyRing(TEST_KEYS.current.key)) => {
    const chunk = sealedChunk(ring.current.id, sealMany(ring, p, 'body', [{ key, text: JSON.stringify(body) }]));
    return { body: sealedParts(chunk).bodies[0]!, kid: chunk.kid, dek: chunk.deks[0]! };
  };
  const sealedSub = (p: string, key: string, hash: string, body: unknown) => ({ key, contentHash: hash, body: undefined, sealedBody: workerSeal(p, key, body), source: `chunk:${key}` });

  it('stores a body a worker sealed as it is (no second seal), and it opens with the ledger\'s keys', async () => {
    const p = fresh();
    const secret = canary('WORKER');
    const item = sealedSub(p, 'w1', 'h-w1', { secret });
    expect(await ledger.receive(p, null, [item, sub('w2', 'h-w2', { n: 2 })], RUNNER)).toEqual(['new', 'new']);
    const [w1, w2] = (await raw('ledger_bodies')).slice(-2);
    expect({ body: base64(w1!.body), kid: w1!.kid, dek: w1!.dek }).toEqual({ ...item.sealedBody, body: base64(item.sealedBody.body) });
    expect(w2!.kid).toBe(TEST_KEYS.current.id);
    expect((await ledger.get(p, 'w1'))?.body).toEqual({ secret });
    expect((await ledger.get(p, 'w2'))?.body).toEqual({ n: 2 });
    expect(ledger.bodySealKey()).toBe(TEST_KEYS.current);
  });

  it('a worker-sealed duplicate stores nothing, a worker-sealed conflict is sealed again as a conflict', async () => {
    const p = fresh();
    const [first, other] = [canary('FIRST'), canary('OTHER')];
    await ledger.receive(p, null, [sealedSub(p, 'd', 'h-d', { first })], RUNNER);
    const before = await raw('ledger_bodies');
    const conflict = sealedSub(p, 'd', 'h-d2', { other });
    expect(await ledger.receive(p, null, [sealedSub(p, 'd', 'h-d', { first }), conflict], RUNNER)).toEqual(['duplicate', 'conflict']);
    expect(await raw('ledger_bodies')).toEqual(before);
    expect((await ledger.get(p, 'd'))?.body).toEqual({ first });
    expect((await ledger.conflicts(p)).map((c) => c.body)).toEqual([{ other }]);
    const kept = (await raw('ledger_conflicts')).at(-1)!;
    expect(base64(kept.body)).not.toBe(base64(conflict.sealedBody.body));
    expect(kept.dek).not.toBe(conflict.sealedBody.dek);
    expect(JSON.stringify(kept)).not.toContain(other);
    // A repeat inside one batch is judged against the first occurrence, as for bodies in clear.
    const q = fresh();
    expect(await ledger.receive(q, null, [sealedSub(q, 'r', 'h-r', { n: 1 }), sealedSub(q, 'r', 'h-r', { n: 1 }), sealedSub(q, 'r', 'h-r2', { n: 2 })], RUNNER)).toEqual([
      'new',
      'duplicate',
      'conflict',
    ]);
    expect((await ledger.conflicts(q)).map((c) => c.body)).toEqual([{ n: 2 }]);
  });

  it('a worker-sealed body is bound to its pipeline and key; one under a key not held is sealed here, or refused', async () => {
    const p = fresh();
    await ledger.receive(p, null, [{ ...sealedSub(p, 'x', 'h-x', { n: 1 }), sealedBody: workerSeal(p, 'y', { n: 1 }) }], RUNNER);
    await expect(ledger.get(p, 'x')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    await ledger.receive(p, null, [{ ...sealedSub(p, 'z', 'h-z', { n: 1 }), sealedBody: workerSeal('other', 'z', { n: 1 }) }], RUNNER);
    await expect(ledger.get(p, 'z')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    const foreign = new KeyRing(randomBytes(32));
    const withText = { key: 'f1', contentHash: 'h-f1', body: undefined, bodyJson: '{"n":3}', sealedBody: workerSeal(p, 'f1', { n: 3 }, foreign), source: 'chunk:f1' };
    expect(await ledger.receive(p, null, [withText], RUNNER)).toEqual(['new']);
    const f1 = (await raw('ledger_bodies')).at(-1)!;
    expect(f1.kid).toBe(TEST_KEYS.current.id);
    expect(base64(f1.body)).not.toBe(base64(withText.sealedBody.body));
    expect((await ledger.get(p, 'f1'))?.body).toEqual({ n: 3 });
    const sealedOnly = { key: 'f2', contentHash: 'h-f2', body: undefined, sealedBody: workerSeal(p, 'f2', { n: 4 }, foreign), source: 'chunk:f2' };
    await expect(ledger.receive(p, null, [sealedOnly], RUNNER)).rejects.toMatchObject({ code: 'DATA_KEY_UNKNOWN' });
    expect(await ledger.get(p, 'f2')).toBeNull();
  });

  it('sealExisting seals the bodies an upgraded store holds in clear (the oldest rows), once', async () => {
    const p = fresh();
    const [old, oldConflict] = [canary('OLD'), canary('OLD-CONFLICT')];
    await ledger.receive(p, null, [sub('o', 'h-o', { n: 1 })], RUNNER);
    await ledger.receive(p, null, [sub('o', 'h-o2', { n: 2 })], RUNNER);
    const [body] = (await raw('ledger_bodies')).slice(-1);
    const [conflict] = (await raw('ledger_conflicts')).slice(-1);
    await env.ts.store.transaction(async (t) => {
      await env.ts.store.exec('UPDATE ledger_bodies SET body = $1, kid = NULL, dek = NULL WHERE id <= $2', [JSON.stringify({ old }), body!.id], t);
      await env.ts.store.exec('UPDATE ledger_conflicts SET body = $1, kid = NULL, dek = NULL WHERE id <= $2', [JSON.stringify({ oldConflict }), conflict!.id], t);
    });
    const clear = { bodies: (await raw('ledger_bodies')).length, conflicts: (await raw('ledger_conflicts')).length };
    expect(clear.bodies).toBeGreaterThan(1);
    expect((await ledger.get(p, 'o'))?.body).toEqual({ old });
    expect(await ledger.sealExisting(2)).toEqual(clear);
    const after = [...(await raw('ledger_bodies')), ...(await raw('ledger_conflicts'))];
    expect(after.every((r) => r.kid === TEST_KEYS.current.id && r.dek)).toBe(true);
    expect(JSON.stringify(after)).not.toContain(old);
    expect(JSON.stringify(after)).not.toContain(oldConflict);
    expect((await ledger.get(p, 'o'))?.body).toEqual({ old });
    expect((await ledger.conflicts(p)).map((c) => c.body)).toEqual([{ oldConflict }]);
    expect(await ledger.sealExisting()).toEqual({ bodies: 0, conflicts: 0 });
  });

  it('sealExisting finishes what an interrupted start left in clear', async () => {
    const p = fresh();
    await ledger.receive(p, null, [sub('i1', 'h-i1', { n: 1 }), sub('i2', 'h-i2', { n: 2 })], RUNNER);
    const rows = await raw('ledger_bodies');
    await env.ts.store.transaction((t) => env.ts.store.exec('UPDATE ledger_bodies SET body = $1, kid = NULL, dek = NULL', ['{"again":true}'], t));
    const keysOnly = new Ledger(env.ts.store, new AuditLog(env.ts.store), TEST_KEYS);
    let calls = 0;
    const failing = new Ledger(env.ts.store, new AuditLog(env.ts.store), TEST_KEYS, {
      bodies: {
        seal: (pipeline, place, items) => {
          if (++calls > 1) throw new Error('killed');
          return sealedBodies(TEST_KEYS).seal(pipeline, place, items);
        },
        open: (pipeline, place, key, row) => sealedBodies(TEST_KEYS).open(pipeline, place, key, row),
      },
    });
    await expect(failing.sealExisting(1)).rejects.toThrow('killed');
    expect((await raw('ledger_bodies')).filter((r) => r.kid === null)).toHaveLength(rows.length - 1);
    expect(await keysOnly.sealExisting(1)).toEqual({ bodies: rows.length - 1, conflicts: 0 });
    expect((await raw('ledger_bodies')).filter((r) => r.kid === null)).toEqual([]);
  });

});

describe.each(TEST_DIALECTS)('sealed bodies across migration 0025, on %s', (dialect) => {
  it('turns every body kept as bytes back into its base64 text on the way down, each still opening', async () => {
    const ts = await openTestStore(dialect);
    try {
      const ledger = new Ledger(ts.store, new AuditLog(ts.store), TEST_KEYS);
      const secret = canary('DOWN');
      await ledger.receive('m', null, [sub('k1', 'h1', { secret }), sub('k2', 'h2', { n: 2 })], RUNNER);
      const kind = dialect === 'sqlite' ? 'typeof(body)' : 'pg_typeof(body)::text';
      const read = () => ts.store.select<{ id: number | string; kind: string; body: string | Uint8Array }>(`SELECT id, ${kind} AS kind, body FROM ledger_bodies ORDER BY id`);
      const before = await read();
      expect(before.map((r) => r.kind)).toEqual(dialect === 'sqlite' ? ['blob', 'blob'] : ['text', 'text']);
      expect(await migrateDown(ts.store)).toBe('0025-sealed-bytes');
      const after = await read();
      expect(after.map((r) => r.kind)).toEqual(['text', 'text']);
      expect(after.map((r) => r.body)).toEqual(before.map((r) => base64(r.body)));
      expect((await ledger.get('m', 'k1'))?.body).toEqual({ secret });
      expect(await migrate(ts.store)).toEqual(['0025-sealed-bytes']);
      expect((await ledger.get('m', 'k2'))?.body).toEqual({ n: 2 });
    } finally {
      await ts.dispose();
    }
  });
});
