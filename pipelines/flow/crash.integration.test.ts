/**
 * The crash harness at random moments (the named kill points of every
 * target are in the conformance suite, connectors/conformance): `rekey run`
 * as a real child process with its worker pool, killed with SIGKILL at
 * moments nobody chose, many times over while new submissions arrive, then
 * run to the end; afterwards the legacy table holds every submission
 * exactly once, the ledger says each was delivered, the audit log holds one
 * `received` and one `delivered` entry for each, and its hash chain
 * verifies. Needs `npm run build`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, benchLegacyTableSql, keyOf, ledgerRows, querySqlite, WorkDir } from '../../connectors/conformance/conformance.run.js';

const N = 300;
const STEP = 20;
const ROUNDS = 12;
const all = benchSubmissions(N, 0);
const work = new WorkDir('rekey-crash-');
afterAll(() => rmSync(work.dir, { recursive: true, force: true }));

describe('crash harness: kill -9 at random moments, restart, every submission keyed exactly once', () => {
  it(
    'killed at random moments many times over, with new submissions arriving, then restarted',
    async () => {
      writeFileSync(join(work.dir, 'legacy.sql'), benchLegacyTableSql());
      work.write(
        {
          name: 'crash-test',
          mapping: BENCH_MAPPING,
          target: { kind: 'sqlite', config: { path: './legacy.sqlite', table: 'LEGACY', keyColumn: 'SUBMISSION_KEY', setupSql: './legacy.sql' } },
          batch: 20,
          // Each run has about a second of paced delivery after start-up, so most random kills land mid-work, however fast the machine.
          extra: { limits: { ratePerSecond: 20 } },
        },
        all.slice(0, N - ROUNDS * STEP),
      );
      let killed = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const r = await work.run({}, { killAfterMs: 900 + Math.floor(Math.random() * 2200) });
        if (r.signal === 'SIGKILL') killed++;
        work.append(all.slice(N - (ROUNDS - i) * STEP, N - (ROUNDS - 1 - i) * STEP));
      }
      expect(killed).toBeGreaterThan(0);
      const done = await work.finish({}, 5);
      expect(done.code).toBe(0);

      const keys = all.map(keyOf).sort();
      const rows = await querySqlite<{ SUBMISSION_KEY: string; n: number }>(join(work.dir, 'legacy.sqlite'), 'SELECT SUBMISSION_KEY, COUNT(*) AS n FROM LEGACY GROUP BY SUBMISSION_KEY');
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      expect(rows.map((r) => r.SUBMISSION_KEY).sort()).toEqual(keys);
      const ledger = await ledgerRows(work.state, 'crash-test');
      expect(ledger.filter((r) => r.state !== 'delivered')).toEqual([]);
      expect(ledger).toHaveLength(N);
      const audit = await auditOf(work.state, 'crash-test');
      for (const event of ['received', 'delivered']) expect(audit.entries.filter((e) => e.event === event).map((e) => e.key).sort(), event).toEqual(keys);
      expect(audit.verified).toBe(true);
    },
    180_000,
  );
});
