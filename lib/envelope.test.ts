import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KeyRing, keyId, newKeyText, openSealedFile, parseKey, readSealedFile, seal, unseal, writeSealedFile } from './envelope.js';

const key = (n: number) => Buffer.alloc(32, n);
const CANARY = 'CANARY-Zebedee-Quux-41';

describe('seal and unseal', () => {
  it('round-trips, and the sealed bytes never hold the plaintext', () => {
    const sealed = seal(key(1), CANARY, 'p\0k1');
    expect(sealed.includes(Buffer.from(CANARY))).toBe(false);
    expect(unseal(key(1), sealed, 'p\0k1').toString()).toBe(CANARY);
  });

  it('refuses another key, another place, and any altered byte', () => {
    const sealed = seal(key(1), CANARY, 'p\0k1');
    expect(() => unseal(key(2), sealed, 'p\0k1')).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    expect(() => unseal(key(1), sealed, 'p\0k2')).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    for (const i of [0, 5, 20, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[i] = bad[i]! ^ 1;
      expect(() => unseal(key(1), bad, 'p\0k1')).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    }
  });

  it('uses a fresh IV every time', () => {
    expect(seal(key(1), CANARY, 'a').equals(seal(key(1), CANARY, 'a'))).toBe(false);
  });
});

describe('KeyRing', () => {
  it('wraps data keys under the current key and unwraps them with an older one after a change', () => {
    const old = new KeyRing(key(1));
    const dk = old.newDataKey();
    expect(dk.wrapped.kid).toBe(keyId(key(1)));
    const next = new KeyRing(key(2), [key(1)]);
    expect(next.unwrap(dk.wrapped).equals(dk.key)).toBe(true);
    const moved = next.rewrap(dk.wrapped);
    expect(moved.kid).toBe(keyId(key(2)));
    expect(new KeyRing(key(2)).unwrap(moved).equals(dk.key)).toBe(true);
    expect(next.rewrap(moved)).toBe(moved);
  });

  it('names the missing key when a data key was wrapped under a key it does not hold', () => {
    const dk = new KeyRing(key(1)).newDataKey();
    expect(() => new KeyRing(key(2)).unwrap(dk.wrapped)).toThrow(
      expect.objectContaining({ code: 'DATA_KEY_UNKNOWN', message: `a data key is wrapped under ${keyId(key(1))}, which is not among the keys given (${keyId(key(2))})` }),
    );
  });

  it('parses keys as hex or base64 of 32 bytes, and refuses others without echoing them', () => {
    const hex = newKeyText();
    expect(parseKey(hex, 'K').toString('hex')).toBe(hex);
    expect(parseKey(Buffer.from(hex, 'hex').toString('base64'), 'K').toString('hex')).toBe(hex);
    expect(() => parseKey('abcd', 'REKEY_DATA_KEY')).toThrow(
      expect.objectContaining({ code: 'DATA_KEY_INVALID', message: 'REKEY_DATA_KEY is not a 32-byte key written as 64 hex digits or base64' }),
    );
  });
});

describe('sealed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-envelope-'));

  it('writes only ciphertext, from bytes or a stream, and reads it back', async () => {
    const path = join(dir, 'a.sealed');
    const big = Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.from(`${CANARY} line ${i}\n`)));
    await writeSealedFile(path, key(3), 'f', Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
    const raw = readFileSync(path);
    expect(raw.includes(Buffer.from(CANARY))).toBe(false);
    expect((await readSealedFile(path, key(3), 'f')).equals(big)).toBe(true);
    await writeSealedFile(path, key(3), 'f', new Uint8Array(0));
    expect((await readSealedFile(path, key(3), 'f')).length).toBe(0);
  });

  it('errors on a truncated or altered file, and on a clear one', async () => {
    const path = join(dir, 'b.sealed');
    await writeSealedFile(path, key(3), 'f', Buffer.from(CANARY));
    const raw = readFileSync(path);
    writeFileSync(path, Buffer.concat([raw.subarray(0, raw.length - 17), raw.subarray(raw.length - 16)]));
    await expect(readSealedFile(path, key(3), 'f')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED' });
    writeFileSync(join(dir, 'clear.csv'), 'a,b\n1,2\n');
    await expect(openSealedFile(join(dir, 'clear.csv'), key(3), 'f')).rejects.toMatchObject({ code: 'DATA_DECRYPT_FAILED', message: 'clear.csv is not a sealed file' });
  });
});
