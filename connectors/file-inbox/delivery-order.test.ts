/**
 * Issue 21, Readers point 3: the order a file's records reach the target.
 * 50 records whose keys descend (R50 first, R01 last), so key order is the
 * reverse of file order. See docs/file-inbox.md, "Order of delivery".
 * On both state stores: the claim's SQL differs between them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMapping } from '../../mappings/index.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../../pipelines/store/store.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { chunkParser, mapChunk } from '../../pipelines/flow/chunk-map.js';
import { testOptions, testPipeline, TestTarget } from '../../pipelines/flow/flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { FileSource } from './file.source.js';

const mapping = loadMapping('order.yaml', 'mapping: order\nkey: "{{ref}}"\nfields:\n  REF: { from: ref }\n').compiled!;
const refs = Array.from({ length: 50 }, (_, i) => `R${String(50 - i).padStart(2, '0')}`);

const delivered = (target: TestTarget) => target.calls.map((c) => c.key);

describe.each(TEST_DIALECTS)('order of delivery within one file, %s state store', (dialect) => {
  let dir: string;
  let ts: TestStore;
  let ledger: Ledger;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rekey-order-'));
    await mkdir(join(dir, 'in'));
    ts = await openTestStore(dialect);
    ledger = new Ledger(ts.store, new AuditLog(ts.store), TEST_KEYS);
  });
  afterEach(async () => {
    await ts.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('NDJSON read by the file source in byte chunks (the worker path): file order, across chunks and batches', async () => {
    await writeFile(join(dir, 'in', 'x.ndjson'), refs.map((ref) => JSON.stringify({ ref, pad: 'x'.repeat(40) })).join('\n') + '\n');
    const source = new FileSource({ path: 'in/x.ndjson', chunkBytes: 1024 }, { baseDir: dir, pipeline: 'order' });
    expect(source.chunks).toBeDefined();
    const opts = testOptions({ mapChunk: async (chunk, seal) => mapChunk(mapping, await chunkParser(chunk.parser), { ...chunk, piiKey: Buffer.alloc(32, 1), seal }), chunksInFlight: 3 });
    const target = new TestTarget();
    const r = await runPass(testPipeline(source, target, { name: 'order', mapping, batchSize: 7 }), ledger, opts);
    expect(r).toMatchObject({ read: 50, delivered: 50 });
    expect(delivered(target)).toEqual(refs);
  });

  it('CSV read on the main thread, in one receive batch: file order, not key order', async () => {
    await writeFile(join(dir, 'in', 'x.csv'), `ref\n${refs.join('\n')}\n`);
    const target = new TestTarget();
    const r = await runPass(testPipeline(new FileSource({ path: 'in/x.csv' }, { baseDir: dir, pipeline: 'order' }), target, { name: 'order', mapping, batchSize: 100 }), ledger, testOptions());
    expect(r).toMatchObject({ read: 50, delivered: 50 });
    expect(delivered(target)).toEqual(refs);
  });

  it('CSV read on the main thread in several receive batches, delivered in smaller ones: file order', async () => {
    await writeFile(join(dir, 'in', 'x.csv'), `ref\n${refs.join('\n')}\n`);
    const target = new TestTarget();
    const r = await runPass(testPipeline(new FileSource({ path: 'in/x.csv' }, { baseDir: dir, pipeline: 'order' }), target, { name: 'order', mapping, batchSize: 6 }), ledger, testOptions());
    expect(r).toMatchObject({ read: 50, delivered: 50 });
    expect(delivered(target)).toEqual(refs);
  });

  it('NDJSON chunks recorded while the write window is closed: file order when the ledger delivers them later', async () => {
    await writeFile(join(dir, 'in', 'x.ndjson'), refs.map((ref) => JSON.stringify({ ref, pad: 'x'.repeat(40) })).join('\n') + '\n');
    const opts = testOptions({ mapChunk: async (chunk, seal) => mapChunk(mapping, await chunkParser(chunk.parser), { ...chunk, piiKey: Buffer.alloc(32, 1), seal }), chunksInFlight: 3 });
    const closed = new TestTarget();
    const shut = await runPass({ ...testPipeline(new FileSource({ path: 'in/x.ndjson', chunkBytes: 1024 }, { baseDir: dir, pipeline: 'order' }), closed, { name: 'order', mapping, batchSize: 7 }), writeAllowed: () => false, nextWriteTime: () => undefined }, ledger, opts);
    expect(shut).toMatchObject({ read: 50, delivered: 0 });
    const target = new TestTarget();
    const r = await runPass(testPipeline(new FileSource({ path: 'in/x.ndjson', chunkBytes: 1024 }, { baseDir: dir, pipeline: 'order' }), target, { name: 'order', mapping, batchSize: 7 }), ledger, opts);
    expect(r).toMatchObject({ delivered: 50 });
    expect(delivered(target)).toEqual(refs);
  });
});
