/**
 * Several runners (issue 22): three `rekey run` processes at once on one
 * PostgreSQL state store, one of them killed with SIGKILL after a random
 * delay (seeded: REKEY_RELIABILITY_SEED; within the time the victim's last
 * run that was not killed took, so that kills land on a fast machine as on
 * a slow one) again and again while the other
 * two go on running pass after pass, and new numbered submissions arrive
 * after each kill. Two pipelines of the same submissions take turns in
 * every runner's loop: one into a PostgreSQL legacy table, one into a file
 * drop (CSV files, each checked against its manifest), so kills land in
 * both. Then each runs until one completes with nothing waiting. The
 * legacy table and the dropped files are counted against what was
 * submitted: none lost, none duplicated; the ledger says each was
 * delivered, the audit log has one `received` and one `delivered` per key,
 * and its chain verifies. Bounded form: 3 kills; long form
 * (REKEY_RELIABILITY=long): 100. Needs `npm run build`.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, ndjson, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { droppedKeys, figure, legacyTable, pgSchema, pick, SEED, seeded, tally, timeoutFor } from './reliability.test-helpers.js';

const KILLS = pick(3, 100);
const FIRST = 120;
const STEP = 10;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Adds submissions to the source file by writing a whole new file and renaming it into place, so a runner reading it never sees half a line. */
function appendWhole(dir: string, bodies: readonly object[]): void {
  const file = join(dir, 'submissions.ndjson');
  writeFileSync(`${file}.next`, readFileSync(file, 'utf8') + ndjson(bodies));
  renameSync(`${file}.next`, file);
}

describe('kill -9 of one runner of three on one PostgreSQL state store', () => {
  it.skipIf(Boolean(pgSkipReason))(`${KILLS} kills of one runner while two go on: every submission delivered once`, async () => {
    const schema = await pgSchema();
    cleanup.push(() => schema.drop());
    const stateUrl = schema.stateUrl();
    const work = new WorkDir('rekey-cluster-kill9-', ['--state', stateUrl]);
    cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
    const legacy = await legacyTable(work, 'postgres', schema);
    const pipeline = 'cluster-kill9';
    const dropPipeline = 'cluster-kill9-drop';
    const dropWork = new WorkDir('rekey-cluster-kill9-drop-', ['--state', stateUrl]);
    cleanup.push(() => rmSync(dropWork.dir, { recursive: true, force: true }));
    // Paced delivery, so kills land mid-work however fast the machine.
    const paced = { limits: { ratePerSecond: 40 } };
    work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: paced }, benchSubmissions(FIRST, 0));
    const dropTarget = { kind: 'file-drop', config: { folder: './drop', name: 'ADDR_{seq:4}.csv', manifest: true, trigger: '.ok', rotate: { records: 25 }, format: { kind: 'csv' } } };
    dropWork.write({ name: dropPipeline, mapping: BENCH_MAPPING, target: dropTarget, batch: 10, extra: paced }, benchSubmissions(FIRST, 0));
    await (await openStateStore(stateUrl)).close();
    let submitted = FIRST;
    const random = seeded(SEED + 22);
    let kills = 0;
    let victimRuns = 0;
    // How long a victim's run lasts when not killed (learnt from the runs that end on their own): kills fall in its
    // later part (30 % to 95 % of it), where the run reads and delivers, not only while it starts.
    let span = 1500;
    let steadyRuns = 0;
    let stop = false;
    // Each runner's loop takes the two pipelines in turn.
    const turn = (n: number) => (n % 2 ? dropWork : work);
    const victim = async () => {
      try {
        while (kills < KILLS && victimRuns < KILLS * 4) {
          const started = Date.now();
          const r = await turn(victimRuns++).run(legacy.env, { killAfterMs: Math.max(200, Math.floor(span * (0.3 + 0.65 * random()))) });
          if (r.signal === 'SIGKILL') kills++;
          else {
            expect(r.code, r.stderr.slice(-2000)).not.toBeNull();
            span = Date.now() - started;
          }
          for (const w of [work, dropWork]) appendWhole(w.dir, benchSubmissions(STEP, submitted));
          submitted += STEP;
        }
      } finally {
        stop = true;
      }
    };
    const steady = async (first: number) => {
      for (let n = first; !stop; n++) {
        steadyRuns++;
        const r = await turn(n).run(legacy.env);
        expect(r.signal, r.stderr.slice(-2000)).toBeNull();
      }
    };
    await Promise.all([victim(), steady(0), steady(1)]);
    for (const w of [work, dropWork]) {
      const done = await w.finish(legacy.env, 5);
      expect(done.code, done.stderr.slice(-2000)).toBe(0);
    }

    const keys = benchSubmissions(submitted, 0).map(keyOf);
    const t = tally(keys, await legacy.keys());
    const d = tally(keys, droppedKeys(join(dropWork.dir, 'drop'), keys[0]!.split('/')[0]!));
    const ledger = await ledgerRows(stateUrl, pipeline);
    const dropLedger = await ledgerRows(stateUrl, dropPipeline);
    const notDelivered = [...ledger, ...dropLedger].filter((r) => r.state !== 'delivered');
    const audit = await auditOf(stateUrl, pipeline);
    const dropAudit = await auditOf(stateUrl, dropPipeline);
    figure(
      `cluster kill -9: ${kills} kills in ${victimRuns} runs of one runner, ${steadyRuns} runs of two others, ${submitted} submissions into each of an SQL table and a file drop; SQL lost ${t.lost.length}, duplicated ${t.duplicated.length}; file drop lost ${d.lost.length}, duplicated ${d.duplicated.length}; ledger not delivered ${notDelivered.length}, audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
    );
    expect(kills).toBe(KILLS);
    expect(t.lost, 'lost').toEqual([]);
    expect(t.duplicated, 'duplicated').toEqual([]);
    expect(t.held).toBe(submitted);
    expect(d.lost, 'lost from the drop').toEqual([]);
    expect(d.duplicated, 'duplicated in the drop').toEqual([]);
    expect(d.held).toBe(submitted);
    expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
    expect(ledger).toHaveLength(submitted);
    expect(dropLedger).toHaveLength(submitted);
    for (const a of [audit, dropAudit]) {
      for (const event of ['received', 'delivered']) expect(a.entries.filter((e) => e.event === event).map((e) => e.key).sort(), event).toEqual([...keys].sort());
    }
    expect(audit.verified).toBe(true);
  }, timeoutFor(KILLS * 4) + 240_000);
});
