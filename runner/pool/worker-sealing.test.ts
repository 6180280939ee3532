/**
 * The chunked path with bodies sealed on the mapping workers: a real pass
 * (file source, worker pool, SQLite ledger and target) stores what the
 * workers sealed, the main thread sealing only conflicts, and without a
 * worker key (the bench's clear codec) the main thread seals every body.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { flowPipeline } from '../../pipelines/flow/flow-pipeline.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { sealedBodies, sealedBytes, type BodyCodec } from '../../pipelines/privacy/bodies.js';
import { readSentCopy } from '../../pipelines/privacy/sent-copy.js';
import type { StoreDialect } from '../../pipelines/store/state-store.js';
import { openTestStore, TEST_DIALECTS } from '../../pipelines/store/store.test-helpers.js';
import { mappingOptions } from '../commands/run.command.js';
import { loadPipelineFile } from '../pipeline-files.js';
import { piiHasher } from '../runtime.js';
import { MappingPool } from './mapping-pool.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const mappingFile = `${root}examples/mappings/change-of-address.yaml`;
const lines = readFileSync(`${root}fixtures/submissions/govuk-forms/change-of-address.ndjson`, 'utf8').trim().split('\n');
const PII_KEY = Buffer.alloc(32, 7);

/** `codec` counting the bodies the main thread seals, by place; `worker`: whether its worker key goes on. */
function counting(codec: BodyCodec, worker: boolean): { codec: BodyCodec; sealed: Record<string, number> } {
  const sealed: Record<string, number> = { body: 0, conflict: 0 };
  return {
    sealed,
    codec: {
      ...(worker ? { workerKey: codec.workerKey, storable: codec.storable } : {}),
      seal(pipeline, place, items) {
        sealed[place]! += items.length;
        return codec.seal(pipeline, place, items);
      },
      open: (pipeline, place, key, row) => codec.open(pipeline, place, key, row),
    },
  };
}

describe('bodies sealed on the mapping workers (chunked path)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-worker-seal-'));
  const pool = new MappingPool(mappingFile, 1, PII_KEY);
  const disposals: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await pool.close();
    await Promise.all(disposals.map((d) => d()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A pass of `input` into the legacy table of folder `at` (under the test's folder). */
  async function pass(name: string, input: string[], ledger: Ledger, at = '.') {
    const base = join(dir, at);
    mkdirSync(base, { recursive: true });
    const file = join(base, `${name}.ndjson`);
    writeFileSync(file, `${input.join('\n')}\n`);
    writeFileSync(
      join(base, `${name}.yaml`),
      [
        `pipeline: ${name.replace(/-\d+$/, '')}`,
        `mapping: ${mappingFile}`,
        `source: { kind: file, config: { path: ${file} } }`,
        `target: { kind: sqlite, config: { path: ./legacy.sqlite, table: DRV_ADDR_CHG, keyColumn: SUBMISSION_KEY, setupSql: ${root}fixtures/legacy/drv_addr_chg.sqlite.sql } }`,
        '',
      ].join('\n'),
    );
    const loaded = await loadPipelineFile(join(base, `${name}.yaml`));
    if (!loaded.pipeline) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
    const opts = { owner: 'runner:test:1', actor: 'runner:test:1', log: pino({ level: 'silent' }), signal: new AbortController().signal, leaseMs: 60_000, retryWaitMs: 0 };
    return runPass(flowPipeline(loaded.pipeline), ledger, { ...opts, piiHash: piiHasher(PII_KEY), ...mappingOptions(pool, loaded.pipeline.mapping, PII_KEY) });
  }

  async function ledgerWith(worker: boolean, dialect: StoreDialect = 'sqlite') {
    const opened = await openTestStore(dialect);
    disposals.push(() => opened.dispose());
    const store = opened.store;
    const c = counting(sealedBodies(TEST_KEYS), worker);
    return { store, sealed: c.sealed, ledger: new Ledger(store, new AuditLog(store), TEST_KEYS, { bodies: c.codec }) };
  }

  it.each(TEST_DIALECTS)('stores the workers\' seals as they are (%s); a duplicate stores nothing, a conflict is sealed again on the main thread', async (dialect) => {
    const { store, sealed, ledger } = await ledgerWith(true, dialect);
    const first = await pass('sealed-1', lines, ledger, dialect);
    expect(first).toMatchObject({ read: lines.length, receivedNew: lines.length, unreadable: 0 });
    expect(first.delivered).toBeGreaterThan(0);
    expect(sealed).toEqual({ body: 0, conflict: 0 });
    // The workers hand their seals over as bytes: SQLite keeps the bytes, PostgreSQL their base64 text.
    const rows = await store.select<{ body: string | Uint8Array; kid: string | null; dek: string | null }>('SELECT body, kid, dek FROM ledger_bodies ORDER BY id');
    expect(rows).toHaveLength(lines.length);
    for (const r of rows) {
      expect(r.kid).toBe(TEST_KEYS.current.id);
      expect(typeof r.body).toBe(dialect === 'sqlite' ? 'object' : 'string');
      expect(sealedBytes(r.body).toString('latin1')).not.toContain('submission_reference');
    }
    const bodies = lines.map((l) => JSON.parse(l) as { form_name: string; submission_reference: string; submitted_at: string });
    for (const b of bodies) expect((await ledger.get('sealed', `${b.form_name}/${b.submission_reference}`))?.body).toEqual(b);
    // Each delivered record's copy as sent, sealed on the workers too, opens under its body's data key.
    const sent = await store.select<{ sent: string | Uint8Array }>('SELECT sent FROM ledger_sent');
    expect(sent).toHaveLength(first.delivered);
    for (const r of sent) expect(typeof r.sent).toBe(dialect === 'sqlite' ? 'object' : 'string');
    const legacy = new DatabaseSync(join(dir, dialect, 'legacy.sqlite'));
    try {
      let copies = 0;
      for (const b of bodies) {
        const key = `${b.form_name}/${b.submission_reference}`;
        const copy = await readSentCopy(store, TEST_KEYS, 'sealed', key);
        if (!copy) continue;
        copies++;
        expect(legacy.prepare('SELECT WEB_REF FROM DRV_ADDR_CHG WHERE SUBMISSION_KEY = ?').all(key)).toEqual([{ WEB_REF: copy.record.WEB_REF }]);
      }
      expect(copies).toBe(first.delivered);
    } finally {
      legacy.close();
    }

    const changed = { ...bodies[0]!, submitted_at: '2024-03-15T00:00:00.000Z' };
    const second = await pass('sealed-2', [lines[1]!, JSON.stringify(changed)], ledger, dialect);
    expect(second).toMatchObject({ read: 2, receivedNew: 0, duplicates: 1, conflicts: 1 });
    expect(sealed).toEqual({ body: 0, conflict: 1 });
    expect(await store.select('SELECT body, kid, dek FROM ledger_bodies ORDER BY id')).toEqual(rows);
    expect((await ledger.conflicts('sealed')).map((c) => c.body)).toEqual([changed]);
    expect((await ledger.get('sealed', `${bodies[0]!.form_name}/${bodies[0]!.submission_reference}`))?.body).toEqual(bodies[0]);
  });

  it('without a worker key the workers leave bodies to the main thread, which seals them all', async () => {
    const { store, sealed, ledger } = await ledgerWith(false);
    expect(ledger.bodySealKey()).toBeUndefined();
    expect(await pass('main-1', lines, ledger)).toMatchObject({ read: lines.length, receivedNew: lines.length });
    expect(sealed).toEqual({ body: lines.length, conflict: 0 });
    const rows = await store.select<{ kid: string | null }>('SELECT kid FROM ledger_bodies');
    expect(rows.map((r) => r.kid)).toEqual(lines.map(() => TEST_KEYS.current.id));
  });
});
