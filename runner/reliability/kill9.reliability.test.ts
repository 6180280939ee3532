/**
 * Reliability: kill -9 loops (issue 23). `rekey run` as a real child
 * process on numbered submissions (a file source, NDJSON), killed with
 * SIGKILL after a random delay (seeded: REKEY_RELIABILITY_SEED) again and
 * again while new numbered submissions arrive, then run until a run
 * completes. Afterwards the legacy table is counted against what was
 * submitted: none lost, none duplicated; the ledger says each was
 * delivered and the audit chain verifies. For each state store (SQLite,
 * PostgreSQL in a schema of its own) and each target (SQLite, PostgreSQL).
 * Bounded form: 10 kills each; long form (REKEY_RELIABILITY=long): 500.
 * Needs `npm run build`.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { figure, legacyTable, pgSchema, pick, SEED, seeded, tally, timeoutFor, type PgSchema, type Place } from './reliability.test-helpers.js';

const KILLS = pick(10, 500);
/** Submissions in the source before the first run, and added after each run. */
const FIRST = 100;
const STEP = 10;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

const CASES: { state: Place; target: Place }[] = [
  { state: 'sqlite', target: 'sqlite' },
  { state: 'sqlite', target: 'postgres' },
  { state: 'postgres', target: 'sqlite' },
  { state: 'postgres', target: 'postgres' },
];

for (const { state, target } of CASES)
  describe(`kill -9 loop, state ${state}, target ${target}`, () => {
  const skip = state === 'postgres' || target === 'postgres' ? pgSkipReason : null;
  it.skipIf(Boolean(skip))(
    `${KILLS} kills at random moments, new submissions arriving, then run to the end: none lost, none duplicated`,
    async () => {
      let schema: PgSchema | undefined;
      if (state === 'postgres' || target === 'postgres') {
        schema = await pgSchema();
        cleanup.push(() => schema!.drop());
      }
      const work = new WorkDir(`rekey-kill9-${state}-${target}-`, state === 'postgres' ? ['--state', schema!.stateUrl()] : []);
      cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
      const stateUrl = state === 'postgres' ? schema!.stateUrl() : work.state;
      const legacy = await legacyTable(work, target, schema);
      const pipeline = `kill9-${state}-${target}`;
      // Paced delivery, so most kills land mid-work however fast the machine.
      work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: { limits: { ratePerSecond: 40 } } }, benchSubmissions(FIRST, 0));
      let submitted = FIRST;
      const random = seeded(SEED + CASES.findIndex((c) => c.state === state && c.target === target));
      let kills = 0;
      let runs = 0;
      // A run may end before its kill (little left to do, a fast start): those count as runs, not kills, so the
      // cap leaves room for them; the same seed took 10 to 29 runs for 10 kills on one machine in one hour.
      while (kills < KILLS && runs < KILLS * 6) {
        runs++;
        const r = await work.run(legacy.env, { killAfterMs: 300 + Math.floor(random() * 1700) });
        if (r.signal === 'SIGKILL') kills++;
        else expect(r.code, r.stderr.slice(-2000)).not.toBeNull();
        work.append(benchSubmissions(STEP, submitted));
        submitted += STEP;
      }
      const done = await work.finish(legacy.env, 5);
      expect(done.code, done.stderr.slice(-2000)).toBe(0);

      const keys = benchSubmissions(submitted, 0).map(keyOf);
      const t = tally(keys, await legacy.keys());
      const ledger = await ledgerRows(stateUrl, pipeline);
      const notDelivered = ledger.filter((r) => r.state !== 'delivered');
      const audit = await auditOf(stateUrl, pipeline);
      figure(
        `kill -9 loop, state ${state}, target ${target}: ${kills} kills in ${runs} runs, ${submitted} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length}, audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
      );
      expect(kills).toBe(KILLS);
      expect(t.lost, 'lost').toEqual([]);
      expect(t.duplicated, 'duplicated').toEqual([]);
      expect(t.held).toBe(submitted);
      expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
      expect(ledger).toHaveLength(submitted);
      for (const event of ['received', 'delivered']) expect(audit.entries.filter((e) => e.event === event).map((e) => e.key).sort(), event).toEqual([...keys].sort());
      expect(audit.verified).toBe(true);
    },
    timeoutFor(KILLS),
  );
});
