import { describe, expect, it } from 'vitest';
import { jsonFault, positionOf, utf8Fault } from './json-syntax.js';

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const PIECES = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '9', '-', '+', '.', 'e', 'E', 't', 'r', 'n', 'l', 'f', 'a', 's', ' ', '\n', '\t', 'x', 'A', 'é', '\u0001', '"a"', 'true', 'null', '12', '{"k":', '[1,'];
const BASE = JSON.stringify({ a: [1, -2.5e3, 'x\\"\n', { b: null, c: true, d: false }], e: {}, f: [], g: '\u00e9\u{1F600}', h: 0.5e-7 });

/** `BASE` with a few characters deleted, inserted or replaced, or a short run of random pieces. */
function mutant(rnd: () => number): string {
  const pick = () => PIECES[Math.floor(rnd() * PIECES.length)]!;
  if (rnd() < 0.5) {
    let s = '';
    for (let k = Math.floor(rnd() * 12); k > 0; k--) s += pick();
    return s;
  }
  const chars = [...BASE];
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const at = Math.floor(rnd() * chars.length);
    const op = rnd();
    if (op < 0.33) chars.splice(at, 1);
    else if (op < 0.66) chars.splice(at, 0, pick());
    else chars[at] = pick();
  }
  return chars.join('');
}

describe('jsonFault', () => {
  it('agrees with JSON.parse on 50,000 mutated texts, and finds the fault where V8 places it when V8 says', () => {
    const rnd = random(23);
    let located = 0;
    for (let t = 0; t < 50_000; t++) {
      const text = mutant(rnd);
      let err: Error | undefined;
      try {
        JSON.parse(text);
      } catch (e) {
        err = e as Error;
      }
      const fault = jsonFault(text);
      if ((err === undefined) !== (fault === undefined)) expect({ text, err: err?.message, fault }).toBe('an agreement');
      if (!err || !fault) continue;
      const at = /position (\d+)/.exec(err.message)?.[1];
      const want = at !== undefined ? Number(at) : /end of JSON input/.test(err.message) ? text.length : undefined;
      if (want === undefined) continue;
      located++;
      if (want !== fault.index) expect({ text, err: err.message, fault }).toBe('the same position');
    }
    expect(located).toBeGreaterThan(5_000);
  });

  it('names fixed reasons only, never the text, and walks 100,000 levels without recursion', () => {
    expect(jsonFault('{"name": Siân}')).toEqual({ index: 9, reason: 'an unexpected character' });
    expect(jsonFault('{"name": "Siân" "x"}')).toEqual({ index: 16, reason: "no ',' or '}' after a property value" });
    expect(jsonFault('["Siân"')).toEqual({ index: 7, reason: 'the text ends too soon' });
    expect(jsonFault('"Si\u0001ân"')).toEqual({ index: 3, reason: 'a control character in a string' });
    expect(jsonFault('{"a":"\\q"}')).toEqual({ index: 7, reason: 'a bad escape' });
    expect(jsonFault('{"a":"\\u12G4"}')).toEqual({ index: 10, reason: 'a bad \\u escape' });
    expect(jsonFault('{"a":-x}')).toEqual({ index: 6, reason: 'no digit after a minus sign' });
    expect(jsonFault('{"a" 1}')).toEqual({ index: 5, reason: "no ':' after a property name" });
    expect(jsonFault('{1:1}')).toEqual({ index: 1, reason: 'an unexpected character where a property name belongs' });
    expect(jsonFault('[1 2]')).toEqual({ index: 3, reason: "no ',' or ']' after an array element" });
    expect(jsonFault('{} Siân')).toEqual({ index: 3, reason: 'more after the JSON value' });
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    expect(jsonFault(deep)).toBeUndefined();
    expect(jsonFault(`${deep.slice(0, -1)}}`)).toEqual({ index: deep.length - 1, reason: "no ',' or ']' after an array element" });
  });
});

describe('positionOf', () => {
  it('gives the line, the column in characters and the UTF-8 byte offset', () => {
    expect(positionOf('{"a":\n "Žofia 😀" x', 18)).toEqual({ line: 2, column: 12, byteOffset: 21 });
    expect(positionOf('', 0)).toEqual({ line: 1, column: 1, byteOffset: 0 });
  });
});

describe('utf8Fault', () => {
  it('agrees with a fatal TextDecoder on 50,000 random byte strings, and points at the first bad byte', () => {
    const rnd = random(7);
    for (let t = 0; t < 50_000; t++) {
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 7) }, () => (rnd() < 0.6 ? 0x80 + Math.floor(rnd() * 0x80) : Math.floor(rnd() * 256)));
      let ok = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        ok = false;
      }
      if (ok !== (utf8Fault(bytes) === undefined)) expect([...bytes]).toBe(ok ? 'UTF-8' : 'not UTF-8');
    }
    expect(utf8Fault(Buffer.from('Žofia'))).toBeUndefined();
    expect(utf8Fault(Buffer.from([0x41, 0xc3, 0xa9, 0xed, 0xa0, 0x80]))).toBe(3);
    expect(utf8Fault(Buffer.from([0x41, 0xe2, 0x82]))).toBe(1);
  });
});
