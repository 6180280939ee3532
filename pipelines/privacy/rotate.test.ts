import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../lib/envelope.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { sub, useTestLedger } from '../ledger/ledger.test-helpers.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { keyStatus, rotateKeys } from './rotate.js';

const RUNNER = 'runner:test:1';

describe.each(TEST_DIALECTS)('key rotation on %s', (dialect) => {
  const env = useTestLedger(dialect);
  const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const ringA = new KeyRing(a);
  const ringBA = new KeyRing(b, [a]);
  const ringB = new KeyRing(b);
  const file = join(mkdtempSync(join(tmpdir(), 'rekey-rotate-')), 'evidence.bin');
  const ledgerWith = (keys: KeyRing) => new Ledger(env.ts.store, new AuditLog(env.ts.store), keys);
  const deks = () => env.ts.store.select<{ kid: string; dek: string; body: string | null }>(
    'SELECT kid, dek, body FROM ledger_bodies UNION ALL SELECT kid, dek, body FROM ledger_conflicts UNION ALL SELECT kid, dek, NULL AS body FROM sealed_files ORDER BY dek',
  );

  beforeAll(async () => {
    const l = ledgerWith(ringA);
    await l.receive('p', null, [sub('k1', 'h1', { n: 1 }), sub('k2', 'h2', { n: 2 }), sub('k3', 'h3', { n: 3 })], RUNNER);
    await l.receive('p', null, [sub('k1', 'h1b', { n: 11 })], RUNNER);
    await l.sealedFiles('p').write(file, Buffer.from('evidence of k1'), { kind: 'evidence', subject: 'k1' });
  });

  it('re-wraps every data key in batches without touching bodies, audits once, and a ring of the new key alone opens everything', async () => {
    expect((await keyStatus(env.ts.store, ringB)).missing).toEqual([ringA.current.id]);
    await expect(ledgerWith(ringB).get('p', 'k1')).rejects.toMatchObject({ code: 'DATA_KEY_UNKNOWN' });
    const bodies = (await deks()).map((r) => r.body).sort();
    const audit = new AuditLog(env.ts.store);
    const head = await audit.head();
    const report = await rotateKeys(env.ts.store, audit, ringBA, 'operator:alice', 2);
    expect(report).toEqual({ to: ringB.current.id, from: [ringA.current.id], rewrapped: { bodies: 3, conflicts: 1, files: 1 } });
    const after = await deks();
    expect(after.every((r) => r.kid === ringB.current.id)).toBe(true);
    expect(after.map((r) => r.body).sort()).toEqual(bodies);
    const l = ledgerWith(ringB);
    expect(await Promise.all(['k1', 'k2', 'k3'].map(async (k) => (await l.get('p', k))?.body))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect((await l.conflicts('p')).map((x) => x.body)).toEqual([{ n: 11 }]);
    expect((await l.sealedFiles('p').read(file)).toString()).toBe('evidence of k1');
    expect((await audit.head()).seq).toBe(head.seq + 1);
    expect(await audit.verify()).toMatchObject({ ok: true });
    expect(await keyStatus(env.ts.store, ringB)).toMatchObject({ missing: [], keys: [{ kid: ringB.current.id, counts: { bodies: 3, conflicts: 1, files: 1 } }] });

    expect(await rotateKeys(env.ts.store, audit, ringBA, 'operator:alice')).toEqual({ to: ringB.current.id, from: [], rewrapped: { bodies: 0, conflicts: 0, files: 0 } });
    expect((await audit.head()).seq).toBe(head.seq + 1);
    expect((await deks()).map((r) => r.dek)).toEqual(after.map((r) => r.dek));
  });

  it('stops with DATA_KEY_UNKNOWN when a data key is under a key not given', async () => {
    await expect(rotateKeys(env.ts.store, new AuditLog(env.ts.store), new KeyRing(c), 'operator:bob')).rejects.toMatchObject({ code: 'DATA_KEY_UNKNOWN' });
    expect((await deks()).every((r) => r.kid === ringB.current.id)).toBe(true);
  });
});
