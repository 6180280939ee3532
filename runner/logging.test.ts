import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CodedError } from '../lib/errors.js';
import { CryptoErrors } from '../lib/envelope.errors.js';
import { createLogger } from './logging.js';

function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  return { lines, destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }) };
}

describe('createLogger', () => {
  it("keeps what a library's error quotes of the data out of the log, and rekey's own messages whole", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, secrets: ['s3cret-CANARY-pw'] });
    let parseError: unknown;
    try {
      JSON.parse('CANARY-Smythe-77');
    } catch (e) {
      parseError = e;
    }
    log.error({ err: parseError }, 'could not read');
    log.error({ err: new CodedError(CryptoErrors.DATA_KEY_UNKNOWN, 'a data key is wrapped under kek-1') }, 'stopped');
    log.info({ body: { surname: 'CANARY-Body' }, url: 'postgres://u:s3cret-CANARY-pw@h/db' }, 'x');
    const text = lines.join('');
    expect(text).not.toContain('CANARY');
    expect(JSON.parse(lines[0]!).err.message).toMatch(/^Unexpected token "…", "…"/);
    expect(JSON.parse(lines[0]!).err.type).toBe('SyntaxError');
    expect(JSON.parse(lines[1]!).err.message).toBe('a data key is wrapped under kek-1');
  });
});
