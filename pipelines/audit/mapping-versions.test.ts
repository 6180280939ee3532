import { describe, expect, it } from 'vitest';
import { mappingCanonical, versionOfText } from '../../mappings/version.js';
import { startRun } from '../ledger/ledger.runs.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import { AuditLog } from './audit-log.js';
import { saveMappingText } from './mapping-texts.js';
import { listMappingVersionUse, resolveMappingVersion } from './mapping-versions.js';

async function withStore(dialect: (typeof TEST_DIALECTS)[number], fn: (ts: TestStore) => Promise<void>): Promise<void> {
  const ts = await openTestStore(dialect);
  try {
    await fn(ts);
  } finally {
    await ts.dispose();
  }
}

/** Stores mapping texts `t0`, `t1`, ... until two versions share their first two hex digits; returns every version stored, and that pair. */
async function storeUntilPrefixShared(ts: TestStore): Promise<{ all: string[]; pair: [string, string] }> {
  const seen = new Map<string, string>();
  const all: string[] = [];
  for (let i = 0; ; i++) {
    const text = mappingCanonical({ mapping: `t${i}`, fields: { A: { const: i } } }, {});
    const version = versionOfText(text);
    await saveMappingText(ts.store, version, text);
    all.push(version);
    const head = version.slice(7, 9);
    const other = seen.get(head);
    if (other) return { all, pair: [other, version].sort() as [string, string] };
    seen.set(head, version);
  }
}

describe.each(TEST_DIALECTS)('stored mapping versions on %s', (dialect) => {
  it('resolves a full version, a hex prefix with or without sha256:, in any case', async () => {
    await withStore(dialect, async (ts) => {
      const { all } = await storeUntilPrefixShared(ts);
      const v = all[0]!;
      const unique = all.find((x) => all.filter((y) => y.slice(0, 13) === x.slice(0, 13)).length === 1)!;
      expect(await resolveMappingVersion(ts.store, v)).toBe(v);
      expect(await resolveMappingVersion(ts.store, unique.slice(7, 13))).toBe(unique);
      expect(await resolveMappingVersion(ts.store, unique.slice(0, 13).toUpperCase())).toBe(unique);
      expect(await resolveMappingVersion(ts.store, ` ${unique} `)).toBe(unique);
    });
  });

  it('lists the candidates of an ambiguous prefix and names an unknown or malformed one', async () => {
    await withStore(dialect, async (ts) => {
      const { all, pair } = await storeUntilPrefixShared(ts);
      const prefix = pair[0].slice(7, 9);
      const candidates = all.filter((v) => v.startsWith(`sha256:${prefix}`)).sort();
      await expect(resolveMappingVersion(ts.store, prefix)).rejects.toMatchObject({
        code: 'MAPPING_VERSION_AMBIGUOUS',
        message: `sha256:${prefix} starts ${candidates.length} stored mapping versions; give one of:\n${candidates.map((v) => `  ${v}`).join('\n')}`,
      });
      const absent = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'].map((c) => `${c}${c}${c}${c}`).find((p) => !all.some((v) => v.startsWith(`sha256:${p}`)))!;
      await expect(resolveMappingVersion(ts.store, `sha256:${absent}`)).rejects.toMatchObject({ code: 'MAPPING_VERSION_UNKNOWN', message: `no stored mapping version starts with sha256:${absent}` });
      for (const bad of ['', 'sha256:', 'xyz', 'sha1:abcd', `${all[0]!}0`]) {
        await expect(resolveMappingVersion(ts.store, bad)).rejects.toMatchObject({
          code: 'MAPPING_VERSION_UNKNOWN',
          message: `${JSON.stringify(bad)} is not a mapping version: give sha256: and hex digits, or the first hex digits`,
        });
      }
    });
  });

  it('lists stored versions oldest first with the pipelines that ran with them', async () => {
    await withStore(dialect, async (ts) => {
      const texts = ['a', 'b', 'c'].map((m) => mappingCanonical({ mapping: m, fields: { A: { const: m } } }, {}));
      const [va, vb, vc] = texts.map(versionOfText) as [string, string, string];
      for (let i = 0; i < texts.length; i++) await saveMappingText(ts.store, versionOfText(texts[i]!), texts[i]!);
      const stored = [vc, va, vb];
      for (let i = 0; i < stored.length; i++) await ts.store.exec('UPDATE mapping_texts SET created_at = $1 WHERE version = $2', [`2026-01-0${i + 1}T00:00:00.000Z`, stored[i]]);
      const audit = new AuditLog(ts.store);
      await startRun(ts.store, audit, 'p1', 'runner:test', va);
      await startRun(ts.store, audit, 'p2', 'runner:test', va);
      await startRun(ts.store, audit, 'p2', 'runner:test', vb);
      const all = await listMappingVersionUse(ts.store);
      expect(all.map((v) => [v.version, v.pipelines])).toEqual([
        [vc, []],
        [va, ['p1', 'p2']],
        [vb, ['p2']],
      ]);
      expect(all[0]).toMatchObject({ firstSeen: new Date('2026-01-01T00:00:00.000Z'), lastUsed: null });
      expect(all.find((v) => v.version === vb)!.lastUsed).toBeInstanceOf(Date);
      expect((await listMappingVersionUse(ts.store, 'p1')).map((v) => v.version)).toEqual([va]);
      expect(await listMappingVersionUse(ts.store, 'p3')).toEqual([]);
    });
  });

  it('gives each version the latest start of its runs, read from runs_mapping_version without scanning the runs', async () => {
    await withStore(dialect, async (ts) => {
      const { store } = ts;
      const texts = ['x', 'y'].map((m) => mappingCanonical({ mapping: m, fields: { A: { const: m } } }, {}));
      for (const text of texts) await saveMappingText(store, versionOfText(text), text);
      const [va, vb] = texts.map(versionOfText) as [string, string];
      const runs: Array<[string, string, string | null, string]> = [
        ['r1', 'p1', va, '2026-03-01T10:00:00.000Z'],
        ['r2', 'p1', va, '2026-05-01T10:00:00.000Z'],
        ['r3', 'p1', va, '2026-04-01T10:00:00.000Z'],
        ['r4', 'p2', va, '2026-02-01T10:00:00.000Z'],
        ['r5', 'p2', vb, '2026-06-01T10:00:00.000Z'],
        ['r6', 'p3', null, '2026-07-01T10:00:00.000Z'],
        ['r7', 'p0', 'sha256:not-stored', '2026-08-01T10:00:00.000Z'],
      ];
      for (const [id, pipeline, version, at] of runs) await store.exec('INSERT INTO runs (id, pipeline, actor, mapping_version, started_at) VALUES ($1, $2, $3, $4, $5)', [id, pipeline, 'runner:test', version, at]);
      const seen: string[] = [];
      const noting = { ...store, select: (sql: string, params: unknown[] = []) => (seen.push(sql), store.select(sql, params)) } as typeof store;
      const use = await listMappingVersionUse(noting);
      expect(use.map((v) => [v.version, v.pipelines, v.lastUsed?.toISOString()]).sort()).toEqual(
        [
          [va, ['p1', 'p2'], '2026-05-01T10:00:00.000Z'],
          [vb, ['p2'], '2026-06-01T10:00:00.000Z'],
        ].sort(),
      );
      const sql = seen.find((s) => s.includes('FROM runs'))!;
      const plan =
        dialect === 'sqlite'
          ? (await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)).map((r) => r.detail).join('\n')
          : (
              await store.transaction(async (t) => {
                await store.exec('SET LOCAL enable_seqscan = off', [], t);
                return store.select<Record<string, string>>(`EXPLAIN ${sql}`, [], t);
              })
            )
              .map((r) => Object.values(r)[0]!)
              .join('\n');
      expect(plan).toContain('runs_mapping_version');
      expect(plan).not.toMatch(/SCAN r\b(?! USING)|Seq Scan on runs/);
    });
  });
});
