import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMany, sqliteRowSet } from './sql.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from './store.test-helpers.js';

describe('sqliteRowSet', () => {
  it('binds a column the rows share once and sends only the others as JSON', () => {
    const rows = [
      ['p', 'a', 1, null, true],
      ['p', 'b', 1, null, false],
    ];
    const set = sqliteRowSet(rows, 3);
    expect(set.pick).toEqual(['$4', 'b ->> 0', '$5', '$6', 'b ->> 1']);
    expect(set.params).toEqual(['[["a",true],["b",false]]', 'p', 1, null]);
    expect(set.cte).toBe('j AS MATERIALIZED (SELECT jsonb(value) AS b FROM json_each($3))');
  });

  it('keeps every column in the JSON for a single row, and objects always', () => {
    expect(sqliteRowSet([['p', 'a']], 1).pick).toEqual(['b ->> 0', 'b ->> 1']);
    const shared = { x: 1 };
    expect(sqliteRowSet([[shared, 'a'], [shared, 'b']], 1).pick).toEqual(['b ->> 0', 'b ->> 1']);
  });
});

describe.each(TEST_DIALECTS)('insertMany on %s', (dialect) => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore(dialect);
    await ts.store.exec('CREATE TABLE sql_test_rows (k TEXT PRIMARY KEY, same_text TEXT, same_int INTEGER, flag BOOLEAN, note TEXT)');
  });
  afterAll(() => ts?.dispose());

  it('stores shared and differing values alike, with no parameter limit', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => [`k${i}`, 'shared', 7, i % 2 === 0, i % 3 === 0 ? null : `note ${i}`]);
    const inserted = await ts.store.transaction((t) => insertMany<{ k: string }>(ts.store, 'sql_test_rows', ['k', 'same_text', 'same_int', 'flag', 'note'], rows, t, '', 'k'));
    expect(inserted).toHaveLength(5000);
    const back = await ts.store.select<Record<string, unknown>>("SELECT k, same_text, same_int, flag, note FROM sql_test_rows WHERE k IN ('k0', 'k1', 'k4999') ORDER BY k");
    expect(back.map((r) => [r.k, r.same_text, Number(r.same_int), Boolean(r.flag), r.note])).toEqual([
      ['k0', 'shared', 7, true, null],
      ['k1', 'shared', 7, false, 'note 1'],
      ['k4999', 'shared', 7, false, 'note 4999'],
    ]);
  });
});
