/**
 * `npm run bench -- audit-seal`: what sealing one audit entry about a batch
 * costs the thread that appends it, per record, for batches shaped like the
 * flow's `received` and `delivered` entries (2,000 records, the pipeline's
 * chunk):
 *
 * - **whole** (the hand-written baseline: the scheme before Merkle entries):
 *   serialise the detail, one SHA-256 over its text;
 * - **merkle here**: `sealDetail`, the Merkle tree hashed on this thread;
 * - **merkle thread**: what `AuditLog.append` does: serialise the records,
 *   hand their text to the Merkle thread, seal with its root. Its figure is
 *   this thread's CPU only (`process.threadCpuUsage`); `merkle thread, all`
 *   adds the Merkle thread's.
 *
 * REKEY_BENCH_SEAL_ROUNDS (default 200) entries a figure, after 20 to warm up.
 *
 * Then what verifying costs (`AuditLog.verify`, as `rekey audit verify`
 * runs it) over REKEY_BENCH_VERIFY_ENTRIES (default 100) such entries,
 * hashed whole (the baseline) and as Merkle entries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../pipelines/audit/audit-log.js';
import { openStateStore } from '../pipelines/store/state-store.js';
import { merklePlan, sealDetail, sealPlan } from '../pipelines/audit/audit.hash.js';
import type { AuditDetail, AuditRecord } from '../pipelines/audit/audit.types.js';
import { merkleRootOf } from '../pipelines/audit/merkle-thread.js';

const BATCH = 2_000;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const keyOf = (i: number) => `Change the address on your driving licence/${String(i).padStart(8, '0')}`;

/** Records shaped as the flow writes them (keys, hashes, sources and keyed hashes; never a value). */
const SHAPES: Record<string, () => AuditRecord[]> = {
  received: () => Array.from({ length: BATCH }, (_, i) => ({ key: keyOf(i), contentHash: `sha256:${hex(32)}`, source: `change-of-address.ndjson:${i + 1}`, state: 'delivering' })),
  delivered: () =>
    Array.from({ length: BATCH }, (_, i) => ({
      key: keyOf(i),
      from: 'delivering',
      legacyRef: String(i + 1),
      confirmed: false,
      sent: { hash: `sha256:${hex(32)}`, fields: Object.fromEntries(['SURNAME', 'FORENAMES', 'DOB', 'DRIVER_NO', 'ADDR1', 'POSTCODE'].map((f) => [f, `hmac:${hex(16)}`])) },
      target: { kind: 'sqlite', system: 'legacy.sqlite', object: 'DRV_ADDR_CHG', sentTo: 'DRV_ADDR_CHG' },
    })),
};

function whole(detail: AuditDetail): string {
  return createHash('sha256').update(JSON.stringify(detail)).digest('hex');
}

function merkleHere(detail: AuditDetail): string {
  return createHash('sha256').update(sealDetail(detail).hashedText).digest('hex');
}

async function merkleThread(detail: AuditDetail): Promise<string> {
  const plan = merklePlan(detail)!;
  return createHash('sha256').update(sealPlan(plan, await merkleRootOf(plan.joined, plan.lengths)).hashedText).digest('hex');
}

/** µs of CPU per record: this thread's, and the whole process's. */
async function measure(rounds: number, detail: AuditDetail, run: (d: AuditDetail) => string | Promise<string>): Promise<{ thread: number; all: number }> {
  for (let i = 0; i < 20; i++) await run(detail);
  const [thread, all] = [process.threadCpuUsage(), process.cpuUsage()];
  for (let i = 0; i < rounds; i++) await run(detail);
  const per = (u: NodeJS.CpuUsage) => (u.user + u.system) / rounds / BATCH;
  return { thread: per(process.threadCpuUsage(thread)), all: per(process.cpuUsage(all)) };
}

/**
 * `rekey audit verify`'s cost: a fresh SQLite store holding `entries`
 * delivered-shaped entries of 2,000 records, verified three times; the
 * fastest. `whole` entries name one key more than their records, so they
 * are hashed whole as every entry was before Merkle entries (the baseline);
 * `merkle` entries are sealed as the flow seals them.
 */
async function verifyFigures(entries: number, kind: 'whole' | 'merkle'): Promise<{ wallMs: number; cpuMicrosPerRecord: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-verify-'));
  const store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
  try {
    const log = new AuditLog(store);
    for (let b = 0; b < entries; b++) {
      const records = SHAPES.delivered!().map((r) => ({ ...r, key: `${r.key}-${b}` }));
      const keys = records.map((r) => r.key);
      await log.append([{ pipeline: 'bench', event: 'delivered', actor: 'runner:bench:1', detail: { runId: 'bench', keys: kind === 'whole' ? [...keys, 'unrecorded'] : keys, records } }]);
    }
    let best = { wallMs: Infinity, cpuMicrosPerRecord: Infinity };
    for (let i = 0; i < 3; i++) {
      const [wall, cpu] = [performance.now(), process.cpuUsage()];
      const r = await log.verify();
      if (!r.ok || r.entries !== entries) throw new Error(`the bench log did not verify: ${JSON.stringify(r)}`);
      const used = process.cpuUsage(cpu);
      const wallMs = performance.now() - wall;
      if (wallMs < best.wallMs) best = { wallMs, cpuMicrosPerRecord: (used.user + used.system) / (entries * BATCH) };
    }
    return best;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function auditSealBench(rounds = 200): Promise<Record<string, unknown>> {
  const rows: string[] = [];
  const ratios: Record<string, number> = {};
  const figures: Record<string, Record<string, number>> = {};
  for (const [shape, make] of Object.entries(SHAPES)) {
    const records = make();
    const detail: AuditDetail = { runId: 'bench', keys: records.map((r) => r.key), records };
    const w = await measure(rounds, detail, whole);
    const here = await measure(rounds, detail, merkleHere);
    const off = await measure(rounds, detail, merkleThread);
    figures[shape] = { whole: w.thread, merkleHere: here.thread, merkleThread: off.thread, merkleThreadAll: off.all, bytesPerRecord: JSON.stringify(detail).length / BATCH };
    ratios[`${shape}MerkleHereVsWhole`] = here.thread / w.thread;
    ratios[`${shape}MerkleThreadVsWhole`] = off.thread / w.thread;
    rows.push(`| ${shape} | ${Math.round(figures[shape]!.bytesPerRecord!)} | ${w.thread.toFixed(2)} | ${here.thread.toFixed(2)} | ${off.thread.toFixed(2)} | ${off.all.toFixed(2)} |`);
  }
  const verifyEntries = Number(process.env.REKEY_BENCH_VERIFY_ENTRIES ?? 100);
  const verify = { whole: await verifyFigures(verifyEntries, 'whole'), merkle: await verifyFigures(verifyEntries, 'merkle') };
  ratios.verifyMerkleVsWhole = verify.merkle.wallMs / verify.whole.wallMs;
  const markdown = [
    `${rounds} entries of ${BATCH.toLocaleString('en-GB')} records each; µs of CPU per record of the appending thread (the last column: every thread)`,
    '',
    '| entry | bytes/record | whole (before) | merkle here | merkle thread | merkle thread, all |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `rekey audit verify over ${verifyEntries} entries of ${BATCH.toLocaleString('en-GB')} records (the fastest of three)`,
    '',
    '| entries | wall ms | CPU µs/record, all threads |',
    '|---|---:|---:|',
    ...(['whole', 'merkle'] as const).map((k) => `| ${k} | ${Math.round(verify[k].wallMs)} | ${verify[k].cpuMicrosPerRecord.toFixed(2)} |`),
  ].join('\n');
  return { benchmark: 'audit-seal', markdown, figures, verify, ratios };
}
