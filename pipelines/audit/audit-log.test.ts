import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { AuditLog } from './audit-log.js';
import { entryHash, GENESIS_HASH, hashedDetailText } from './audit.hash.js';
import { rowToEntry, type AuditRow } from './audit.rows.js';
import type { NewAuditEntry } from './audit.types.js';
import { parsePublicKey, readCheckpointFile } from './checkpoints.js';
import { leafHash, merkleRoot } from './merkle.js';

const keys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
};

function entry(i: number, pipeline = 'p'): NewAuditEntry {
  return { pipeline, event: i % 2 ? 'delivered' : 'received', actor: 'runner:t:1', target: 'sql', detail: { keys: [`K${i}`, `K${i + 1}`], records: [{ key: `K${i}`, legacyRef: `L${i}` }] } };
}

describe.each(TEST_DIALECTS)('AuditLog on %s', (dialect) => {
  let ts: TestStore;
  let log: AuditLog;
  const sql = (q: string, params: unknown[] = []) => ts.store.exec(q, params);

  beforeEach(async () => {
    ts = await openTestStore(dialect);
    log = new AuditLog(ts.store);
    const at = new Date().toISOString();
    for (const pipeline of ['p', 'q']) {
      for (let i = 1; i <= 15; i++) {
        await sql(`INSERT INTO ledger (pipeline, key, content_hash, state, attempts, confirmed, created_at, updated_at) VALUES ($1, $2, 'h', 'received', 0, false, $3, $3)`, [pipeline, `K${i}`, at]);
      }
    }
    for (let i = 1; i <= 12; i++) await log.append([entry(i, i % 3 ? 'p' : 'q')]);
  });
  afterEach(() => ts.dispose());

  async function rehashFrom(seq: number): Promise<void> {
    const rows = await ts.store.select<AuditRow>('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq', [seq - 1]);
    let prev = seq === 1 ? GENESIS_HASH : rows.shift()!.hash;
    for (const r of rows) {
      const e = rowToEntry(r);
      const hash = entryHash(prev, e, hashedDetailText(r.detail, e.detail)!);
      await sql('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, r.seq]);
      prev = hash;
    }
  }

  it('chains entries with consecutive seqs and verifies, page by page', async () => {
    const more = await log.append([entry(13), entry(14)]);
    expect(more.map((e) => e.seq)).toEqual([13, 14]);
    expect(more[1]?.prevHash).toBe(more[0]?.hash);
    expect(await log.verify({ pageSize: 5 })).toEqual({ ok: true, entries: 14, checkpoints: 0 });
    expect((await log.entriesFor('p', 'K5')).map((e) => e.seq)).toEqual([4, 5]);
    expect((await log.entriesFor('q', 'K4')).map((e) => e.seq)).toEqual([3]);
  });

  it('detects an edited entry (hash left alone) at its seq', async () => {
    await sql(`UPDATE audit_log SET detail = $1 WHERE seq = 5`, [JSON.stringify({ keys: ['K5'], records: [{ key: 'K5', legacyRef: 'FORGED' }] })]);
    expect((await log.verify({ pageSize: 4 })).firstBad).toMatchObject({ seq: 5, problem: 'edited' });
  });

  it("puts a batch's records under a Merkle root, and an edited, reordered or reformatted record text breaks the entry", async () => {
    const batch: NewAuditEntry = { pipeline: 'p', event: 'delivered', actor: 'runner:t:1', detail: { runId: 'r1', keys: ['K1', 'K2'], records: [{ key: 'K1', legacyRef: 'L1' }, { key: 'K2', legacyRef: 'L2' }] } };
    const [e] = await log.append([batch]);
    const [row] = await ts.store.select<AuditRow>('SELECT * FROM audit_log WHERE seq = $1', [e!.seq]);
    expect(JSON.parse(row!.detail)).toEqual({ runId: 'r1', merkle: { size: 2, root: expect.stringMatching(/^[0-9a-f]{64}$/) }, keys: ['K1', 'K2'], records: batch.detail.records });
    expect(e!.detail).toEqual(JSON.parse(row!.detail));
    expect(await log.verify()).toMatchObject({ ok: true, entries: 13 });
    const broken = `the entry at seq ${e!.seq} has records that no longer give its Merkle root`;
    for (const text of [
      row!.detail.replace('"L2"', '"FORGED"'),
      row!.detail.replace('{"key":"K1","legacyRef":"L1"},{"key":"K2","legacyRef":"L2"}', '{"key":"K2","legacyRef":"L2"},{"key":"K1","legacyRef":"L1"}'),
      JSON.stringify(JSON.parse(row!.detail), null, 1),
    ]) {
      expect(text).not.toBe(row!.detail);
      await sql('UPDATE audit_log SET detail = $1 WHERE seq = $2', [text, e!.seq]);
      expect((await log.verify()).firstBad).toEqual({ seq: e!.seq, problem: 'edited', detail: broken });
    }
  });

  it('seals a batch too large to hash in place (its root from the Merkle thread) so that it verifies', async () => {
    const records = Array.from({ length: 700 }, (_, i) => ({ key: `K${i}`, legacyRef: `L${i}` }));
    const [e] = await log.append([{ pipeline: 'p', event: 'delivered', actor: 'runner:t:1', detail: { keys: records.map((r) => r.key), records } }]);
    expect(e!.detail).toMatchObject({ merkle: { size: 700 } });
    expect(await log.verify()).toMatchObject({ ok: true, entries: 13 });
  });

  it("stores a batch's detail, written as UTF-8 bytes, as the text it names: non-ASCII anywhere, hashed in place and on the Merkle thread", async () => {
    for (const size of [3, 300]) {
      const records = Array.from({ length: size }, (_, i) => ({ key: `K${i}`, legacyRef: `Siân ${i} Brontë 🙂`, n: i }));
      const keys = records.map((r) => r.key);
      const [e] = await log.append([{ pipeline: 'p', event: 'delivered', actor: 'runner:t:1', detail: { runId: 'Ní Bhriain', keys, records } }]);
      const kind = dialect === 'sqlite' ? 'typeof(detail)' : 'pg_typeof(detail)::text';
      const [row] = await ts.store.select<AuditRow & { kind: string }>(`SELECT detail, ${kind} AS kind FROM audit_log WHERE seq = $1`, [e!.seq]);
      expect(row!.kind, 'kept as text, not as bytes').toBe('text');
      const texts = records.map((r) => JSON.stringify(r));
      const root = merkleRoot(texts.map((t) => leafHash(t))).toString('hex');
      const rest = { runId: 'Ní Bhriain', merkle: { size, root } };
      expect(row!.detail).toBe(`${JSON.stringify(rest).slice(0, -1)},"keys":${JSON.stringify(keys)},"records":[${texts.join(',')}]}`);
      expect(e!.detail).toEqual({ ...rest, keys, records });
      expect(e!.hash).toBe(entryHash(e!.prevHash, e!, JSON.stringify(rest)));
    }
    expect(await log.verify()).toMatchObject({ ok: true, entries: 14 });
  });

  it('appends more entries in one call than SQLite binds in one statement (3,000 of 11 values)', async () => {
    const many = Array.from({ length: 3000 }, (_, i): NewAuditEntry => ({ pipeline: 'p', event: 'delivered', actor: 'runner:t:1', detail: { keys: ['K1'], note: `n${i}` } }));
    const out = await log.append(many);
    expect(out.map((e) => e.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => 13 + i));
    expect(await log.verify()).toMatchObject({ ok: true, entries: 3012 });
  });

  it('detects an edited entry whose hash was recomputed, at that entry', async () => {
    await sql(`UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 6`);
    await sql(`UPDATE audit_log SET hash = $1 WHERE seq = 6`, [await (async () => {
      const [r] = await ts.store.select<AuditRow>('SELECT * FROM audit_log WHERE seq = 6');
      const e = rowToEntry(r!);
      return entryHash(r!.prev_hash, e, hashedDetailText(r!.detail, e.detail)!);
    })()]);
    expect((await log.verify()).firstBad).toMatchObject({ seq: 6, problem: 'edited' });
  });

  it('detects a deleted entry', async () => {
    await sql('DELETE FROM audit_log WHERE seq = 7');
    expect(await log.verify({ pageSize: 3 })).toMatchObject({ ok: false, entries: 6, firstBad: { seq: 7, problem: 'deleted' } });
  });

  it('detects two entries swapped', async () => {
    await sql('UPDATE audit_log SET seq = -1 WHERE seq = 8');
    await sql('UPDATE audit_log SET seq = 8 WHERE seq = 9');
    await sql('UPDATE audit_log SET seq = 9 WHERE seq = -1');
    expect((await log.verify()).firstBad).toMatchObject({ seq: 8, problem: 'reordered' });
  });

  it('holds the chain to signed checkpoints: a consistent rewrite is caught', async () => {
    const k = keys();
    const cp = await log.checkpoint(k.privatePem);
    expect(cp).toMatchObject({ seq: 12 });
    await log.append([entry(13)]);
    const dir = mkdtempSync(join(tmpdir(), 'rekey-cp-'));
    const file = await log.exportCheckpoints(dir);
    expect(statSync(file).mode & 0o222).toBe(0);
    await expect(log.exportCheckpoints(file)).rejects.toMatchObject({ code: 'EEXIST' });
    const checkpoints = await readCheckpointFile(dir);
    expect(await log.verify({ checkpoints, publicKey: k.publicKey })).toEqual({ ok: true, entries: 13, checkpoints: 1 });

    await sql(`UPDATE audit_log SET detail = $1 WHERE seq = 4`, [JSON.stringify({ keys: ['K4'] })]);
    await rehashFrom(4);
    expect((await log.verify()).ok).toBe(true);
    expect((await log.verify({ checkpoints, publicKey: k.publicKey })).firstBad).toMatchObject({ seq: 12, problem: 'checkpoint-mismatch' });
  });

  it('rejects checkpoints with a bad signature or from another key, and a truncated chain', async () => {
    const k = keys();
    const cp = await log.checkpoint(k.privatePem);
    const forged = { ...cp, headHash: 'f'.repeat(64) };
    expect((await log.verify({ checkpoints: [forged], publicKey: k.publicKey })).firstBad).toMatchObject({ problem: 'checkpoint-mismatch' });
    expect((await log.verify({ checkpoints: [cp], publicKey: keys().publicKey })).firstBad?.detail).toMatch(/bad signature/);
    await sql('DELETE FROM audit_log WHERE seq >= 11');
    expect((await log.verify({ checkpoints: [cp], publicKey: k.publicKey })).firstBad).toMatchObject({ seq: 11, problem: 'deleted' });
  });

  it('reads checkpoints from a key file pair written elsewhere', async () => {
    const k = keys();
    const dir = mkdtempSync(join(tmpdir(), 'rekey-pub-'));
    writeFileSync(join(dir, 'pub.pem'), k.publicKey.export({ type: 'spki', format: 'pem' }));
    const cp = await log.checkpoint(k.privatePem);
    expect(await log.checkpoints()).toEqual([cp]);
    expect((await log.verify({ checkpoints: [cp], publicKey: parsePublicKey(k.publicKey.export({ type: 'spki', format: 'pem' })) })).ok).toBe(true);
  });

  it('exports CSV and JSON, filtered by pipeline and range', async () => {
    let csv = '';
    for await (const chunk of log.export({ format: 'csv', pipeline: 'p', from: 2, to: 8, pageSize: 2 })) csv += chunk;
    const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['seq', 'at', 'pipeline', 'event', 'actor', 'keys', 'mapping_version', 'target', 'legacy_ref', 'detail', 'prev_hash', 'hash']);
    expect(rows.map((r) => r.seq)).toEqual(['2', '4', '5', '7', '8']);
    expect(rows[0]).toMatchObject({ pipeline: 'p', keys: '["K2","K3"]', target: 'sql' });
    expect(JSON.parse(rows[0]!.detail!)).toEqual({ keys: ['K2', 'K3'], records: [{ key: 'K2', legacyRef: 'L2' }] });
    let json = '';
    for await (const chunk of log.export({ format: 'json', from: new Date(0) })) json += chunk;
    const all = JSON.parse(json) as { seq: number; hash: string; prevHash: string }[];
    expect(all).toHaveLength(12);
    expect(all[1]?.prevHash).toBe(all[0]?.hash);
    let empty = '';
    for await (const chunk of log.export({ format: 'csv', pipeline: 'none' })) empty += chunk;
    expect(empty.trim()).toBe('seq,at,pipeline,event,actor,keys,mapping_version,target,legacy_ref,detail,prev_hash,hash');
  });

  it('refuses unknown events, missing keys and PII values', async () => {
    await expect(log.append([{ ...entry(1), event: 'exploded' as never }])).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
    await expect(log.append([{ ...entry(1), detail: {} as never }])).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
    await expect(log.append([{ ...entry(1), detail: { keys: ['a'], records: [{ key: 'a', pii: { NI: 'QQ123456C' } }] } }])).rejects.toMatchObject({
      code: 'LEDGER_BAD_REQUEST',
    });
    expect((await log.head()).seq).toBe(12);
  });
});
