import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPiiKey, parsePiiKey, PII_HASH, piiHash } from './pii.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');

describe('piiHash', () => {
  it('is HMAC-SHA256 with the deployer key, truncated to 32 hex, recomputable by an auditor', () => {
    const h = piiHash('Smith-Jones', KEY);
    expect(h).toMatch(PII_HASH);
    expect(h).toBe(`hmac:${createHmac('sha256', KEY).update('Smith-Jones').digest('hex').slice(0, 32)}`);
    expect(h).not.toContain('Smith');
    expect(piiHash('Smith-Jones', KEY)).toBe(h);
    expect(piiHash('smith-jones', KEY)).not.toBe(h);
    expect(piiHash('Smith-Jones', Buffer.alloc(32, 1))).not.toBe(h);
    expect(piiHash({ b: 1, a: 2 }, KEY)).toBe(piiHash('{"a":2,"b":1}', KEY));
  });

  it('equals the HMAC of node:crypto for keys of any length and any text', () => {
    for (const n of [16, 32, 63, 64, 65, 100]) {
      const key = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      for (const text of ['', 'Smith', 'Seán Ó Briain — 東京', 'x'.repeat(200), '東'.repeat(400), 'y'.repeat(5000), 'Smith']) {
        expect(piiHash(text, key), `${n} bytes, ${JSON.stringify(text.slice(0, 10))}`).toBe(`hmac:${createHmac('sha256', key).update(text, 'utf8').digest('hex').slice(0, 32)}`);
      }
    }
  });

  it('reads the key as hex, base64 or from a file, and refuses short or missing keys', () => {
    expect(parsePiiKey(KEY.toString('hex'))).toEqual(KEY);
    expect(parsePiiKey(KEY.toString('base64'))).toEqual(KEY);
    expect(loadPiiKey({ REKEY_AUDIT_PII_KEY: KEY.toString('base64') })).toEqual(KEY);
    const dir = mkdtempSync(join(tmpdir(), 'rekey-pii-'));
    writeFileSync(join(dir, 'k'), `${KEY.toString('hex')}\n`);
    expect(loadPiiKey({ REKEY_AUDIT_PII_KEY_FILE: join(dir, 'k') })).toEqual(KEY);
    expect(() => parsePiiKey('abcd')).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    expect(() => loadPiiKey({})).toThrow(expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }));
    expect(() => loadPiiKey({ REKEY_AUDIT_PII_KEY_FILE: join(dir, 'missing') })).toThrow(/ENOENT/);
  });
});
