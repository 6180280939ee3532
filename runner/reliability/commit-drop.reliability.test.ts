/**
 * Reliability: connections dropped during COMMIT (issue 23). A TCP proxy on
 * loopback stands in front of PostgreSQL and drops the connection at COMMIT
 * messages chosen at random (seeded): either before the COMMIT reaches the
 * server (rolled back) or after (committed, the answer never arrives).
 * Once with the legacy table behind the proxy (state in SQLite), once with
 * the state store behind it (target SQLite). `rekey run` is run again until
 * a run completes; then nothing is lost or duplicated at the legacy system,
 * the ledger says each submission was delivered and the audit chain
 * verifies. Bounded form: 10 drops each; long form: 100. Needs `npm run
 * build`.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, keyOf, ledgerRows, summaryOf, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { PG_URL, pgSkipReason } from '../../pipelines/store/store.test-helpers.js';
import type { PassExit } from '../cli.test-helpers.js';
import { commitProxy } from './commit-proxy.test-helpers.js';
import { counted, figure, legacyTable, pgSchema, pick, SEED, seeded, tally, timeoutFor, viaPort, type PgSchema } from './reliability.test-helpers.js';

const DROPS = pick(10, 100, process.env.REKEY_RELIABILITY_DROPS);
const N = 200;

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** True when the run finished its work: exit 0 with nothing waiting for a retry. */
function complete(exit: PassExit): boolean {
  if (exit.code !== 0) return false;
  try {
    return summaryOf(exit).waitingRetry === 0;
  } catch {
    return false;
  }
}

/** What a failed run said: its error code, or its uncoded message. */
function failure(exit: PassExit): string {
  const said = exit.stderr.match(/rekey: (.+)/)?.[1] ?? exit.stdout.match(/"code":"([A-Z][A-Z0-9_]+)"/)?.[1];
  if (!said) return `exit ${exit.code} ${exit.signal ?? ''}`.trim();
  return said.match(/^[A-Z][A-Z0-9_]+\b/)?.[0] ?? `uncoded "${said.slice(0, 60)}"`;
}

const CASES = [
  { behind: 'target' as const, name: 'legacy table in PostgreSQL behind the proxy, state in SQLite' },
  { behind: 'state' as const, name: 'state store in PostgreSQL behind the proxy, target SQLite' },
];

for (const { behind, name } of CASES)
  describe(`connections dropped at COMMIT: ${name}`, () => {
    it.skipIf(Boolean(pgSkipReason))(
      `${DROPS} connections dropped at COMMIT, then run until a run completes: none lost, none duplicated`,
      async () => {
        const schema: PgSchema = await pgSchema();
        cleanup.push(() => schema.drop());
        const pg = new URL(PG_URL);
        const proxy = await commitProxy({ host: pg.hostname, port: Number(pg.port || 5432) }, { chance: 0.25, most: DROPS, random: seeded(SEED + (behind === 'state' ? 100 : 200)) });
        cleanup.push(() => proxy.close());
        const proxied = viaPort(proxy.port);
        const stateUrl = behind === 'state' ? schema.stateUrl(proxied) : undefined;
        const work = new WorkDir(`rekey-commit-drop-${behind}-`, stateUrl ? ['--state', stateUrl, '--workers', '0'] : ['--workers', '0']);
        cleanup.push(() => rmSync(work.dir, { recursive: true, force: true }));
        const legacy = await legacyTable(work, behind === 'target' ? 'postgres' : 'sqlite', schema, proxied);
        const pipeline = `commit-drop-${behind}`;
        // A first run on no submissions, the proxy disarmed: the store's and the target's set-up (migrations) are not what is tested here.
        work.write({ name: pipeline, mapping: BENCH_MAPPING, target: legacy.target, batch: 10 }, []);
        proxy.armed = false;
        const setUp = await work.run(legacy.env);
        expect(setUp.code, setUp.stderr.slice(-2000)).toBe(0);
        proxy.armed = true;
        work.append(benchSubmissions(N, 0));
        let submitted = N;

        const exits: PassExit[] = [];
        const maxRuns = DROPS * 3 + 10;
        while (exits.length < maxRuns) {
          const r = await work.run(legacy.env);
          exits.push(r);
          if (!complete(r)) continue;
          if (proxy.droppedBefore + proxy.droppedAfter >= DROPS) break;
          // Done before all the drops were made: more submissions, more COMMITs.
          work.append(benchSubmissions(50, submitted));
          submitted += 50;
        }
        const keys = benchSubmissions(submitted, 0).map(keyOf);
        const failed = exits.filter((e) => !complete(e));
        const codes = counted(failed.map(failure));

        if (process.env.REKEY_RELIABILITY_VERBOSE) for (const f of failed) process.stdout.write(`FAILED exit ${f.code}\n${f.stdout.slice(-800)}\n${f.stderr.slice(-1500)}\n----\n`);
        const direct = schema.stateUrl();
        const stateRead = behind === 'state' ? direct : work.state;
        const t = tally(keys, await legacy.keys());
        const ledger = await ledgerRows(stateRead, pipeline);
        const notDelivered = ledger.filter((r) => r.state !== 'delivered');
        const audit = await auditOf(stateRead, pipeline);
        figure(
          `COMMIT dropped, ${behind === 'target' ? 'target PostgreSQL' : 'state PostgreSQL'} behind the proxy: ${proxy.commits} COMMITs seen, ${proxy.droppedBefore} dropped before reaching the server, ${proxy.droppedAfter} after; ${exits.length} runs (${failed.length} failed: ${codes || 'none'}), ${submitted} submissions, lost ${t.lost.length}, duplicated ${t.duplicated.length}, ledger not delivered ${notDelivered.length}, audit chain ${audit.verified ? 'verifies' : 'BROKEN'} (seed ${SEED})`,
        );
        expect(proxy.droppedBefore + proxy.droppedAfter, 'drops made').toBe(DROPS);
        expect(complete(exits.at(-1)!), exits.at(-1)!.stderr.slice(-2000)).toBe(true);
        expect(t.lost, 'lost').toEqual([]);
        expect(t.duplicated, 'duplicated').toEqual([]);
        expect(notDelivered.map((r) => `${r.key}: ${r.state}`)).toEqual([]);
        expect(ledger).toHaveLength(submitted);
        expect(audit.verified).toBe(true);
      },
      timeoutFor(DROPS * 3),
    );
  });
