import { describe, expect, it } from 'vitest';
import { sealedChunk, sealedParts, sharedTextParts, sharedTexts } from './sealed-chunk.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe('a chunk\'s sealed bytes', () => {
  it('keeps each body and sent copy in one shared buffer and gives each back as a view, a record without a copy as null', () => {
    const items = [
      { body: bytes('body one'), dek: 'dek1', also: bytes('sent one') },
      { body: bytes('b2'), dek: 'dek2' },
      { body: bytes('the third body'), dek: 'dek3', also: bytes('3') },
    ];
    const chunk = sealedChunk('kek-1', items);
    expect(chunk.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(chunk.bytes.byteLength).toBe(8 + 2 + 14 + 8 + 1);
    expect(chunk.kid).toBe('kek-1');
    expect(chunk.deks).toEqual(['dek1', 'dek2', 'dek3']);
    const parts = sealedParts(chunk);
    expect(parts.bodies.map(text)).toEqual(['body one', 'b2', 'the third body']);
    expect(parts.sent.map(text)).toEqual(['sent one', null, '3']);
    // Views, not copies: they share the chunk's buffer.
    for (const b of [...parts.bodies, parts.sent[0]!]) expect(b.buffer).toBe(chunk.bytes.buffer);
  });

  it('holds a chunk whose records the mapping all rejected: bodies, and no sent copy', () => {
    const parts = sealedParts(sealedChunk('kek-1', [{ body: bytes('x'), dek: 'd' }]));
    expect(parts.bodies.map(text)).toEqual(['x']);
    expect(parts.sent).toEqual([null]);
  });

  it('keeps texts as UTF-8 in one shared buffer, non-ASCII included, a record without one as null', () => {
    const shared = sharedTexts(['{"a":"Llanelli – Llanfairpwll"}', undefined, '{"b":1}', '']);
    expect(shared.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(sharedTextParts(shared).map(text)).toEqual(['{"a":"Llanelli – Llanfairpwll"}', null, '{"b":1}', null]);
    expect(sharedTextParts(sharedTexts([]))).toEqual([]);
  });
});
