import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import type { ExportEntryLine } from '../../pipelines/audit/audit.export.js';
import { entryHash, hashedDetailText } from '../../pipelines/audit/audit.hash.js';
import { readCheckpointFile } from '../../pipelines/audit/checkpoints.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { NO_EXTERNAL_CHECKPOINT } from './audit.command.js';
import { rekeyInProcess as rekey } from '../cli.test-helpers.js';
import { P, seed } from './state.test-helpers.js';

describe('rekey audit (the built CLI, in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-cli-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir);

  beforeAll(() => seed(url));

  it('audit verify, keygen, checkpoint and export; verify fails on a tampered log', async () => {
    const keys = join(dir, 'keys');
    const gen = await rekey(['audit', 'keygen', keys]);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toContain(`REKEY_AUDIT_VERIFY_KEY=${join(keys, 'audit-verify.pub.pem')}`);
    expect((await rekey(['audit', 'keygen', keys])).code).toBe(1);
    const worm = join(dir, 'checkpoints.jsonl');
    const cp = await cli('audit', 'checkpoint', '--key', join(keys, 'audit-signing.key.pem'), '--export', worm);
    expect(cp.code).toBe(0);
    expect(existsSync(worm)).toBe(true);
    expect((await cli('audit', 'checkpoint')).code).toBe(2);
    const pub = join(keys, 'audit-verify.pub.pem');
    const [ok, withCp, noKey, csv, json, badFormat] = await Promise.all([
      cli('audit', 'verify'),
      cli('audit', 'verify', '--checkpoints', worm, '--public-key', pub, '--json'),
      cli('audit', 'verify', '--checkpoints', worm),
      cli('audit', 'export', '--pipeline', P, '--from', '3', '--out', join(dir, 'audit.csv')),
      cli('audit', 'export', '--format', 'json', '--to', '3'),
      cli('audit', 'export', '--format', 'xml'),
    ]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toMatch(/^audit log OK: \d+ entries/);
    expect(JSON.parse(withCp.stdout)).toMatchObject({ ok: true, checkpoints: 1 });
    expect(noKey.code).toBe(2);
    expect(csv.code).toBe(0);
    const rows = parseCsv(readFileSync(join(dir, 'audit.csv')), { columns: true }) as { seq: string; event: string }[];
    expect(rows[0]).toMatchObject({ seq: '3', event: 'received' });
    expect(JSON.parse(json.stdout).map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(badFormat.code).toBe(2);

    const store = await openStateStore(url);
    await store.exec("UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 3");
    await store.close();
    const broken = await cli('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit log BROKEN at seq 3: edited/);
  });
});

describe('rekey audit export filters and offline verification (the built CLI, in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-export-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const keys = join(dir, 'keys');
  const env = { REKEY_AUDIT_SIGNING_KEY: join(keys, 'audit-signing.key.pem'), REKEY_AUDIT_VERIFY_KEY: join(keys, 'audit-verify.pub.pem'), REKEY_AUDIT_CHECKPOINTS: '' };
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir, env);
  const offline = (...args: string[]) => rekey(['audit', 'verify', ...args], dir, env);
  const CITIZEN = 'Change the address on your driving licence/CA3HJ7WR';
  const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
  const write = (name: string, text: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `${text.join('\n')}\n`);
    return file;
  };

  beforeAll(async () => {
    await seed(url);
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    const run = await ledger.startRun(P, 'runner:test:1', 'sha256:map');
    await ledger.receive(P, run, [{ key: CITIZEN, contentHash: 'h-citizen', body: { surname: 'Canary' }, source: 'in.ndjson:7' }], 'runner:test:1');
    await store.close();
    expect((await rekey(['audit', 'keygen', keys])).code).toBe(0);
    mkdirSync(join(dir, 'worm'));
    expect((await cli('audit', 'checkpoint', '--export', join(dir, 'worm'))).code).toBe(0);
  }, 90_000);

  it('filters by key (any reference), ledger state and events; keys are a JSON array in CSV and JSON', async () => {
    const [byRef, csv, byState, byEvent, noPipeline, badState, badEvent] = await Promise.all([
      cli('audit', 'export', '--pipeline', P, '--key', 'ca3hj7wr', '--format', 'json'),
      cli('audit', 'export', '--pipeline', P, '--key', 'CA3HJ7WR'),
      cli('audit', 'export', '--in-state', 'dead', '--event', 'dead', '--format', 'json'),
      cli('audit', 'export', '--event', 'delivered,dead', '--event', 'received', '--format', 'json'),
      cli('audit', 'export', '--key', 'CA3HJ7WR'),
      cli('audit', 'export', '--in-state', 'lost'),
      cli('audit', 'export', '--event', 'sent'),
    ]);
    const entries = JSON.parse(byRef.stdout) as { event: string; keys: string[] }[];
    expect(entries.map((e) => [e.event, e.keys])).toEqual([['received', [CITIZEN]]]);
    const rows = parseCsv(csv.stdout, { columns: true }) as { keys: string; event: string }[];
    expect(rows.map((r) => [r.event, JSON.parse(r.keys)])).toEqual([['received', [CITIZEN]]]);
    expect(csv.stdout).toContain(`"[""${CITIZEN}""]"`);
    expect((JSON.parse(byState.stdout) as { keys: string[] }[]).map((e) => e.keys)).toEqual([['B'], ['C']]);
    expect(new Set((JSON.parse(byEvent.stdout) as { event: string }[]).map((e) => e.event))).toEqual(new Set(['received', 'delivered', 'dead']));
    expect(noPipeline).toMatchObject({ code: 2, stderr: 'rekey: --key needs --pipeline\n(run rekey --help for usage)\n' });
    expect(badState.code).toBe(2);
    expect(badState.stderr).toContain('unknown state "lost"; states are received,');
    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toContain('unknown event "sent"; events are received,');
  });

  it('finds a submission whose ledger row retention purged by its form reference, through its retired audit keys', async () => {
    const key = `${CITIZEN.slice(0, CITIZEN.lastIndexOf('/'))}/PURGED01`;
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    await ledger.receive(P, await ledger.startRun(P, 'runner:test:1', 'sha256:map'), [{ key, contentHash: 'h-purged', body: {}, source: 'in.ndjson:9' }], 'runner:test:1');
    const [row] = await store.select<{ id: number }>('SELECT id FROM ledger WHERE pipeline = $1 AND key = $2', [P, key]);
    await store.exec('INSERT INTO audit_keys_retired (seq, pipeline, key) SELECT k.seq, $1, $2 FROM audit_keys k WHERE k.ledger_id = $3', [P, key, row!.id]);
    for (const sql of ['DELETE FROM audit_keys WHERE ledger_id = $1', 'DELETE FROM ledger_bodies WHERE id = $1', 'DELETE FROM ledger WHERE id = $1']) await store.exec(sql, [row!.id]);
    await store.close();
    const out = await cli('audit', 'export', '--pipeline', P, '--key', 'purged01', '--format', 'json');
    expect((JSON.parse(out.stdout) as { event: string; keys: string[] }[]).map((e) => [e.event, e.keys])).toEqual([['received', [key]]]);
    const none = await cli('audit', 'export', '--pipeline', P, '--key', 'NEVER123');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('SUBMISSION_NOT_FOUND');
  });

  it('a jsonl export verifies offline against the exported checkpoints, and an edited, removed or appended line fails at its seq', async () => {
    const file = join(dir, 'all.jsonl');
    expect((await cli('audit', 'export', '--format', 'jsonl', '--out', file)).code).toBe(0);
    const all = lines(file);
    const header = JSON.parse(all[0]!) as { format: string; version: number; range: { from: number; to: number }; checkpoint: { seq: number } };
    const head = all.length - 2;
    expect(JSON.parse(all.at(-1)!)).toMatchObject({ end: { lines: head } });
    expect(header).toMatchObject({ format: 'rekey-audit-export', version: 1, range: { from: 1, to: head }, checkpoint: { seq: head } });
    const worm = join(dir, 'worm');
    const ok = await offline('--export', file, '--checkpoints', worm);
    expect(ok).toMatchObject({ code: 0, stdout: `export OK: seqs 1..${head}, ${head} entries recomputed, 0 omitted by the filter, 2 checkpoint(s) matched, the last at seq ${head}\n` });

    const edited = all.map((l, i) => (i === 3 ? l.replace('"actor":"runner:test:1"', '"actor":"operator:mallory"') : l));
    const removed = all.filter((_, i) => i !== 5);
    const last = JSON.parse(all[head]!) as ExportEntryLine;
    const extra = { ...last, seq: head + 1, prevHash: last.hash };
    extra.hash = entryHash(last.hash, { ...extra, at: new Date(extra.at) }, hashedDetailText(JSON.stringify(extra.detail), extra.detail)!);
    const appended = [...all.slice(0, -1), JSON.stringify(extra), all.at(-1)!];
    const [e, r, a, after] = await Promise.all([
      offline('--export', write('edited.jsonl', edited), '--checkpoints', worm),
      offline('--export', write('removed.jsonl', removed), '--checkpoints', worm),
      offline('--export', write('appended.jsonl', appended), '--checkpoints', worm),
      offline('--export', write('after-end.jsonl', [...all, JSON.stringify(extra)]), '--checkpoints', worm),
    ]);
    expect(e).toMatchObject({ code: 1, stdout: 'export BROKEN at seq 3: edited: the entry at seq 3 no longer matches its hash\n' });
    expect(r).toMatchObject({ code: 1, stdout: 'export BROKEN at seq 5: deleted: seq 5 is missing\n' });
    expect(a).toMatchObject({
      code: 1,
      stdout: `export BROKEN at seq ${head + 1}: appended: seq ${head + 1} is past the signed range (the last checkpoint the export covers is at seq ${head}): it cannot be told from an appended line\n`,
    });
    expect(after).toMatchObject({ code: 1, stdout: `export BROKEN at seq ${head + 1}: appended: a line follows the signed end of the export (after seq ${head})\n` });
    expect(readFileSync(file, 'utf8').split('\n').slice(0, -1)).toEqual(all);
  });

  it('a filtered export (--key) verifies, carries only hashes of the entries it leaves out, and catches a removed last line', async () => {
    const file = join(dir, 'citizen.jsonl');
    expect((await cli('audit', 'export', '--format', 'jsonl', '--pipeline', P, '--key', 'CA3HJ7WR', '--out', file)).code).toBe(0);
    const all = lines(file);
    expect(JSON.parse(all[0]!)).toMatchObject({ filter: { pipeline: P, key: CITIZEN, reference: 'CA3HJ7WR' } });
    const last = all.length - 2;
    const omitted = all.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.omitted);
    expect(omitted.length).toBe(last - 1);
    for (const l of omitted) expect(Object.keys(l).sort()).toEqual(['hash', 'omitted', 'prevHash', 'seq']);
    expect(all.join('\n')).not.toContain('in.ndjson:A');
    const ok = await offline('--export', file, '--checkpoints', join(dir, 'worm'), '--json');
    expect(JSON.parse(ok.stdout)).toEqual({ ok: true, range: { from: 1, to: last }, entries: 1, omitted: last - 1, checkpoints: 2, lastCheckpoint: last, sealed: true });
    const forged = all.map((l, i) => {
      if (i !== 1 && i !== 2) return l;
      const o = JSON.parse(l) as Record<string, unknown>;
      return JSON.stringify(i === 1 ? { ...o, hash: 'a'.repeat(64) } : { ...o, prevHash: 'a'.repeat(64) });
    });
    const [cut, unsealed, relinked] = await Promise.all([
      offline('--export', write('cut.jsonl', [...all.slice(0, -2), all.at(-1)!]), '--checkpoints', join(dir, 'worm')),
      offline('--export', write('unsealed.jsonl', all.slice(0, -1)), '--checkpoints', join(dir, 'worm')),
      offline('--export', write('relinked.jsonl', forged), '--checkpoints', join(dir, 'worm')),
    ]);
    expect(cut).toMatchObject({ code: 1, stdout: `export BROKEN at seq ${last}: deleted: the export ends at seq ${last - 1} but a checkpoint signed seq ${last}\n` });
    expect(unsealed).toMatchObject({ code: 1, stdout: `export BROKEN at seq ${last}: deleted: the export has lost the signed end its header promises\n` });
    expect(relinked).toMatchObject({
      code: 1,
      stdout: `export BROKEN at seq ${last}: edited: the lines are not the ones signed at the end of the export: a line was changed after the export\n`,
    });
  });

  it('an unsigned export fails past the last external checkpoint; a CSV file is refused as an export', async () => {
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    await ledger.receive(P, await ledger.startRun(P, 'runner:test:1', 'sha256:map'), [{ key: 'F', contentHash: 'h-F', body: {}, source: 'in.ndjson:8' }], 'runner:test:1');
    await store.close();
    const file = join(dir, 'unsigned.jsonl');
    expect((await cli('audit', 'export', '--format', 'jsonl', '--no-sign', '--out', file)).code).toBe(0);
    const head = lines(file).length - 1;
    expect(JSON.parse(lines(file)[0]!)).toMatchObject({ checkpoint: null });
    const worm = join(dir, 'worm');
    const [short, csv] = await Promise.all([
      offline('--export', file, '--checkpoints', worm),
      offline('--export', write('x.csv', ['seq,at']), '--checkpoints', worm),
    ]);
    const cpSeq = Math.max(...(await readCheckpointFile(worm)).map((c) => c.seq));
    expect(cpSeq).toBeLessThan(head);
    expect(short).toMatchObject({
      code: 1,
      stdout: `export BROKEN at seq ${cpSeq + 1}: appended: seq ${cpSeq + 1} is past the signed range (the last checkpoint the export covers is at seq ${cpSeq}): it cannot be told from an appended line\n`,
    });
    expect(csv.code).toBe(1);
    expect(csv.stderr).toContain('AUDIT_EXPORT_INVALID');
    expect(csv.stderr).toContain('the first line is not JSON: not a rekey audit export (export with --format jsonl)');
  });

  it('verify on the store says plainly when no external checkpoint holds the chain', async () => {
    const none = { ...env, REKEY_AUDIT_VERIFY_KEY: '', REKEY_AUDIT_SIGNING_KEY: '' };
    const [plain, json, held] = await Promise.all([
      rekey(['audit', 'verify', '--state', url], dir, none),
      rekey(['audit', 'verify', '--state', url, '--json'], dir, none),
      rekey(['audit', 'verify', '--state', url], dir, { ...env, REKEY_AUDIT_CHECKPOINTS: join(dir, 'worm') }),
    ]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(
      /^audit log OK: (\d+) entries, 0 checkpoint\(s\) matched\nproved: the internal hash chain only: seqs 1\.\.\1 match their hashes and each links to the one before\nnot proved: entries 1\.\.\1 are not covered by any signed checkpoint: a rewrite of the whole chain or of its tail cannot be detected\nno external checkpoint: a rewrite of the whole chain or of its tail cannot be detected; see docs\/audit-checkpoints.md\n$/,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, externalCheckpoints: 0, lastExternalCheckpoint: null, warning: NO_EXTERNAL_CHECKPOINT, lastCheckpoint: null, checkpointsFrom: null });
    expect(held.code).toBe(0);
    const cpSeq = Math.max(...(await readCheckpointFile(join(dir, 'worm'))).map((c) => c.seq));
    expect(held.stdout).toMatch(
      new RegExp(
        `^audit log OK: (\\d+) entries, 1 checkpoint\\(s\\) matched\nproved: the hash chain, seqs 1\\.\\.\\1, and that seqs 1\\.\\.${cpSeq} are the chain signed by the checkpoint at seq ${cpSeq} \\(from the external copy\\)\nnot proved: entries after seq ${cpSeq} \\(seqs ${cpSeq + 1}\\.\\.\\1\\) are not covered by any signed checkpoint: a rewrite of them cannot be detected until the next checkpoint\n$`,
      ),
    );
  });

  it('records each export on the audit log (audit-exported) after the range it covers, so the export still verifies; a refused one writes nothing', async () => {
    type Row = { seq: number | string; event: string; pipeline: string; actor: string; detail: string };
    const logged = async () => {
      const store = await openStateStore(url);
      try {
        return (await store.select<Row>('SELECT seq, event, pipeline, actor, detail FROM audit_log ORDER BY seq')).map((r) => ({ ...r, seq: Number(r.seq), detail: JSON.parse(r.detail) as Record<string, unknown> }));
      } finally {
        await store.close();
      }
    };
    const head = (await logged()).length;
    const [from, to] = ['2000-01-01T00:00:00.000Z', '2100-12-31T23:59:59.999Z'];
    const file = join(dir, 'recorded.jsonl');
    expect((await cli('audit', 'export', '--format', 'jsonl', '--pipeline', P, '--from', from, '--to', to, '--operator', 'alice', '--out', file)).code).toBe(0);
    const body = lines(file).slice(1, -1).map((l) => JSON.parse(l) as { omitted?: boolean });
    const after = await logged();
    expect(after).toHaveLength(head + 1);
    expect(after.at(-1)).toEqual({
      seq: head + 1,
      event: 'audit-exported',
      pipeline: P,
      actor: 'operator:alice',
      detail: { keys: [], format: 'jsonl', filter: { pipeline: P }, from, to, range: { from: 1, to: head }, entries: body.filter((l) => !l.omitted).length, omitted: body.filter((l) => l.omitted).length, signed: true, complete: true },
    });
    expect(body.filter((l) => !l.omitted).length).toBeGreaterThan(0);
    const checked = await offline('--export', file, '--checkpoints', join(dir, 'worm'));
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(new RegExp(`^export OK: seqs 1\\.\\.${head}, `));

    const csv = await cli('audit', 'export', '--pipeline', P, '--key', 'CA3HJ7WR', '--event', 'received', '--operator', 'bob');
    expect(csv.code).toBe(0);
    const rows = parseCsv(csv.stdout, { columns: true }) as unknown[];
    const [csvEntry] = (await logged()).slice(head + 1);
    expect(csvEntry).toMatchObject({ event: 'audit-exported', pipeline: P, actor: 'operator:bob', detail: { keys: [], format: 'csv', filter: { pipeline: P, key: CITIZEN, events: ['received'] }, from: null, to: null, range: { from: 1, to: head + 1 }, entries: rows.length, signed: false, complete: true } });
    expect(rows).toHaveLength(1);
    expect(csvEntry!.detail).not.toHaveProperty('omitted');
    expect(JSON.stringify(await logged())).not.toContain('Canary');

    const refused = await Promise.all([cli('audit', 'export', '--pipeline', P, '--key', 'NEVER123'), cli('audit', 'export', '--format', 'xml')]);
    expect(refused.map((r) => r.code)).toEqual([1, 2]);
    expect(await logged()).toHaveLength(head + 2);
    expect((await cli('audit', 'verify')).code).toBe(0);
  });
});

describe('rekey audit verify with a verify key: what it proved and what it did not (the built CLI, in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-proved-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const keys = join(dir, 'keys');
  const pub = join(keys, 'audit-verify.pub.pem');
  const bare = { REKEY_AUDIT_SIGNING_KEY: '', REKEY_AUDIT_VERIFY_KEY: '', REKEY_AUDIT_CHECKPOINTS: '' };
  const verify = (args: string[], env: Record<string, string> = {}) => rekey(['audit', 'verify', '--state', url, ...args], dir, { ...bare, ...env });
  const json = async (args: string[], env: Record<string, string> = {}) => {
    const r = await verify([...args, '--json'], env);
    return { code: r.code, ...(JSON.parse(r.stdout) as Record<string, unknown>) } as Record<string, unknown>;
  };

  beforeAll(async () => {
    await seed(url);
    expect((await rekey(['audit', 'keygen', keys])).code).toBe(0);
  }, 90_000);

  it('exits 3 when a verify key is given and no checkpoint exists, saying it proved the internal chain only; 0 without a key', async () => {
    const [byOption, byEnv, noKey, asJson] = await Promise.all([verify(['--public-key', pub]), verify([], { REKEY_AUDIT_VERIFY_KEY: pub }), verify([]), json(['--public-key', pub])]);
    for (const r of [byOption, byEnv]) {
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^audit log OK: (\d+) entries, 0 checkpoint\(s\) matched\nproved: the internal hash chain only: seqs 1\.\.\1 match their hashes and each links to the one before\n/);
      expect(r.stdout).toMatch(/\nnot proved: entries 1\.\.\d+ are not covered by any signed checkpoint: /);
      expect(r.stdout).toMatch(/\na verify key was given but no signed checkpoint was found to hold the chain to \(exit 3\)\n$/);
    }
    expect(noKey.code).toBe(0);
    expect(noKey.stdout).toContain('\nproved: the internal hash chain only: ');
    expect(noKey.stdout).not.toContain('a verify key was given');
    expect(asJson).toMatchObject({ code: 3, ok: true, checkpoints: 0, lastCheckpoint: null, checkpointsFrom: null, proved: expect.stringMatching(/^the internal hash chain only/) });
  });

  it('says how far a checkpoint holds the chain and that the entries after it are not covered, from the store or the external copy', async () => {
    const signing = join(keys, 'audit-signing.key.pem');
    expect((await rekey(['audit', 'checkpoint', '--key', signing, '--state', url], dir, bare)).code).toBe(0);
    const stored = await json(['--public-key', pub]);
    const s = stored.lastCheckpoint as number;
    expect(stored).toMatchObject({ code: 0, ok: true, checkpoints: 1, checkpointsFrom: 'state store', warning: NO_EXTERNAL_CHECKPOINT });
    expect(stored.notProved).toBeNull();
    expect((await rekey(['audit', 'export', '--format', 'json', '--state', url], dir, bare)).code).toBe(0);
    const worm = join(dir, 'worm');
    mkdirSync(worm);
    expect((await rekey(['audit', 'checkpoint', '--key', signing, '--export', worm, '--state', url], dir, bare)).code).toBe(0);
    const cps = await readCheckpointFile(worm);
    const last = Math.max(...cps.map((c) => c.seq));
    expect(last).toBeGreaterThan(s);
    // An entry after the last checkpoint: an export is recorded on the log.
    expect((await rekey(['audit', 'export', '--format', 'json', '--state', url], dir, bare)).code).toBe(0);
    const [text, viaStore] = await Promise.all([verify(['--public-key', pub, '--checkpoints', worm]), verify(['--public-key', pub])]);
    expect(text.code).toBe(0);
    const n = last + 1;
    expect(text.stdout).toBe(
      `audit log OK: ${n} entries, ${cps.length} checkpoint(s) matched\n` +
        `proved: the hash chain, seqs 1..${n}, and that seqs 1..${last} are the chain signed by the checkpoint at seq ${last} (from the external copy)\n` +
        `not proved: entries after seq ${last} (seqs ${n}..${n}) are not covered by any signed checkpoint: a rewrite of them cannot be detected until the next checkpoint\n`,
    );
    expect(viaStore.code).toBe(0);
    expect(viaStore.stdout).toContain(`(kept in the state store)\nnot proved: entries after seq ${last} (seqs ${n}..${n}) are not covered by any signed checkpoint`);
    expect(viaStore.stdout).toMatch(/\nno external checkpoint: .*\n$/);
  });
});

describe('rekey audit prove and verify --proof (the built CLI, in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-audit-prove-'));
  const url = `sqlite:${join(dir, 'state.sqlite')}`;
  const keys = join(dir, 'keys');
  const env = { REKEY_AUDIT_SIGNING_KEY: join(keys, 'audit-signing.key.pem'), REKEY_AUDIT_VERIFY_KEY: join(keys, 'audit-verify.pub.pem'), REKEY_AUDIT_CHECKPOINTS: '' };
  const cli = (...args: string[]) => rekey([...args, '--state', url], dir, env);
  const CITIZEN = 'Change the address on your driving licence/CA3HJ7WR';
  const LATER = 'Change the address on your driving licence/LATER001';
  const NEIGHBOUR = 'Change the address on your driving licence/NEIGHB01';
  const receive = async (...keysToReceive: string[]) => {
    const store = await openStateStore(url);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    const run = await ledger.startRun(P, 'runner:test:1', 'sha256:map');
    await ledger.receive(P, run, keysToReceive.map((key) => ({ key, contentHash: `h-${key}`, body: { surname: 'Canary' }, source: 'in.ndjson:7' })), 'runner:test:1');
    await store.close();
  };
  const events = async () => {
    const store = await openStateStore(url);
    try {
      return (await store.select<{ event: string; actor: string; detail: string }>('SELECT event, actor, detail FROM audit_log ORDER BY seq')).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
    } finally {
      await store.close();
    }
  };

  beforeAll(async () => {
    await seed(url);
    await receive(NEIGHBOUR, CITIZEN);
    expect((await rekey(['audit', 'keygen', keys])).code).toBe(0);
    mkdirSync(join(dir, 'worm'));
    expect((await cli('audit', 'checkpoint', '--export', join(dir, 'worm'))).code).toBe(0);
  }, 90_000);

  it("proves one submission's entries, held to the checkpoint, without its neighbour's; the proof verifies offline and the making is on the log", async () => {
    const file = join(dir, 'proof.json');
    const made = await cli('audit', 'prove', P, 'ca3hj7wr', '--out', file, '--checkpoints', join(dir, 'worm'), '--operator', 'alice');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(new RegExp(`^proof of submission ${CITIZEN}: 1 entries naming it, seqs \\d+\\.\\.\\d+, held to the checkpoint at seq \\d+ signed at `));
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(NEIGHBOUR);
    expect(text).not.toContain('Canary');
    const last = (await events()).at(-1)!;
    expect(last).toMatchObject({ event: 'audit-proved', actor: 'operator:alice', detail: { keys: [], key: CITIZEN, naming: 1 } });

    const ok = await rekey(['audit', 'verify', '--proof', file], dir, env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^proof OK: submission ${CITIZEN} of pipeline ${P}, 1 entries naming it, \\d+ entries recomputed, held to the checkpoint at seq \\d+`));
    expect(ok.stdout).toMatch(/\n {2}seq \d+ {2}\S+Z {2}received {2}by runner:test:1\n/);

    const forged = JSON.parse(text) as { entries: { records?: { text: string }[] }[] };
    const shown = forged.entries.find((e) => e.records)!.records![0]!;
    shown.text = shown.text.replace('in.ndjson:7', 'in.ndjson:8');
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    const broken = await rekey(['audit', 'verify', '--proof', join(dir, 'forged.json')], dir, env);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^proof BROKEN at seq \d+: edited: a record shown for the entry at seq \d+ is not in its Merkle tree at position 1\n$/);

    expect((await rekey(['audit', 'verify', '--proof', file], dir, { REKEY_AUDIT_CHECKPOINTS: '' })).code).toBe(2);
    writeFileSync(join(dir, 'not-a-proof.json'), '{"format":"rekey-audit-export"}');
    const notProof = await rekey(['audit', 'verify', '--proof', join(dir, 'not-a-proof.json')], dir, env);
    expect(notProof.code).toBe(1);
    expect(notProof.stderr).toContain('AUDIT_PROOF_INVALID');
  });

  it('says when no checkpoint holds the proof (exit 3 on verify), and refuses a submission no entry names', async () => {
    await receive(LATER);
    const made = await cli('audit', 'prove', P, 'LATER001');
    expect(made.code).toBe(0);
    expect(made.stderr).toContain('NOT held to a signed checkpoint: none is at or after seq');
    writeFileSync(join(dir, 'later.json'), made.stdout);
    const unanchored = await rekey(['audit', 'verify', '--proof', join(dir, 'later.json')], dir, env);
    expect(unanchored.code).toBe(3);
    expect(unanchored.stdout).toContain('NOT held to a signed checkpoint');
    const before = (await events()).length;
    const none = await cli('audit', 'prove', P, 'NEVER123');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('SUBMISSION_NOT_FOUND');
    // A proof that cannot be written (the file is there already) is neither written over nor recorded.
    const taken = await cli('audit', 'prove', P, 'LATER001', '--out', join(dir, 'later.json'));
    expect(taken.code).toBe(1);
    expect(readFileSync(join(dir, 'later.json'), 'utf8')).toBe(made.stdout);
    expect(await events()).toHaveLength(before);
  });

  it('writes no proof from a broken log, and says where it broke', async () => {
    const store = await openStateStore(url);
    await store.exec("UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = (SELECT MAX(seq) FROM audit_log WHERE event = 'received')");
    await store.close();
    const file = join(dir, 'from-broken.json');
    const made = await cli('audit', 'prove', P, 'LATER001', '--out', file);
    expect(made.code).toBe(1);
    expect(made.stderr).toMatch(/^rekey: the audit log is broken at seq \d+ \(edited: the entry at seq \d+ no longer matches its hash\); no proof written: run rekey audit verify\n$/);
    expect(existsSync(file)).toBe(false);
  });
});
