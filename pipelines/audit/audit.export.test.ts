import { generateKeyPairSync } from 'node:crypto';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { AuditLog } from './audit-log.js';
import type { AuditExportOptions, ExportEntryLine } from './audit.export.js';
import { entryHash, hashedDetailText } from './audit.hash.js';
import type { AuditEvent } from './audit.types.js';
import { verifyExport } from './export-verify.js';

const FORM = 'Change the address on your driving licence';
const K1 = `${FORM}/CA3HJ7WR`;
const K2 = `${FORM}/ZZ9PLURA`;

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function* linesOf(text: string): AsyncGenerator<string> {
  yield* text.split('\n');
}

describe.each(TEST_DIALECTS)('audit export on %s', (dialect) => {
  let ts: TestStore;
  let log: AuditLog;

  beforeEach(async () => {
    ts = await openTestStore(dialect);
    log = new AuditLog(ts.store);
    const at = new Date().toISOString();
    const row = (pipeline: string, key: string, state: string) =>
      ts.store.exec(`INSERT INTO ledger (pipeline, key, content_hash, state, attempts, confirmed, created_at, updated_at) VALUES ($1, $2, 'h', $3, 0, false, $4, $4)`, [pipeline, key, state, at]);
    await row('p', K1, 'delivered');
    await row('p', K2, 'dead');
    await row('q', K1, 'dead');
    const add = (pipeline: string, event: AuditEvent, keys: string[]) => log.append([{ pipeline, event, actor: 'runner:t:1', detail: { keys } }]);
    await add('p', 'received', [K1, K2]);
    await add('q', 'received', [K1]);
    await add('p', 'delivered', [K1]);
    await add('p', 'dead', [K2]);
    await add('q', 'dead', [K1]);
    await add('p', 'run-finished', []);
  });
  afterEach(() => ts.dispose());

  const text = async (opts: AuditExportOptions) => {
    let out = '';
    for await (const chunk of log.export({ pageSize: 2, ...opts })) out += chunk;
    return out;
  };
  const seqs = async (opts: Omit<AuditExportOptions, 'format'>) => (JSON.parse(await text({ ...opts, format: 'json' })) as { seq: number }[]).map((e) => e.seq);

  it('selects by key, ledger state, events and pipeline, page by page', async () => {
    expect(await seqs({ pipeline: 'p', key: K1 })).toEqual([1, 3]);
    expect(await seqs({ key: K1 })).toEqual([1, 2, 3, 5]);
    expect(await seqs({ pipeline: 'p', state: 'dead' })).toEqual([1, 4]);
    expect(await seqs({ state: 'dead' })).toEqual([1, 2, 4, 5]);
    expect(await seqs({ events: ['dead', 'run-finished'] })).toEqual([4, 5, 6]);
    expect(await seqs({ pipeline: 'q', events: ['received'] })).toEqual([2]);
    expect(await seqs({ from: 2, to: 4, pipeline: 'p' })).toEqual([3, 4]);
    expect(await seqs({ key: 'no such key' })).toEqual([]);
  });

  it('writes keys as a JSON array: a field in JSON, a quoted column in CSV', async () => {
    const [json] = JSON.parse(await text({ format: 'json', to: 1 })) as { keys: string[]; detail: { keys: string[] } }[];
    expect(json).toMatchObject({ keys: [K1, K2], detail: { keys: [K1, K2] } });
    const csv = await text({ format: 'csv', to: 1 });
    expect(csv).toContain(`"[""${K1}"",""${K2}""]"`);
    const [row] = parseCsv(csv, { columns: true }) as Record<string, string>[];
    expect(JSON.parse(row!.keys!)).toEqual([K1, K2]);
    expect(Object.keys(row!)).toEqual(['seq', 'at', 'pipeline', 'event', 'actor', 'keys', 'mapping_version', 'target', 'legacy_ref', 'detail', 'prev_hash', 'hash']);
  });

  it('jsonl: a header with range, filter and a checkpoint signed at the range end; omitted entries as hashes only; verifies offline', async () => {
    const out = await text({ format: 'jsonl', pipeline: 'p', key: K2, from: 2, signingKey });
    const [head, ...rest] = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const lines = rest.slice(0, -1);
    expect(rest.at(-1)).toMatchObject({ end: { lines: 5 } });
    const tip = await log.head();
    expect(head).toMatchObject({ format: 'rekey-audit-export', version: 1, range: { from: 2, to: 6 }, filter: { pipeline: 'p', key: K2 }, checkpoint: { seq: 6, headHash: tip.hash } });
    expect(lines.map((l) => [l.seq, l.omitted ?? false])).toEqual([[2, true], [3, true], [4, false], [5, true], [6, true]]);
    expect(Object.keys(lines[0]!).sort()).toEqual(['hash', 'omitted', 'prevHash', 'seq']);
    expect(await verifyExport(linesOf(out), { publicKey })).toEqual({ ok: true, range: { from: 2, to: 6 }, entries: 1, omitted: 4, checkpoints: 1, lastCheckpoint: 6, sealed: true });
    const empty = await text({ format: 'jsonl', from: 7 });
    expect(JSON.parse(empty)).toMatchObject({ range: null, checkpoint: null });
    expect(await verifyExport(linesOf(empty), { publicKey })).toMatchObject({ ok: true, entries: 0, omitted: 0, sealed: false });
  });

  it('offline verify names an entry edited with its hash recomputed, swapped lines and a first line that does not start the chain', async () => {
    const out = await text({ format: 'jsonl', signingKey });
    const [head, ...lines] = out.trimEnd().split('\n');
    const verify = (ls: string[]) => verifyExport(linesOf([head!, ...ls].join('\n')), { publicKey });

    const third = JSON.parse(lines[2]!) as ExportEntryLine;
    const forged = { ...third, actor: 'operator:mallory' };
    forged.hash = entryHash(forged.prevHash, { ...forged, at: new Date(forged.at) }, hashedDetailText(JSON.stringify(forged.detail), forged.detail)!);
    expect((await verify(lines.map((l, i) => (i === 2 ? JSON.stringify(forged) : l)))).firstBad).toEqual({
      seq: 3,
      problem: 'edited',
      detail: 'the entry at seq 3 was changed and its hash recomputed: seq 4 links to another hash',
    });
    expect((await verify([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)])).firstBad).toEqual({ seq: 2, problem: 'deleted', detail: 'seq 2 is missing' });
    expect((await verify([lines[0]!, lines[1]!, lines[3]!, lines[2]!, ...lines.slice(4)])).firstBad).toEqual({ seq: 3, problem: 'deleted', detail: 'seq 3 is missing' });
    expect((await verify([lines[0]!, lines[1]!, lines[1]!, ...lines.slice(2)])).firstBad).toEqual({ seq: 2, problem: 'reordered', detail: 'seq 2 appears after seq 2' });
    const keysLie = { ...third, keys: ['someone else'] };
    expect((await verify(lines.map((l, i) => (i === 2 ? JSON.stringify(keysLie) : l)))).firstBad).toEqual({
      seq: 3,
      problem: 'edited',
      detail: "the entry at seq 3 lists keys that are not its detail's",
    });
    const hidden = { ...third, actor: 'operator:mallory', omitted: true };
    expect((await verify(lines.map((l, i) => (i === 2 ? JSON.stringify(hidden) : l)))).firstBad).toEqual({
      seq: 3,
      problem: 'edited',
      detail: 'the line at seq 3 is marked omitted but is not just its hashes',
    });
    const noted = { ...third, note: 'approved by the director' };
    expect((await verify(lines.map((l, i) => (i === 2 ? JSON.stringify(noted) : l)))).firstBad).toEqual({
      seq: 3,
      problem: 'edited',
      detail: 'the entry at seq 3 carries a field its hash does not cover ("note")',
    });
    const firstForged = { ...(JSON.parse(lines[0]!) as ExportEntryLine), prevHash: 'f'.repeat(64) };
    expect((await verify([JSON.stringify(firstForged), ...lines.slice(1)])).firstBad).toEqual({ seq: 1, problem: 'edited', detail: 'the entry at seq 1 no longer matches its hash' });
    firstForged.hash = entryHash(firstForged.prevHash, { ...firstForged, at: new Date(firstForged.at) }, hashedDetailText(JSON.stringify(firstForged.detail), firstForged.detail)!);
    expect((await verify([JSON.stringify(firstForged), ...lines.slice(1)])).firstBad).toEqual({ seq: 1, problem: 'edited', detail: 'the first entry does not start from the genesis hash' });
    const other = generateKeyPairSync('ed25519').publicKey;
    expect((await verifyExport(linesOf(out), { publicKey: other })).firstBad).toMatchObject({ seq: 6, problem: 'checkpoint-mismatch' });
  });
});
