/**
 * Several runners (issue 22): housekeeping chores run on one runner per
 * period, not on every runner. Three `rekey serve` processes start
 * together on one PostgreSQL schema with signed audit checkpoints every
 * second while the test appends to the audit chain, so each tick has a new
 * head to sign. Every chore run is logged with its tick; each tick (and
 * each run at start, keyed by the period it falls in) must have been run
 * by one runner only, the hourly purge at start by one of the three, and the store must hold one
 * checkpoint per signed seq (the shutdown checkpoints included), where
 * three uncoordinated runners would run and sign each three times. Needs
 * `npm run build`.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { WorkDir } from '../../connectors/conformance/conformance.run.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import { rekey } from '../cli.test-helpers.js';
import { after, figure, legacyTable, once, pgSchema } from './reliability.test-helpers.js';
import { serveProcess, type RunnerProcess } from './cluster.test-helpers.js';

const RUNNERS = 3;
/** How long the three serve together once all listen. */
const WINDOW_MS = 5_000;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The `housekeeping chore started` lines of one runner's log. */
function choreRuns(stderr: string): { chore: string; tick: string }[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('housekeeping chore started'))
    .map((l) => JSON.parse(l) as { chore: string; tick: string });
}

describe('housekeeping chores across several runners', () => {
  it.skipIf(Boolean(pgSkipReason))(`${RUNNERS} rekey serve processes on one PostgreSQL schema: each chore once per tick, once at start`, async () => {
    const schema = await pgSchema();
    cleanup.push(() => schema.drop());
    const work = new WorkDir('rekey-cluster-chores-');
    cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
    const legacy = await legacyTable(work, 'postgres', schema);
    work.write({ name: 'chores', mapping: BENCH_MAPPING, target: legacy.target, batch: 10 }, benchSubmissions(2, 0));
    expect((await rekey(['audit', 'keygen', join(work.dir, 'keys')])).code).toBe(0);
    const worm = join(work.dir, 'worm');
    mkdirSync(worm);
    const state = schema.stateUrl();
    const store = await openStateStore(state);
    cleanup.push(() => store.close());
    const audit = new AuditLog(store);
    await audit.append([{ pipeline: 'chores', event: 'run-started', actor: 'test', detail: { keys: [] } }]);
    const env = {
      ...legacy.env,
      REKEY_LOG_LEVEL: 'info',
      REKEY_AUDIT_CHECKPOINTS: worm,
      REKEY_AUDIT_SIGNING_KEY: join(work.dir, 'keys/audit-signing.key.pem'),
      REKEY_AUDIT_CHECKPOINT_CRON: '* * * * * *',
    };
    const runners: RunnerProcess[] = Array.from({ length: RUNNERS }, () => serveProcess(work.dir, work.dir, state, env));
    cleanup.push(() => {
      for (const r of runners) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    });
    await once(async () => runners.every((r) => r.output().stderr.includes('"msg":"serving"')), 60_000);
    for (const r of runners) expect(r.output().stderr, r.output().stderr.slice(-2000)).toContain('"msg":"serving"');
    // A new head every 200 ms, so every tick has something to sign.
    let appending = true;
    const appended = (async () => {
      while (appending) {
        await audit.append([{ pipeline: 'chores', event: 'run-started', actor: 'test', detail: { keys: [] } }]);
        await after(200);
      }
    })();
    await after(WINDOW_MS);
    appending = false;
    await appended;
    for (const r of runners) r.child.kill('SIGTERM');
    const exits = await Promise.all(runners.map((r) => r.exited));
    for (const e of exits) expect(e.code, e.stderr.slice(-2000)).toBe(0);

    const runs = exits.flatMap((e, i) => choreRuns(e.stderr).map((c) => ({ ...c, runner: i })));
    const byTick = new Map<string, number[]>();
    for (const r of runs) byTick.set(`${r.chore} ${r.tick}`, [...(byTick.get(`${r.chore} ${r.tick}`) ?? []), r.runner]);
    const twice = [...byTick].filter(([, who]) => who.length > 1).map(([tick, who]) => `${tick} by runners ${who.join(',')}`);
    const purges = runs.filter((r) => r.chore === 'retention-purge');
    const checkpointTicks = runs.filter((r) => r.chore === 'audit-checkpoint' && !r.tick.startsWith('start:'));
    const rows = (await schema.query(`SELECT seq, count(*)::int AS n FROM ${schema.name}.audit_checkpoints GROUP BY seq ORDER BY seq`)) as { seq: number; n: number }[];
    figure(
      `cluster-chores runners=${RUNNERS} windowMs=${WINDOW_MS} choreRuns=${runs.length} purgeRuns=${purges.length} checkpointTicks=${checkpointTicks.length} runnersThatRan=${new Set(runs.map((r) => r.runner)).size} checkpoints=${rows.length} sameTickTwice=${twice.length}`,
    );
    expect(twice).toEqual([]);
    // Started together: one of them purged at start (and one more if an hour began meanwhile).
    expect(purges.filter((r) => r.tick.startsWith('start:'))).toHaveLength(1);
    expect(purges.length).toBeLessThanOrEqual(2);
    expect(checkpointTicks.length).toBeGreaterThanOrEqual(3);
    // One checkpoint per signed seq in the store and in the write-once folder, the shutdown ones included.
    expect(rows.filter((r) => r.n > 1)).toEqual([]);
    expect(readdirSync(worm)).toHaveLength(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
