import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KeyRing, keyId, newKeyText } from '../../lib/envelope.js';
import { TEST_DATA_KEY, TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekeyCli as rekey } from '../cli.test-helpers.js';
import { openRuntime } from '../runtime.js';
import { P, seed } from './state.test-helpers.js';

const A = TEST_DATA_KEY;
const B = newKeyText();
const idA = keyId(Buffer.from(A, 'hex'));
const idB = keyId(Buffer.from(B, 'hex'));
const KEYS = ['A', 'B', 'C', 'D', 'E'];

type Raw = { id: number; body: string; kid: string | null; dek: string | null };

describe('rekey keys (the built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-keys-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const evidence = join(dir, 'evidence.png');
  const cli = (env: Record<string, string>, ...args: string[]) => rekey([...args, '--state', url], dir, { REKEY_DATA_KEY_PREVIOUS: '', ...env });
  const withStore = async <T>(keys: KeyRing, fn: (ledger: Ledger, audit: AuditLog) => Promise<T>): Promise<T> => {
    const store = await openStateStore(url);
    try {
      const audit = new AuditLog(store);
      return await fn(new Ledger(store, audit, keys), audit);
    } finally {
      await store.close();
    }
  };
  const raw = () => withStore(TEST_KEYS, (l) => l.store.select<Raw>('SELECT id, body, kid, dek FROM ledger_bodies UNION ALL SELECT id, body, kid, dek FROM ledger_conflicts'));

  beforeAll(async () => {
    await seed(url);
    await withStore(TEST_KEYS, (l) => l.sealedFiles(P).write(evidence, Buffer.from('screenshot of A'), { kind: 'evidence', subject: 'A' }));
  });

  it('keys new prints a fresh key and how to give it', async () => {
    const [one, two] = await Promise.all([rekey(['keys', 'new']), rekey(['keys', 'new'])]);
    expect(one.code).toBe(0);
    const key = one.stdout.split('\n')[0]!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(two.stdout.split('\n')[0]).not.toBe(key);
    expect(one.stdout).toContain('REKEY_DATA_KEY=');
    expect(one.stdout).toContain('REKEY_DATA_KEY_PREVIOUS');
  });

  it('rotates every data key from A to B without re-encrypting, audited once; then B alone opens everything', async () => {
    const status = await cli({ REKEY_DATA_KEY: A }, 'keys', 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ current: idA, missing: [], keys: [{ kid: idA, held: true, current: true, counts: { bodies: 5, conflicts: 1, files: 1 } }] });

    const [onlyB, statusB] = await Promise.all([cli({ REKEY_DATA_KEY: B }, 'dlq', 'show', P, 'A', '--body'), cli({ REKEY_DATA_KEY: B }, 'keys', 'status')]);
    expect(onlyB.code).toBe(1);
    expect(onlyB.stderr).toContain(`DATA_KEY_UNKNOWN a data key is wrapped under ${idA}`);
    expect(statusB.code).toBe(1);
    expect(statusB.stdout).toMatch(new RegExp(`^${idA}\\s+NOT GIVEN\\s+5\\s+1\\s+1$`, 'm'));
    expect(statusB.stdout).toContain(`data under keys not given, which cannot be opened: ${idA}`);
    await expect(withStore(new KeyRing(Buffer.from(B, 'hex')), (l) => l.get(P, 'A'))).rejects.toMatchObject({ code: 'DATA_KEY_UNKNOWN' });
    const rowOnly = await cli({ REKEY_DATA_KEY: B }, 'dlq', 'show', P, 'A');
    expect(rowOnly.code).toBe(0);
    expect(rowOnly.stdout).toMatch(/^key\s+A$/m);

    const before = await raw();
    const headBefore = await withStore(TEST_KEYS, (_l, audit) => audit.head());
    const rotated = await cli({ REKEY_DATA_KEY: B, REKEY_DATA_KEY_PREVIOUS: A }, 'keys', 'rotate', '--operator', 'alice', '--json');
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({ to: idB, from: [idA], rewrapped: { bodies: 5, conflicts: 1, files: 1 } });

    const after = await raw();
    expect(after.map((r) => r.body)).toEqual(before.map((r) => r.body));
    expect(after.every((r) => r.kid === idB)).toBe(true);
    expect(after.map((r) => r.dek)).not.toEqual(before.map((r) => r.dek));

    const ringB = new KeyRing(Buffer.from(B, 'hex'));
    const opened = await withStore(ringB, async (l) => ({
      bodies: await Promise.all(KEYS.map(async (k) => (await l.get(P, k))?.body)),
      conflicts: (await l.conflicts(P)).map((c) => c.body),
      file: (await l.sealedFiles(P).read(evidence)).toString(),
      entries: await l.history(P, 'A'),
    }));
    expect(opened.bodies).toEqual(KEYS.map((k) => ({ surname: `Surname-${k}` })));
    expect(opened.conflicts).toEqual([{ surname: 'Surname-A' }]);
    expect(opened.file).toBe('screenshot of A');
    const viaCli = await cli({ REKEY_DATA_KEY: B }, 'dlq', 'show', P, 'A', '--body', '--json');
    expect(JSON.parse(viaCli.stdout).row.body).toEqual({ surname: 'Surname-A' });

    const [entry, ...more] = await withStore(TEST_KEYS, async (_l, audit) => {
      const out = [];
      for await (const line of audit.export({ format: 'json', from: headBefore.seq + 1 })) out.push(line);
      return JSON.parse(out.join('')) as { event: string; actor: string; pipeline: string; detail: unknown }[];
    });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ event: 'keys-rotated', actor: 'operator:alice', detail: { keys: [], rewrapped: { bodies: 5, conflicts: 1, files: 1 }, from: [idA], to: idB } });
    const text = JSON.stringify(entry);
    for (const secret of [A, B, Buffer.from(A, 'hex').toString('base64'), Buffer.from(B, 'hex').toString('base64')]) expect(text).not.toContain(secret);
    const verified = await cli({ REKEY_DATA_KEY: B }, 'audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^audit log OK/);

    const again = await cli({ REKEY_DATA_KEY: B, REKEY_DATA_KEY_PREVIOUS: A }, 'keys', 'rotate');
    expect(again).toMatchObject({ code: 0, stdout: `nothing to rotate: every data key is under ${idB}\n` });
    expect((await raw()).map((r) => r.dek)).toEqual(after.map((r) => r.dek));
    expect((await withStore(TEST_KEYS, (_l, audit) => audit.head())).seq).toBe(headBefore.seq + 1);
    expect(JSON.parse((await cli({ REKEY_DATA_KEY: B }, 'keys', 'status', '--json')).stdout)).toMatchObject({ missing: [], keys: [{ kid: idB, current: true }] });
  });

  it('openRuntime seals the bodies a rekey before migration 0008 left in clear', async () => {
    const clear = JSON.stringify({ surname: 'Clear-Canary' });
    await withStore(TEST_KEYS, (l) => l.store.transaction((t) => l.store.exec('UPDATE ledger_bodies SET body = $1, kid = NULL, dek = NULL', [clear], t)));
    expect((await raw()).filter((r) => r.kid === null)).toHaveLength(KEYS.length);
    const saved = process.env.REKEY_DATA_KEY;
    process.env.REKEY_DATA_KEY = B;
    try {
      const runtime = await openRuntime(url);
      try {
        expect((await runtime.ledger.get(P, 'E'))?.body).toEqual({ surname: 'Clear-Canary' });
      } finally {
        await runtime.close();
      }
    } finally {
      if (saved === undefined) delete process.env.REKEY_DATA_KEY;
      else process.env.REKEY_DATA_KEY = saved;
    }
    const rows = await raw();
    expect(rows.filter((r) => r.kid !== idB)).toEqual([]);
    expect(JSON.stringify(rows)).not.toContain('Clear-Canary');
  });
});
