import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every level by UTF-16 code units and drops undefined members', () => {
    const body = JSON.parse('{"b":1,"a":[1,{"d":2,"c":"x"}],"Z":null,"ä":true,"a\\u0000":0}') as Record<string, unknown>;
    (body.a as [number, Record<string, unknown>])[1].e = undefined;
    expect(canonicalJson(body)).toBe('{"Z":null,"a":[1,{"c":"x","d":2}],"a\\u0000":0,"b":1,"ä":true}');
  });

  it('is the same text however the keys were ordered or the JSON formatted', () => {
    const a = JSON.parse('{ "form": {"id": 7, "name": "renewal"}, "answers": {"dob": "01/02/1980", "name": "Ann"} }');
    const b = JSON.parse('{"answers":{"name":"Ann","dob":"01/02/1980"},"form":{"name":"renewal","id":7}}');
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('sorts index-like keys as text, where JavaScript would put them first in number order', () => {
    expect(canonicalJson(JSON.parse('{"b":0,"10":1,"9":2,"a":3}'))).toBe('{"10":1,"9":2,"a":3,"b":0}');
  });

  it('keeps a "__proto__" member as data', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"b":1}');
  });

  it('writes undefined array items and non-finite numbers as null, and values that are not plain data as their members', () => {
    expect(canonicalJson([undefined, Number.NaN, -0, 1.5])).toBe('[null,null,0,1.5]');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ at: new Date(0), n: 1 })).toBe('{"at":{},"n":1}');
    expect(canonicalJson({ f: () => 1, a: 1 })).toBe('{"a":1,"f":null}');
  });

  it('writes data nested 10,000 levels deep without overflowing the stack, to the text shallow data would have', () => {
    const depth = 10_000;
    let body: unknown = { z: 1, a: [true, null] };
    for (let i = 0; i < depth; i++) body = i % 2 ? [body, 'x'] : { y: body, b: i };
    let expected = '{"a":[true,null],"z":1}';
    for (let i = 0; i < depth; i++) expected = i % 2 ? `[${expected},"x"]` : `{"b":${i},"y":${expected}}`;
    expect(canonicalJson(body)).toBe(expected);
    expect(canonicalJson(JSON.parse(JSON.stringify({ a: 1 })))).toBe('{"a":1}');
  });

  it('writes a sparse array as it always has, so hashes made before stay true', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(canonicalJson({ b: [1, , 2], a: { toJSON: () => 'x', k: 1 } })).toBe('{"a":{"k":1,"toJSON":null},"b":[1,,2]}');
  });
});
