import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointName, openCheckpointStore } from './checkpoint-store.js';
import { readCheckpointFile, signCheckpoint } from './checkpoints.js';

const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'rekey-cp-store-'));
  dirs.push(d);
  return d;
};

describe('checkpoint store in a folder', () => {
  it('writes one read-only file per seq, never replaces it, and tells a second head at the same seq apart', async () => {
    const dir = newDir();
    const store = await openCheckpointStore(dir);
    const cp = signCheckpoint(12, 'a'.repeat(64), pem);
    const where = join(dir, checkpointName(12));
    expect(await store.write(cp)).toEqual({ outcome: 'written', where });
    expect(statSync(where).mode & 0o777).toBe(0o444);
    const text = readFileSync(where, 'utf8');
    expect(await store.write(signCheckpoint(12, 'a'.repeat(64), pem, new Date(0)))).toEqual({ outcome: 'exists', where });
    expect(await store.write(signCheckpoint(12, 'b'.repeat(64), pem))).toEqual({ outcome: 'conflict', where });
    expect(readFileSync(where, 'utf8')).toBe(text);
    await store.write(signCheckpoint(3, 'c'.repeat(64), pem));
    expect((await readCheckpointFile(dir)).map((c) => c.seq)).toEqual([3, 12]);
  });

  it('refuses a folder that does not exist, a file, and a scheme other than http(s)', async () => {
    const dir = newDir();
    const file = join(dir, 'f');
    writeFileSync(file, '');
    for (const [spec, message] of [
      [join(dir, 'missing'), `REKEY_AUDIT_CHECKPOINTS ${join(dir, 'missing')} is not a folder that exists`],
      [file, `REKEY_AUDIT_CHECKPOINTS ${file} is not a folder that exists`],
      ['s3://bucket/rekey', 'REKEY_AUDIT_CHECKPOINTS s3://bucket/rekey: only folders and http(s) URLs are supported'],
    ]) {
      await expect(openCheckpointStore(spec!)).rejects.toMatchObject({ code: 'AUDIT_CHECKPOINTS_UNAVAILABLE', message });
    }
    expect((await openCheckpointStore('https://worm.example/rekey/')).location).toBe('https://worm.example/rekey/');
  });
});
