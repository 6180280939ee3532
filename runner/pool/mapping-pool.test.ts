import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMappingFile } from '../mapping-files.js';
import { contentHash, submissionKey } from '../../pipelines/flow/submission-key.js';
import { NDJSON_CHUNK_PARSER } from '../../connectors/file-inbox/readers/ndjson.chunk-parser.js';
import { MappingPool } from './mapping-pool.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { sealedBodies } from '../../pipelines/privacy/bodies.js';
import { sealedParts } from '../../pipelines/flow/sealed-chunk.js';
import { sentAad, type SentRecord } from '../../pipelines/privacy/sent-copy.js';
import { unseal } from '../../lib/envelope.js';
import type { MapResult } from '../../mappings/index.js';
import { PipelinePools } from './pipeline-pools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mappingFile = `${root}examples/mappings/change-of-address.yaml`;
const ndjsonFile = `${root}fixtures/submissions/govuk-forms/change-of-address.ndjson`;

describe('mapping worker pool', () => {
  const pool = new MappingPool(mappingFile, 2);
  afterAll(() => pool.close());

  it('maps bodies on worker threads exactly as the main thread does', async () => {
    const compiled = (await loadMappingFile(mappingFile)).compiled!;
    const bodies = readFileSync(ndjsonFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    const results = await pool.mapMany(bodies);
    expect(JSON.parse(JSON.stringify(results))).toEqual(JSON.parse(JSON.stringify(bodies.map((b) => compiled.map(b)))));
  });

  it('parses (with the parser the chunk names), keys, hashes and maps an NDJSON chunk, reporting a bad line and keeping the rest', async () => {
    const compiled = (await loadMappingFile(mappingFile)).compiled!;
    const lines = readFileSync(ndjsonFile, 'utf8').trim().split('\n');
    const text = [lines[0], '{"broken": ', '', lines[1]].join('\n') + '\n';
    const r = await pool.mapChunk({ file: 'x.ndjson', firstLine: 10, bytes: new TextEncoder().encode(text), parser: NDJSON_CHUNK_PARSER });
    expect(r.lines).toEqual([10, 13]);
    expect(r.errors).toEqual([{ line: 11, code: 'INPUT_MALFORMED_RECORD', message: expect.stringMatching(/^not valid JSON: /) }]);
    expect(r.errors[0]!.message).not.toContain('broken');
    const first = JSON.parse(lines[0]!) as unknown;
    const hash = contentHash(first);
    expect(r.hashes[0]).toBe(hash);
    expect(r.keys[0]).toBe(submissionKey(compiled, first, hash));
    expect(r.bodies[0]).toBe(lines[0]);
    expect(JSON.parse(r.results)[0]).toEqual(JSON.parse(JSON.stringify(compiled.map(first))));
  });

  it('reports a line with bytes that are not UTF-8 as undecodable, naming the field, and keeps the rest', async () => {
    const lines = readFileSync(ndjsonFile, 'utf8').trim().split('\n');
    const bad = Buffer.concat([Buffer.from('{"submission_reference":"ABC","town":"Caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]);
    const bytes = Buffer.concat([Buffer.from(`${lines[0]}\n`), bad, Buffer.from(`${lines[1]}\n`)]);
    const r = await pool.mapChunk({ file: 'x.ndjson', firstLine: 1, bytes: new Uint8Array(bytes), parser: NDJSON_CHUNK_PARSER });
    expect(r.lines).toEqual([1, 3]);
    expect(r.errors).toEqual([
      { line: 2, code: 'INPUT_UNDECODABLE', message: 'field town holds bytes that are not valid utf-8; if the file is in another encoding (windows-1252, latin1), set encoding' },
    ]);
  });

  it('seals each body on the worker for ledger_bodies of its pipeline and key, with the ledger\'s codec, and returns it only sealed', async () => {
    const lines = readFileSync(ndjsonFile, 'utf8').trim().split('\n').slice(0, 3);
    const chunk = () => ({ file: 'x.ndjson', firstLine: 1, bytes: new TextEncoder().encode(`${lines.join('\n')}\n`), parser: NDJSON_CHUNK_PARSER });
    const seal = { pipeline: 'p', kid: TEST_KEYS.current.id, key: new Uint8Array(TEST_KEYS.current.key) };
    const r = await pool.mapChunk(chunk(), seal);
    expect(r.bodies).toEqual([]);
    expect(r.sealed!.kid).toBe(TEST_KEYS.current.id);
    // Handed over as bytes in memory the threads share, not copied as text.
    expect(r.sealed!.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    const parts = sealedParts(r.sealed!);
    expect(parts.bodies).toHaveLength(3);
    expect(new Set(r.sealed!.deks).size).toBe(3);
    const ledgerCodec = sealedBodies(TEST_KEYS);
    const row = (i: number) => ({ body: parts.bodies[i]!, kid: r.sealed!.kid, dek: r.sealed!.deks[i]! });
    r.keys.forEach((key, i) => expect(ledgerCodec.open('p', 'body', key, row(i))).toBe(lines[i]));
    expect(ledgerCodec.storable!(row(0))).toBe(true);
    for (const [pipeline, place, key] of [['q', 'body', r.keys[0]], ['p', 'conflict', r.keys[0]], ['p', 'body', r.keys[1]]] as const) {
      expect(() => ledgerCodec.open(pipeline, place, key!, row(0))).toThrow(expect.objectContaining({ code: 'DATA_DECRYPT_FAILED' }));
    }
    expect(Buffer.from(r.sealed!.bytes).toString('latin1')).not.toContain('submission_reference');
    // Each record the mapping took has the record it will send sealed under its body's data key, after the bodies.
    const results = JSON.parse(r.results) as MapResult[];
    expect(results.every((m) => m.ok)).toBe(true);
    r.keys.forEach((key, i) => {
      const dataKey = TEST_KEYS.unwrap({ kid: r.sealed!.kid, wrapped: r.sealed!.deks[i]! });
      const sent = JSON.parse(unseal(dataKey, Buffer.from(parts.sent[i]!), sentAad('p', key)).toString('utf8')) as SentRecord;
      expect(sent.record).toEqual((results[i] as MapResult & { ok: true }).record);
    });
    await expect(pool.mapChunk(chunk(), { ...seal, key: new Uint8Array(32) })).rejects.toThrow(/not kek-/);
    const clear = await pool.mapChunk(chunk());
    expect(clear.sealed).toBeUndefined();
    expect(clear.bodies).toEqual(lines);
  });
});

describe('pools of a long-running runner', () => {
  it('map with the version the caller compiled: kept while it is current, remade for a new version, failing when the file no longer holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-pools-'));
    const file = join(dir, 'm.yaml');
    const text = (to: string) => ['mapping: pools', 'fields:', `  OUT: { from: x, transform: [${to}] }`, ''].join('\n');
    writeFileSync(file, text('upper'));
    const v1 = (await loadMappingFile(file)).compiled!.version;
    const pools = new PipelinePools(Buffer.alloc(16, 1));
    try {
      const first = await pools.get('p', { mappingFile: file, mappingVersion: v1, threads: 1 });
      expect(await pools.get('p', { mappingFile: file, mappingVersion: v1, threads: 1 })).toBe(first);
      expect((await first!.mapMany([{ x: 'ab' }]))[0]).toMatchObject({ ok: true, record: { OUT: 'AB' } });
      writeFileSync(file, text('lower'));
      expect((await first!.mapMany([{ x: 'ab' }]))[0]).toMatchObject({ ok: true, record: { OUT: 'AB' } });
      const stale = new MappingPool(file, 1, undefined, v1);
      await expect(stale.mapMany([{ x: 'ab' }])).rejects.toThrow(/changed while running/);
      await stale.close();
      const v2 = (await loadMappingFile(file)).compiled!.version;
      const second = await pools.get('p', { mappingFile: file, mappingVersion: v2, threads: 1 });
      expect(second).not.toBe(first);
      expect((await second!.mapMany([{ x: 'AB' }]))[0]).toMatchObject({ ok: true, record: { OUT: 'ab' } });
      expect(await pools.get('p', { mappingFile: file, mappingVersion: v2, threads: 0 })).toBeUndefined();
    } finally {
      await pools.close();
    }
  });
});
