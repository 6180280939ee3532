/**
 * Several runners (issue 22): three `rekey run` processes at once on one
 * PostgreSQL state store, one of them killed with SIGKILL after a random
 * delay (seeded: REKEY_RELIABILITY_SEED) again and again while the other
 * two go on running pass after pass, and new numbered submissions arrive
 * after each kill. Then runs until one completes with nothing waiting.
 * The legacy table (PostgreSQL) is counted against what was submitted:
 * none lost, none duplicated; the ledger says each was delivered, the
 * audit log has one `received` and one `delivered` per key, and its chain
 * verifies. Bounded form: 3 kills; long form (REKEY_RELIABILITY=long):
 * 100. Needs `npm run build`.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, ndjson, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { figure, legacyTable, pgSchema, pick, SEED, seeded, tally, timeoutFor } from './reliability.test-helpers.js';

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
    // Paced delivery, so kills land mid-work however fast the machine.
    work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: { limits: { ratePerSecond: 40 } } }, benchSubmissions(FIRST, 0));
    await (await openStateStore(stateUrl)).close();
    let submitted = FIRST;
    const random = seeded(SEED + 22);
    let kills = 0;
    let victimRuns = 0;
    let steadyRuns = 0;
    let stop = false;
    const victim = async () => {
      try {
        while (kills < KILLS && victimRuns < KILLS * 3) {
          victimRuns++;
          const r = await work.run(legacy.env, { killAfterMs: 1000 + Math.floor(random() * 3000) });
          if (r.signal === 'SIGKILL') kills++;
          else expect(r.code, r.stderr.slice(-2000)).not.toBeNull();
          appendWhole(work.dir, benchSubmissions(STEP, submitted));
          submitted += STEP;
        }
      } finally {
        stop = true;
      }
    };
    const steady = async () => {
      while (!stop) {
        steadyRuns++;
        const r = await work.run(legacy.env);
        expect(r.signal, r.stderr.slice(-2000)).toBeNull();
      }
    };
    await Promise.all([victim(), steady(), steady()]);
    const done = await work.finish(legacy.env, 5);
    expect(done.code, done.stderr.slice(-2000)).toBe(0);

    const keys = benchSubmissions(submitted, 0).map(keyOf);
    const t = tally(keys, await legacy.keys());
    const ledger = await ledgerRows(stateUrl, pipeline);
    const notDelivered = ledger.filter((r) => r.state !== 'delivered');
    const audit = await auditOf(stateUrl, pipeline);
    figure(
      `cluster kill -9: ${kills} kills in ${victimRuns} runs of one runner, ${steadyRuns} runs of two others, ${submitted} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length}, audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
    );
    expect(kills).toBe(KILLS);
    expect(t.lost, 'lost').toEqual([]);
    expect(t.duplicated, 'duplicated').toEqual([]);
    expect(t.held).toBe(submitted);
    expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
    expect(ledger).toHaveLength(submitted);
    for (const event of ['received', 'delivered']) expect(audit.entries.filter((e) => e.event === event).map((e) => e.key).sort(), event).toEqual([...keys].sort());
    expect(audit.verified).toBe(true);
  }, timeoutFor(KILLS * 3) + 240_000);
});
