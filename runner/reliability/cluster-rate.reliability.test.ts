/**
 * Several runners (issue 22): `limits.ratePerSecond` holds across the
 * cluster. Three `rekey run` processes on one PostgreSQL schema deliver a
 * pipeline limited to RATE records a second into a PostgreSQL legacy
 * table that stamps each row with the database's clock as it is written.
 * The submissions are in the ledger first (read in a blackout), so the
 * three share the due work. Counted per second of those stamps: never
 * more than RATE and two batches of slack (timers and commits land a
 * little late), where three runners pacing themselves alone would write
 * up to three times RATE. Every submission is in the table once. Needs
 * `npm run build`.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { keyOf, summaryOf, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { figure, legacyTable, pgSchema, tally } from './reliability.test-helpers.js';
import { runProcess, type RunnerProcess } from './cluster.test-helpers.js';

const RUNNERS = 3;
const RATE = 30;
const BATCH = 3;
const SUBMISSIONS = 210;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('a rate limit across several runners', () => {
  it.skipIf(Boolean(pgSkipReason))(`${RUNNERS} runners, limits.ratePerSecond ${RATE}: at most ${RATE} (+ ${2 * BATCH}) rows a second at the target`, async () => {
    const schema = await pgSchema();
    cleanup.push(() => schema.drop());
    const state = schema.stateUrl();
    const work = new WorkDir('rekey-cluster-rate-', ['--state', state]);
    cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
    const legacy = await legacyTable(work, 'postgres', schema);
    await schema.query(`ALTER TABLE ${schema.name}.legacy ADD COLUMN written_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()`);
    const bodies = benchSubmissions(SUBMISSIONS, 0);
    const pipeline = { name: 'cluster-rate', mapping: BENCH_MAPPING, target: legacy.target, batch: BATCH };
    const today = new Date().toISOString().slice(0, 10);
    work.write({ ...pipeline, extra: { window: { timezone: 'UTC', blackout: [today] } } }, bodies);
    const load = await work.run(legacy.env);
    expect(summaryOf(load), load.stderr.slice(-2000)).toMatchObject({ receivedNew: SUBMISSIONS, delivered: 0 });
    work.write({ ...pipeline, extra: { limits: { ratePerSecond: RATE } } }, bodies);

    const runners: RunnerProcess[] = Array.from({ length: RUNNERS }, () => runProcess(work.dir, 'pipeline.yaml', state, legacy.env));
    cleanup.push(() => {
      for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    });
    const exits = await Promise.all(runners.map((r) => r.exited));
    const delivered = exits.map((e) => {
      expect(e.code, e.stderr.slice(-2000)).toBe(0);
      return summaryOf(e).delivered ?? 0;
    });
    const perSecond = (await schema.query(`SELECT date_trunc('second', written_at) AS s, count(*)::int AS n FROM ${schema.name}.legacy GROUP BY 1 ORDER BY 1`)) as { s: Date; n: number }[];
    const most = Math.max(...perSecond.map((w) => w.n));
    const t = tally(bodies.map(keyOf), await legacy.keys());
    figure(`cluster-rate runners=${RUNNERS} rate=${RATE} batch=${BATCH} deliveredByRunner=${delivered.join('/')} rowsPerSecond=${perSecond.map((w) => w.n).join(',')} most=${most}`);
    expect(t.lost).toEqual([]);
    expect(t.duplicated).toEqual([]);
    // The three shared the work: each delivered some of it at once with the others.
    expect(delivered.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(RATE + 2 * BATCH);
  }, 180_000);
});
