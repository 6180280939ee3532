/** The `sqlite` target as the conformance suite runs it: a legacy table made by `setupSql` in a database file of each scenario's own. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BENCH_MAPPING, benchPii, benchSubmissions, withTown } from '../conformance/bench-bodies.js';
import { benchLegacyTableSql, querySqlite } from '../conformance/conformance.run.js';
import type { ConformanceTarget } from '../conformance/target.conformance.js';

/** The `sqlite` target's part of the conformance suite (run as the pipeline's target, or as a route's with `route` set). */
export const sqliteConformance: ConformanceTarget = {
  name: 'sqlite',
  mapping: BENCH_MAPPING,
  submissions: benchSubmissions,
  records: 40,
  batch: 10,
  crashAt: [
    { at: 'after-delivering:2', reached: 10 },
    { at: 'after-target-commit:3', reached: 30 },
    { at: 'after-ledger-delivered:2' },
  ],
  readBack: true,
  bad: {
    make: (b) => withTown(b, 'Nowhere'),
    error: () => ({ code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, field TOWN)', textHash: expect.stringMatching(/^hmac:[0-9a-f]{32}$/) as unknown as string }),
  },
  pii: benchPii,
  async legacy(dir) {
    const file = join(dir, 'legacy.sqlite');
    writeFileSync(join(dir, 'legacy.sql'), benchLegacyTableSql().replace('TOWN TEXT', "TOWN TEXT CHECK (TOWN <> 'NOWHERE')"));
    return {
      target: { kind: 'sqlite', config: { path: './legacy.sqlite', table: 'LEGACY', keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', setupSql: './legacy.sql', readBack: true } },
      where: 'LEGACY',
      env: {},
      records: async () => {
        const made = existsSync(file) && (await querySqlite(file, "SELECT name FROM sqlite_master WHERE name = 'LEGACY'")).length > 0;
        return made ? (await querySqlite<{ k: string; id: number }>(file, 'SELECT SUBMISSION_KEY AS k, CASE_ID AS id FROM LEGACY')).map((r) => ({ key: r.k, ref: String(r.id) })) : [];
      },
    };
  },
};
