/**
 * Reliability: a whole-chain rewrite of the audit log against exported
 * checkpoints (issue 23). `rekey run` delivers numbered submissions; `rekey
 * audit checkpoint` signs the chain head and exports the checkpoint to a
 * read-only file (the write-once copy); more submissions are delivered.
 * Then someone with write access to the state store rewrites the chain from
 * its first entry (an actor changed, every hash recomputed, consistently).
 * `rekey audit verify` on the store alone cannot see it (and says so);
 * with the exported checkpoints and the public key it fails, naming the
 * checkpoint. Needs `npm run build`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { WorkDir } from '../../connectors/conformance/conformance.run.js';
import { entryHash, GENESIS_HASH, hashedDetailText } from '../../pipelines/audit/audit.hash.js';
import { rowToEntry, type AuditRow } from '../../pipelines/audit/audit.rows.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { rekey } from '../cli.test-helpers.js';
import { figure, legacyTable } from './reliability.test-helpers.js';

const work = new WorkDir('rekey-audit-rewrite-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

/** Rewrites every entry of the chain from seq 1: `actor` of the first entry changed, every prev_hash and hash recomputed. Returns the entries rewritten. */
async function rewriteWholeChain(stateFile: string): Promise<number> {
  const store = await openStateStore(`sqlite:${stateFile}`);
  try {
    await store.exec("UPDATE audit_log SET actor = 'operator:mallory' WHERE seq = 1");
    const rows = await store.select<AuditRow>('SELECT * FROM audit_log ORDER BY seq');
    let prev = GENESIS_HASH;
    for (const r of rows) {
      const e = rowToEntry(r);
      const hash = entryHash(prev, e, hashedDetailText(r.detail, e.detail)!);
      await store.exec('UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, r.seq]);
      prev = hash;
    }
    return rows.length;
  } finally {
    await store.close();
  }
}

describe('audit tamper: a whole-chain rewrite', () => {
  it('passes a verify of the store alone, which says it cannot see one, and fails against the exported checkpoints', async () => {
    const legacy = await legacyTable(work, 'sqlite');
    work.write({ name: 'audit-rewrite', mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: { workers: 0 } }, benchSubmissions(50, 0));
    expect((await work.finish()).code).toBe(0);
    const state = ['--state', `sqlite:${work.state}`];
    const keys = join(work.dir, 'keys');
    expect((await rekey(['audit', 'keygen', keys], work.dir)).code).toBe(0);
    const worm = join(work.dir, 'checkpoints.jsonl');
    const cp = await rekey(['audit', 'checkpoint', ...state, '--key', join(keys, 'audit-signing.key.pem'), '--export', worm], work.dir);
    expect(cp.code, cp.stderr).toBe(0);
    work.append(benchSubmissions(50, 50));
    expect((await work.finish()).code).toBe(0);
    const pub = ['--checkpoints', worm, '--public-key', join(keys, 'audit-verify.pub.pem')];
    const before = await rekey(['audit', 'verify', ...state, ...pub, '--json'], work.dir);
    expect(before.code, before.stdout + before.stderr).toBe(0);

    const rewritten = await rewriteWholeChain(work.state);
    const alone = await rekey(['audit', 'verify', ...state], work.dir);
    const held = await rekey(['audit', 'verify', ...state, ...pub, '--json'], work.dir);
    const found = JSON.parse(held.stdout) as { ok: boolean; firstBad?: { seq: number; problem: string } };
    figure(
      `audit whole-chain rewrite: ${rewritten} entries rewritten from seq 1 (actor of seq 1 changed, every hash recomputed); verify of the store alone exit ${alone.code} ("${alone.stdout.split('\n').filter(Boolean).join(' / ')}"); verify against ${readFileSync(worm, 'utf8').trim().split('\n').length} exported checkpoint(s) exit ${held.code}, first bad seq ${found.firstBad?.seq} ${found.firstBad?.problem}`,
    );
    expect(alone.code).toBe(0);
    expect(alone.stdout).toMatch(/a rewrite of the whole chain or of its tail cannot be detected/);
    expect(held.code).toBe(1);
    expect(found.ok).toBe(false);
    expect(found.firstBad?.problem).toBe('checkpoint-mismatch');
  });
});
