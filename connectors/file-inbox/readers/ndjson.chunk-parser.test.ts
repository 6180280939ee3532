import { describe, expect, it } from 'vitest';
import type { ByteChunk } from '../../connector.types.js';
import { NDJSON_CHUNK_PARSER, parseNdjsonChunk } from './ndjson.chunk-parser.js';

function parse(bytes: Uint8Array, firstLine = 1): { records: [number, unknown, string][]; errors: [number, string, string][] } {
  const chunk: ByteChunk = { file: 'x.ndjson', firstLine, bytes, parser: NDJSON_CHUNK_PARSER };
  const r = parseNdjsonChunk(chunk);
  expect(r.bodies).toHaveLength(r.lines.length);
  expect(r.json).toHaveLength(r.lines.length);
  return { records: r.lines.map((l, i) => [l, r.bodies[i], r.json[i]!]), errors: r.errors.map((e) => [e.line, e.code, e.message]) };
}

describe('the NDJSON chunk parser', () => {
  it('reads each non-blank line with its line number, value and text, across CRLF and blank lines, and names itself for workers', async () => {
    const r = parse(new TextEncoder().encode('{"a":1}\r\n\n   \n{"b":"é"}\n[2]'), 7);
    expect(r.records).toEqual([
      [7, { a: 1 }, '{"a":1}'],
      [10, { b: 'é' }, '{"b":"é"}'],
      [11, [2], '[2]'],
    ]);
    expect(r.errors).toEqual([]);
    const mod = (await import(NDJSON_CHUNK_PARSER.module)) as Record<string, unknown>;
    expect(mod[NDJSON_CHUNK_PARSER.export]).toBe(parseNdjsonChunk);
  });

  it('reports a line that is not JSON and one with bytes that are not UTF-8 by line, code and field, never their content, and goes on', () => {
    const bytes = Buffer.concat([Buffer.from('{"secret": \n{"town":"Caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"ok":true}\n')]);
    const r = parse(new Uint8Array(bytes));
    expect(r.records).toEqual([[3, { ok: true }, '{"ok":true}']]);
    expect(r.errors).toEqual([
      [1, 'INPUT_MALFORMED_RECORD', expect.stringMatching(/^not valid JSON: /)],
      [2, 'INPUT_UNDECODABLE', 'field town holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding'],
    ]);
    expect(r.errors[0]![2]).not.toContain('secret');
  });
});

describe('U+FFFD in a chunk', () => {
  it('is read when it is valid UTF-8 (EF BF BD), even in a chunk that also holds an invalid byte on another line', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"\uFFFD"}\n{"b":"x'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"c":"y\uFFFD"}\n')]);
    const r = parse(new Uint8Array(bytes), 4);
    expect(r.records).toEqual([
      [4, { a: '\uFFFD' }, '{"a":"\uFFFD"}'],
      [6, { c: 'y\uFFFD' }, '{"c":"y\uFFFD"}'],
    ]);
    expect(r.errors).toEqual([[5, 'INPUT_UNDECODABLE', 'field b holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding']]);
  });
});
