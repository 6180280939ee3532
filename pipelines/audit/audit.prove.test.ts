import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { Ledger } from '../ledger/ledger.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { AuditLog } from './audit-log.js';
import { parseProof, verifyProof, type AuditProof } from './audit.prove.js';
import type { AuditDetail } from './audit.types.js';
import { parsePublicKey } from './checkpoints.js';

const P = 'licences';
const CITIZEN = 'Change your address/CITIZEN1';
const OTHERS = Array.from({ length: 6 }, (_, i) => `Change your address/OTHER-${String(i).padStart(4, '0')}`);
const CANARY = 'Canary-Surname-7Q';

function signingKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()) };
}

const clone = (p: AuditProof): AuditProof => JSON.parse(JSON.stringify(p)) as AuditProof;

describe.each(TEST_DIALECTS)('inclusion proofs on %s', (dialect) => {
  let ts: TestStore;
  let log: AuditLog;
  let ledger: Ledger;
  const keys = signingKeys();

  beforeEach(async () => {
    ts = await openTestStore(dialect);
    log = new AuditLog(ts.store);
    ledger = new Ledger(ts.store, log, TEST_KEYS);
    const run = await ledger.startRun(P, 'runner:test:1', 'sha256:map');
    const sub = (key: string) => ({ key, contentHash: `h-${key}`, body: { surname: CANARY }, source: `in.ndjson:${key}` });
    // The citizen shares a batch with others on receipt, and on delivery; another pipeline's entries fall between.
    await ledger.receive(P, run, [OTHERS[0]!, CITIZEN, ...OTHERS.slice(1, 4)].map(sub), 'runner:test:1');
    await ledger.receive('elsewhere', null, [sub(OTHERS[4]!)], 'runner:test:1');
    await ledger.apply(P, run, [OTHERS[0]!, CITIZEN, OTHERS[1]!].map((key) => ({ key, to: 'delivering' as const })), 'runner:test:1', { target: 'sql' });
    await ledger.apply(P, run, [OTHERS[0]!, CITIZEN, OTHERS[1]!].map((key, i) => ({ key, to: 'delivered' as const, legacyRef: `REF-${i}` })), 'runner:test:1', { target: 'sql' });
    await ledger.receive(P, run, [sub(OTHERS[5]!)], 'runner:test:1');
  });
  afterEach(() => ts.dispose());

  it('stores batch entries under a Merkle root, and proves one submission alone, held to a signed checkpoint', async () => {
    const [received] = await ts.store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'received' ORDER BY seq LIMIT 1");
    expect(JSON.parse(received!.detail)).toMatchObject({ merkle: { size: 5, root: expect.stringMatching(/^[0-9a-f]{64}$/) }, keys: [OTHERS[0], CITIZEN, ...OTHERS.slice(1, 4)] });
    await log.checkpoint(keys.pem);
    const proof = await log.prove(P, CITIZEN);
    const text = JSON.stringify(proof);
    // Nothing of any other submission: neither its key nor its record.
    for (const other of OTHERS) expect(text).not.toContain(other);
    expect(text).not.toContain(CANARY);
    expect(proof.checkpoint).not.toBeNull();

    const r = verifyProof(parseProof(text), { publicKey: keys.publicKey });
    expect(r.firstBad).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.anchor?.seq).toBe(proof.entries[proof.entries.length - 1]!.seq);
    expect(r.proven.map((e) => [e.event, e.records.map((x) => x.key)])).toEqual([
      ['received', [CITIZEN]],
      ['delivering', [CITIZEN]],
      ['delivered', [CITIZEN]],
    ]);
    expect(r.proven[2]!.records[0]).toMatchObject({ legacyRef: 'REF-1' });
    // Every entry from the first naming the citizen to the checkpoint, the other pipeline's included.
    expect(proof.entries.map((e) => e.seq)).toEqual(Array.from({ length: proof.entries.length }, (_, i) => proof.entries[0]!.seq + i));
    expect(proof.entries.some((e) => e.pipeline === 'elsewhere')).toBe(true);
  });

  it('without a checkpoint at or after its last entry, runs to the head and is not held to one', async () => {
    const proof = await log.prove(P, CITIZEN);
    expect(proof.checkpoint).toBeNull();
    expect(verifyProof(proof, { publicKey: keys.publicKey })).toMatchObject({ ok: true, anchor: null });
  });

  it('names what was forged: a record, its position, another submission swapped in, a rest, a link, a gap, the checkpoint', async () => {
    await log.checkpoint(keys.pem);
    const proof = await log.prove(P, CITIZEN);
    const verify = (p: AuditProof) => verifyProof(p, { publicKey: keys.publicKey });
    const naming = proof.entries.findIndex((e) => e.records?.length);
    const seq = proof.entries[naming]!.seq;

    const forgedRecord = clone(proof);
    const rec = forgedRecord.entries[naming]!.records![0]!;
    rec.text = rec.text.replace(`"contentHash":"h-${CITIZEN}"`, '"contentHash":"h-forged"');
    expect(rec.text).toContain('"contentHash":"h-forged"');
    expect(verify(forgedRecord).firstBad).toEqual({ seq, problem: 'edited', detail: `a record shown for the entry at seq ${seq} is not in its Merkle tree at position ${rec.index}` });

    const moved = clone(proof);
    moved.entries[naming]!.records![0]!.index += 1;
    expect(verify(moved).firstBad).toMatchObject({ seq, problem: 'edited' });

    // Another submission's real record and path, from the same entry, passed off as the citizen's.
    const store = await ts.store.select<{ detail: string }>('SELECT detail FROM audit_log WHERE seq = $1', [seq]);
    const detail = JSON.parse(store[0]!.detail) as AuditDetail;
    const { auditPath, leafHash } = await import('./merkle.js');
    const leaves = detail.records!.map((r) => leafHash(JSON.stringify(r)));
    const swapped = clone(proof);
    swapped.entries[naming]!.records = [{ index: 0, text: JSON.stringify(detail.records![0]), path: auditPath(leaves, 0).map((b) => b.toString('hex')) }];
    expect(verify(swapped).firstBad).toEqual({ seq, problem: 'edited', detail: `a record shown for the entry at seq ${seq} is another submission's` });

    const rest = clone(proof);
    rest.entries[naming]!.rest = rest.entries[naming]!.rest!.replace('"merkle"', '"note":"x","merkle"');
    expect(verify(rest).firstBad).toEqual({ seq, problem: 'edited', detail: `the entry at seq ${seq} no longer matches its hash` });

    const gap = clone(proof);
    gap.entries.splice(naming + 1, 1);
    expect(verify(gap).firstBad).toEqual({ seq: seq + 1, problem: 'deleted', detail: `seq ${seq + 1} is missing` });

    const relinked = clone(proof);
    relinked.entries[naming + 1]!.prevHash = 'f'.repeat(64);
    expect(verify(relinked).firstBad).toMatchObject({ seq: seq + 1, problem: 'edited' });

    const otherKey = signingKeys();
    expect(verifyProof(proof, { publicKey: otherKey.publicKey }).firstBad).toMatchObject({ problem: 'checkpoint-mismatch' });
    const cut = clone(proof);
    cut.entries.pop();
    expect(verify(cut).firstBad).toMatchObject({ problem: 'checkpoint-mismatch' });

    const nobody = clone(proof);
    nobody.key = OTHERS[5]!;
    expect(verify(nobody).ok).toBe(false);
  });

  it('proves a submission whose ledger row retention purged, through its retired audit keys', async () => {
    const [row] = await ts.store.select<{ id: number | string }>('SELECT id FROM ledger WHERE pipeline = $1 AND key = $2', [P, CITIZEN]);
    // What purge does to a ledger row past retention (pipelines/privacy/purge.ts): its audit keys retired by pipeline and key, the row gone.
    await ts.store.exec('INSERT INTO audit_keys_retired (seq, pipeline, key) SELECT k.seq, $1, $2 FROM audit_keys k WHERE k.ledger_id = $3', [P, CITIZEN, row!.id]);
    for (const sql of ['DELETE FROM audit_keys WHERE ledger_id = $1', 'DELETE FROM ledger_bodies WHERE id = $1', 'DELETE FROM ledger WHERE id = $1']) await ts.store.exec(sql, [row!.id]);
    await log.checkpoint(keys.pem);
    const r = verifyProof(await log.prove(P, CITIZEN), { publicKey: keys.publicKey });
    expect(r.ok).toBe(true);
    expect(r.proven.map((e) => e.event)).toEqual(['received', 'delivering', 'delivered']);
  });

  it("proves a routed case whole: the entries of its lanes for the same key, each lane's own, and no other submission's", async () => {
    const lanes = [`${P}~dvla`, `${P}~council`];
    const run = await ledger.startRun(P, 'runner:test:1', 'sha256:map');
    for (const lane of lanes) {
      await ledger.receive(lane, run, [OTHERS[2]!, CITIZEN].map((key) => ({ key, contentHash: `h-${key}`, body: { surname: CANARY }, source: 'in.ndjson:1' })), 'runner:test:1');
      await ledger.apply(lane, run, [{ key: CITIZEN, to: 'delivering' }], 'runner:test:1', { target: lane });
    }
    await log.checkpoint(keys.pem);
    const proof = await log.prove(P, CITIZEN, { lanes });
    expect(proof.lanes).toEqual(lanes);
    const r = verifyProof(proof, { publicKey: keys.publicKey });
    expect(r.ok).toBe(true);
    expect(r.proven.map((e) => [e.pipeline, e.event])).toEqual([
      [P, 'received'],
      [P, 'delivering'],
      [P, 'delivered'],
      [lanes[0], 'received'],
      [lanes[0], 'delivering'],
      [lanes[1], 'received'],
      [lanes[1], 'delivering'],
    ]);
    expect(JSON.stringify(proof)).not.toContain(OTHERS[2]);
    // Without the lanes the proof holds the intake's entries only.
    expect(verifyProof(await log.prove(P, CITIZEN), { publicKey: keys.publicKey }).proven.map((e) => e.pipeline)).toEqual([P, P, P]);
  });

  it('a record edited in the store breaks the proof of every submission of its batch: no proof is made from it', async () => {
    await log.checkpoint(keys.pem);
    const [row] = await ts.store.select<{ seq: number | string; detail: string }>("SELECT seq, detail FROM audit_log WHERE event = 'received' ORDER BY seq LIMIT 1");
    await ts.store.exec('UPDATE audit_log SET detail = $1 WHERE seq = $2', [row!.detail.replace(`"contentHash":"h-${CITIZEN}"`, '"contentHash":"h-forged"'), row!.seq]);
    const mine = verifyProof(await log.prove(P, CITIZEN), { publicKey: keys.publicKey });
    expect(mine.firstBad).toMatchObject({ seq: Number(row!.seq), problem: 'edited', detail: expect.stringContaining('is not in its Merkle tree') });
    // A neighbour's audit path is made of the batch's other leaves, the edited one among them, so it no longer leads to the root either.
    expect(verifyProof(await log.prove(P, OTHERS[1]!), { publicKey: keys.publicKey }).firstBad).toMatchObject({ seq: Number(row!.seq), problem: 'edited' });
    expect((await log.verify()).firstBad).toMatchObject({ seq: Number(row!.seq), problem: 'edited' });
  });

  it('refuses to prove a submission no entry names, and a file that is not a proof', async () => {
    await expect(log.prove(P, 'Change your address/NOBODY')).rejects.toMatchObject({ code: 'AUDIT_PROOF_INVALID' });
    expect(() => parseProof('{"format":"rekey-audit-export"}')).toThrow(/not a rekey-audit-proof/);
    expect(() => parseProof('not json')).toThrow(/not JSON/);
  });
});
