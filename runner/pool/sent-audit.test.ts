/**
 * What a delivery records on the chunked path (a file source cut into
 * byte chunks, mapped on worker threads or on the main thread): the
 * delivered entries carry the sent hash and every field's keyed hash
 * computed where the chunk was mapped, and the SQLite target's identity;
 * the record as sent is kept sealed; rejected submissions' entries name
 * the mapping version; the ledger says which file and line each came from.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../lib/canonical-json.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { piiHash } from '../../pipelines/audit/pii.js';
import { flowPipeline } from '../../pipelines/flow/flow-pipeline.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { mappingOptions } from '../commands/run.command.js';
import { loadPipelineFile } from '../pipeline-files.js';
import { piiHasher } from '../runtime.js';
import { MappingPool } from './mapping-pool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mappingFile = `${root}examples/mappings/change-of-address.yaml`;
const lines = readFileSync(`${root}fixtures/submissions/govuk-forms/change-of-address.ndjson`, 'utf8').trim().split('\n');
const PII_KEY = Buffer.alloc(32, 9);

describe('what a delivery records on the chunked path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-sent-audit-'));
  const pool = new MappingPool(mappingFile, 1, PII_KEY);
  const stores: StateStore[] = [];
  afterAll(async () => {
    await pool.close();
    await Promise.all(stores.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['on a worker thread', true],
    ['on the main thread', false],
  ])('mapped %s', async (label, onWorker) => {
    const name = onWorker ? 'worker' : 'main';
    const store = await openStateStore(`sqlite:${join(dir, `${name}.sqlite`)}`);
    stores.push(store);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    // A record the mapping rejects: no name at all.
    const bad = JSON.stringify({ ...(JSON.parse(lines[0]!) as object), submission_reference: 'BADNAME1', answers: [] });
    writeFileSync(join(dir, `${name}.ndjson`), `${[...lines, bad].join('\n')}\n`);
    writeFileSync(
      join(dir, `${name}.yaml`),
      [
        `pipeline: ${name}`,
        `mapping: ${mappingFile}`,
        `source: { kind: file, config: { path: ${name}.ndjson } }`,
        `target: { kind: sqlite, config: { path: ./${name}-legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, setupSql: ${root}fixtures/legacy/drv_addr_chg.sqlite.sql } }`,
        '',
      ].join('\n'),
    );
    const loaded = await loadPipelineFile(join(dir, `${name}.yaml`));
    if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
    const opts = { owner: 'runner:test:1', actor: 'runner:test:1', log: pino({ level: 'silent' }), signal: new AbortController().signal, leaseMs: 60_000, retryWaitMs: 0 };
    const mapping = loaded.pipeline.mapping;
    const r = await runPass(flowPipeline(loaded.pipeline), ledger, { ...opts, piiHash: piiHasher(PII_KEY), ...mappingOptions(onWorker ? pool : undefined, mapping, PII_KEY) });
    expect(r.delivered, label).toBeGreaterThan(0);
    expect(r.rejected).toBeGreaterThan(0);

    const delivered = (await ledger.list(name, { states: ['delivered'], limit: 100 }))[0]!;
    expect(delivered.source).toBe(`${name}.ndjson:${lines.findIndex((l) => l.includes(delivered.key.split('/')[1]!)) + 1}`);
    const entry = (await ledger.history(name, delivered.key)).find((e) => e.event === 'delivered')!;
    const record = entry.detail.records!.find((x) => x.key === delivered.key)!;
    const sent = await ledger.sentRecord(name, delivered.key);
    expect(sent).not.toBeNull();
    const fields = Object.fromEntries(Object.entries(sent!.record).map(([f, v]) => [f, piiHash(v, PII_KEY)]));
    expect(record.sent).toEqual({ hash: `sha256:${createHash('sha256').update(canonicalJson(sent)).digest('hex')}`, fields });
    expect(record.target).toEqual({ kind: 'sqlite', system: expect.stringMatching(new RegExp(`${name}-legacy\\.sqlite$`)) as unknown, object: 'DRV_ADDR_CHG' });
    // The PII fields' hashes are those in sent.fields, not written a second time.
    expect(record.pii).toBeUndefined();
    expect(typeof sent!.record.SURNAME).toBe('string');
    expect(JSON.stringify(entry)).not.toContain(String(sent!.record.SURNAME));

    const history = await ledger.history(name, 'Change the address on your driving licence/BADNAME1');
    expect(history.map((e) => [e.event, e.mappingVersion])).toEqual([
      ['received', mapping.version],
      ['rejected', mapping.version],
    ]);
    expect((await ledger.get(name, 'Change the address on your driving licence/BADNAME1'))?.source).toBe(`${name}.ndjson:${lines.length + 1}`);
  });
});
