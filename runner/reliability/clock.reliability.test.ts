/**
 * Reliability: the clock changes (issue 23). `rekey run` processes see a
 * wall clock moved back a day, forward a day, back ten minutes (libfaketime,
 * Debian's `faketime`, preloaded; the monotonic clock left alone), each
 * killed with SIGKILL at a random moment (seeded) while new numbered
 * submissions arrive; then runs on the true clock until one completes.
 * Nothing lost or duplicated, every ledger row delivered, the audit chain
 * verifies. Installs `faketime` with apt-get when root; skips, saying so,
 * where it cannot. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { counted, figure, legacyTable, pick, SEED, seeded, tally, timeoutFor } from './reliability.test-helpers.js';

const LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/** Why the clock cannot be moved here, or null once libfaketime is there (installed with apt-get when root). */
function faketimeMissing(): string | null {
  if (existsSync(LIB)) return null;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return `${LIB} is missing and this is not root with apt-get: the clock changes are not tested`;
  const apt = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'faketime'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 300_000 });
  return existsSync(LIB) ? null : `installing Debian's faketime failed (exit ${apt.status}): the clock changes are not tested`;
}
const skip = faketimeMissing();
if (skip) process.stderr.write(`SKIP ${skip}\n`);

/** The clock moves, in turn: libfaketime offsets. */
const MOVES = ['-1d', '+1d', '-10m', '+0'];
const ROUNDS = pick(8, 100, process.env.REKEY_RELIABILITY_CLOCK_ROUNDS);
const FIRST = 100;
const STEP = 10;
const work = new WorkDir('rekey-clock-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

describe('the clock changes between and during runs', () => {
  it.skipIf(Boolean(skip))(
    `${ROUNDS} runs on a clock moved back and forth, killed at random moments, then runs on the true clock: none lost, none duplicated`,
    async () => {
      const legacy = await legacyTable(work, 'sqlite');
      const pipeline = 'clock-moves';
      work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10, extra: { limits: { ratePerSecond: 40 } } }, benchSubmissions(FIRST, 0));
      let submitted = FIRST;
      const random = seeded(SEED + 400);
      const outcomes: string[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const move = MOVES[i % MOVES.length]!;
        const env = { LD_PRELOAD: LIB, FAKETIME: move, DONT_FAKE_MONOTONIC: '1', FAKETIME_DONT_RESET: '1' };
        const r = await work.run(env, { killAfterMs: 400 + Math.floor(random() * 1600) });
        outcomes.push(`${move} ${r.signal ?? `exit ${r.code}`}`);
        work.append(benchSubmissions(STEP, submitted));
        submitted += STEP;
      }
      const done = await work.finish({}, 5);
      const keys = benchSubmissions(submitted, 0).map(keyOf);
      const t = tally(keys, await legacy.keys());
      const ledger = await ledgerRows(work.state, pipeline);
      const notDelivered = ledger.filter((r) => r.state !== 'delivered');
      const audit = await auditOf(work.state, pipeline);
      figure(
        `clock moved (${MOVES.join(', ')}), state sqlite, target sqlite: ${ROUNDS} runs (${counted(outcomes)}), then true clock: exit ${done.code}; ${submitted} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length} (${counted(notDelivered.map((r) => r.state)) || 'none'}), audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
      );
      expect(done.code, done.stderr.slice(-2000)).toBe(0);
      expect(t.lost, 'lost').toEqual([]);
      expect(t.duplicated, 'duplicated').toEqual([]);
      expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
      expect(ledger).toHaveLength(submitted);
      expect(audit.verified).toBe(true);
    },
    timeoutFor(ROUNDS),
  );
});
