/**
 * Several runners (issue 22): three `rekey serve` processes on one
 * PostgreSQL schema, one pipeline scheduled every second. Each runner
 * wakes on every tick; the schedule must fire once per tick across the
 * three, not three times. Counted in the `runs` table: scheduled runs over
 * a window can be no more than the ticks in it (with one tick of slack for
 * a timer that fired late), where three uncoordinated runners would run
 * about three per tick. Needs `npm run build`.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { WorkDir } from '../../connectors/conformance/conformance.run.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { after, figure, legacyTable, once, pgSchema, type PgSchema } from './reliability.test-helpers.js';
import { serveProcess, type RunnerProcess } from './cluster.test-helpers.js';

const RUNNERS = 3;
/** How long the three serve together, once all have run a pass. */
const WINDOW_MS = 8_000;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('a cron schedule across several runners', () => {
  it.skipIf(Boolean(pgSkipReason))(`${RUNNERS} rekey serve processes on one PostgreSQL schema, every second: one run per tick`, async () => {
    const schema: PgSchema = await pgSchema();
    cleanup.push(() => schema.drop());
    const work = new WorkDir('rekey-cluster-schedule-');
    cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
    const legacy = await legacyTable(work, 'postgres', schema);
    work.write({ name: 'every-second', mapping: BENCH_MAPPING, target: legacy.target, batch: 50, extra: { schedule: { cron: '* * * * * *', timezone: 'UTC' } } }, benchSubmissions(20, 0));
    const folder = work.dir;
    const state = schema.stateUrl();
    // The first opens the schema and migrates it; the others start once it is there.
    const runners: RunnerProcess[] = [serveProcess(work.dir, folder, state, legacy.env)];
    cleanup.push(async () => {
      for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    });
    const runs = async () => (await schema.query(`SELECT actor, started_at FROM ${schema.name}.runs WHERE trigger_kind = 'schedule' ORDER BY started_at`).catch(() => [])) as { actor: string; started_at: string | Date }[];
    await once(async () => (await runs()).length > 0, 60_000);
    if (!(await runs()).length) throw new Error(`no scheduled run: ${runners[0]!.output().stderr.slice(-3000)}`);
    for (let i = 1; i < RUNNERS; i++) runners.push(serveProcess(work.dir, folder, state, legacy.env));
    await once(async () => new Set((await runs()).map((r) => r.actor)).size >= 2, 60_000);
    const from = new Date().toISOString();
    await after(WINDOW_MS);
    const to = new Date().toISOString();
    for (const r of runners) r.child.kill('SIGTERM');
    const exits = await Promise.all(runners.map((r) => r.exited));
    const inWindow = (await runs()).filter((r) => new Date(r.started_at).toISOString() >= from && new Date(r.started_at).toISOString() < to);
    const ticks = (await schema.query(`SELECT tick, runner FROM ${schema.name}.schedule_ticks`)) as { tick: string; runner: string }[];
    const actors = new Set(inWindow.map((r) => r.actor));
    figure(`cluster-schedule runners=${RUNNERS} windowMs=${WINDOW_MS} scheduledRuns=${inWindow.length} runners-that-ran=${actors.size} ticksTaken=${ticks.length}`);
    for (const e of exits) expect(e.code, e.stderr.slice(-2000)).toBe(0);
    // At most one run per tick: no more runs than whole seconds in the window, and one more for a tick that fired late.
    expect(inWindow.length).toBeLessThanOrEqual(Math.floor(WINDOW_MS / 1000) + 1);
    expect(inWindow.length).toBeGreaterThanOrEqual(2);
    // Every run of the schedule was started by the runner that took the tick in the state store.
    const byRunner = new Map<string, number>();
    for (const t of ticks) byRunner.set(t.runner, (byRunner.get(t.runner) ?? 0) + 1);
    for (const r of actors) expect(byRunner.get(r) ?? 0).toBeGreaterThan(0);
  }, 180_000);
});
