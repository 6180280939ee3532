import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipelineCodes } from '../pipeline.errors.js';
import { insertMany } from '../store/sql.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../store/store.test-helpers.js';
import type { StateStore } from '../store/state-store.js';
import type { LedgerState } from './ledger.types.js';
import { countsByState, PREFIX_MATCH_MAX, PREFIX_MIN_LENGTH, searchProblems, searchSubmissions, SEARCH_MAX_LIMIT, type SubmissionListRow, type SubmissionSearch } from './search.js';

interface Seed {
  pipeline?: string;
  key: string;
  state?: LedgerState;
  legacyRef?: string | null;
  lastError?: object | null;
  updatedAt: string;
  createdAt?: string;
  attempts?: number;
}

const COLUMNS = ['pipeline', 'key', 'content_hash', 'state', 'attempts', 'last_error', 'legacy_ref', 'confirmed', 'created_at', 'updated_at'];

/** Writes rows straight into the ledger table, ids in the order given. */
async function seed(store: StateStore, rows: readonly Seed[]): Promise<void> {
  await store.transaction((t) =>
    insertMany(store, 'ledger', COLUMNS, rows.map((r) => [
      r.pipeline ?? 'p1', r.key, 'sha256:00', r.state ?? 'delivered', r.attempts ?? 1, r.lastError ? JSON.stringify(r.lastError) : null,
      r.legacyRef ?? null, false, r.createdAt ?? r.updatedAt, r.updatedAt,
    ]), t),
  );
}

/** Every row of a search, following `next` page by page. */
async function allPages(store: StateStore, search: Omit<SubmissionSearch, 'after'>): Promise<{ rows: SubmissionListRow[]; pages: number }> {
  const rows: SubmissionListRow[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await searchSubmissions(store, { ...search, after });
    expect(page.rows.length).toBeLessThanOrEqual(search.limit);
    rows.push(...page.rows);
    after = page.next;
    pages++;
  } while (after !== undefined && pages < 1000);
  return { rows, pages };
}

const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 12, minute)).toISOString();
const keys = (rows: readonly SubmissionListRow[]) => rows.map((r) => r.key);

describe.each(TEST_DIALECTS)('searchSubmissions on %s', (dialect) => {
  let ts: TestStore;
  let store: StateStore;
  beforeEach(async () => {
    ts = await openTestStore(dialect);
    store = ts.store;
  });
  afterEach(async () => {
    await ts.dispose();
  });

  it('pages through every row exactly once, newest change first, ties broken by ledger id', async () => {
    const states: LedgerState[] = ['delivered', 'dead', 'rejected', 'failed', 'received'];
    // 23 rows on 3 change times only: most pages start and end inside a tie.
    const rows = Array.from({ length: 23 }, (_, i) => ({ pipeline: i % 2 ? 'p1' : 'p2', key: `form/R${String(i).padStart(2, '0')}`, state: states[i % 5], updatedAt: at(i % 3) }));
    await seed(store, rows);
    // Ids follow the insert order, so the expected order is by time, then by position, both descending.
    const expected = rows.map((r, i) => ({ ...r, i })).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.i - a.i).map((r) => r.key);
    for (const limit of [1, 4, 5, 23, 50]) {
      const { rows: got, pages } = await allPages(store, { limit });
      expect(keys(got)).toEqual(expected);
      expect(pages).toBe(Math.ceil(23 / limit));
    }
    const dead = await allPages(store, { limit: 2, states: ['dead', 'rejected'] });
    expect(keys(dead.rows)).toEqual(expected.filter((k) => ['dead', 'rejected'].includes(rows.find((r) => r.key === k)!.state!)));
    const p1 = await allPages(store, { limit: 3, pipeline: 'p1' });
    expect(keys(p1.rows)).toEqual(expected.filter((k) => rows.find((r) => r.key === k)!.pipeline === 'p1'));
  });

  it('filters by pipeline, by states, and both', async () => {
    await seed(store, [
      { pipeline: 'a', key: 'f/1', state: 'dead', updatedAt: at(1) },
      { pipeline: 'a', key: 'f/2', state: 'rejected', updatedAt: at(2) },
      { pipeline: 'a', key: 'f/3', state: 'delivered', updatedAt: at(3) },
      { pipeline: 'b', key: 'f/1', state: 'dead', updatedAt: at(4) },
      { pipeline: 'b', key: 'f/5', state: 'failed', updatedAt: at(5) },
    ]);
    const get = async (s: Omit<SubmissionSearch, 'limit'>) => (await searchSubmissions(store, { limit: 50, ...s })).rows.map((r) => `${r.pipeline}:${r.key}`);
    expect(await get({})).toEqual(['b:f/5', 'b:f/1', 'a:f/3', 'a:f/2', 'a:f/1']);
    expect(await get({ pipeline: 'a' })).toEqual(['a:f/3', 'a:f/2', 'a:f/1']);
    expect(await get({ states: ['dead'] })).toEqual(['b:f/1', 'a:f/1']);
    expect(await get({ pipeline: 'a', states: ['dead', 'rejected'] })).toEqual(['a:f/2', 'a:f/1']);
    expect(await get({ pipeline: 'b', states: ['delivered'] })).toEqual([]);
    expect(await get({ pipeline: 'nobody' })).toEqual([]);
    expect((await searchProblems(store, { limit: 50 })).rows.map((r) => `${r.pipeline}:${r.key}`)).toEqual(['b:f/1', 'a:f/2', 'a:f/1']);
    expect((await searchProblems(store, { limit: 50, failed: true, pipeline: 'b' })).rows.map((r) => r.key)).toEqual(['f/5', 'f/1']);
  });

  it('filters on the last change: from inclusive, to exclusive', async () => {
    await seed(store, [1, 2, 3, 4, 5].map((m) => ({ key: `f/${m}`, updatedAt: at(m), createdAt: at(0) })));
    const page = await searchSubmissions(store, { limit: 10, from: new Date(at(2)), to: new Date(at(4)) });
    expect(keys(page.rows)).toEqual(['f/3', 'f/2']);
    expect(keys((await searchSubmissions(store, { limit: 10, from: new Date(at(5)) })).rows)).toEqual(['f/5']);
    expect(keys((await searchSubmissions(store, { limit: 10, to: new Date(at(1)) })).rows)).toEqual([]);
    const paged = await allPages(store, { limit: 1, from: new Date(at(2)), to: new Date(at(5)), states: ['delivered'] });
    expect(keys(paged.rows)).toEqual(['f/4', 'f/3', 'f/2']);
  });

  it('matches the form reference in any case, the legacy reference and the start of the key', async () => {
    await seed(store, [
      { pipeline: 'a', key: 'permit/AbC-123', updatedAt: at(1), legacyRef: 'LEG-9001' },
      { pipeline: 'b', key: 'claim/abc-124', updatedAt: at(2) },
      { pipeline: 'a', key: 'permit/XYZ-1', updatedAt: at(3), legacyRef: 'leg-9002' },
      { pipeline: 'a', key: 'other/ABC', updatedAt: at(4) },
    ]);
    const find = async (q: string, more: Omit<SubmissionSearch, 'limit' | 'q'> = {}) => (await searchSubmissions(store, { limit: 10, q, ...more })).rows.map((r) => `${r.key}=${r.matchedBy}`);
    expect(await find('abc-123')).toEqual(['permit/AbC-123=reference']);
    expect(await find('  ABC-123 ')).toEqual(['permit/AbC-123=reference']);
    expect(await find('abc-12')).toEqual(['claim/abc-124=prefix', 'permit/AbC-123=prefix']);
    expect(await find('abc-12', { pipeline: 'a' })).toEqual(['permit/AbC-123=prefix']);
    expect(await find('LEG-9001')).toEqual(['permit/AbC-123=legacy-ref']);
    expect(await find('LEG-900')).toEqual(['permit/XYZ-1=prefix', 'permit/AbC-123=prefix']);
    expect(await find('PERMIT/abc-123')).toEqual(['permit/AbC-123=key']);
    expect(await find('perm')).toEqual(['permit/XYZ-1=prefix', 'permit/AbC-123=prefix']);
    expect(await find('abc')).toEqual(['other/ABC=reference', 'claim/abc-124=prefix', 'permit/AbC-123=prefix']);
    expect(await find('abc', { states: ['rejected'] })).toEqual([]);
    expect(await find('nothing-like-it')).toEqual([]);
    // A blank q is no filter.
    expect(await find('   ')).toHaveLength(4);
  });

  it('reads % and _ in a reference as themselves', async () => {
    await seed(store, [
      { key: 'f/AA%B', updatedAt: at(1) },
      { key: 'f/AAXB', updatedAt: at(2) },
      { key: 'f/AA_C', updatedAt: at(3) },
      { key: 'f/AAYC', updatedAt: at(4) },
      { key: 'f/AA\\D', updatedAt: at(5) },
      { key: 'f/%', updatedAt: at(6) },
    ]);
    const find = async (q: string) => keys((await searchSubmissions(store, { limit: 10, q })).rows);
    expect(await find('aa%')).toEqual(['f/AA%B']);
    expect(await find('aa%b')).toEqual(['f/AA%B']);
    expect(await find('aa_')).toEqual(['f/AA_C']);
    expect(await find('%')).toEqual(['f/%']);
    expect(await find('_')).toEqual([]);
    expect(await find('%%%')).toEqual([]);
    expect(await find('aa\\')).toEqual(['f/AA\\D']);
  });

  it(`matches only whole references with fewer than ${PREFIX_MIN_LENGTH} characters, and says so`, async () => {
    await seed(store, [
      { key: 'form/AB', updatedAt: at(1) },
      { key: 'form/ABC', updatedAt: at(2), legacyRef: 'X1' },
      { key: 'AB/C', updatedAt: at(3), legacyRef: 'x12' },
      { key: 'ab', pipeline: 'p2', updatedAt: at(4) },
    ]);
    const find = async (q: string) => {
      const page = await searchSubmissions(store, { limit: 10, q });
      return { rows: page.rows.map((r) => `${r.pipeline}:${r.key}=${r.matchedBy}`), prefix: page.prefix };
    };
    expect(await find('aB')).toEqual({ rows: ['p2:ab=key', 'p1:form/AB=reference'], prefix: 'too-short' });
    expect(await find('x1')).toEqual({ rows: ['p1:form/ABC=legacy-ref'], prefix: 'too-short' });
    expect(await find('a')).toEqual({ rows: [], prefix: 'too-short' });
    // Characters, not UTF-16 units: two astral characters are two.
    expect((await find('\u{1F600}\u{1F600}')).prefix).toBe('too-short');
    expect(await find('abc')).toEqual({ rows: ['p1:form/ABC=reference'], prefix: 'on' });
    expect(await find('x12')).toEqual({ rows: ['p1:AB/C=legacy-ref'], prefix: 'on' });
    expect(await find('ab/')).toEqual({ rows: ['p1:AB/C=prefix'], prefix: 'on' });
    // No q, no prefix note.
    expect((await searchSubmissions(store, { limit: 10 })).prefix).toBeUndefined();
  });

  it(`matches only whole references when more than ${PREFIX_MATCH_MAX} references start with q`, async () => {
    const many = Array.from({ length: PREFIX_MATCH_MAX + 1 }, (_, i) => ({ key: `form/QQ-${String(i).padStart(4, '0')}`, updatedAt: at(i % 50) }));
    await seed(store, [...many, { key: 'other/QQ-', updatedAt: at(7), legacyRef: 'LQ-1' }]);
    // Exactly PREFIX_MATCH_MAX start with qq-0 (QQ-0000 to QQ-0999): matched as a start, paged as usual.
    const at0 = await searchSubmissions(store, { limit: 5, q: 'QQ-0' });
    expect(at0.prefix).toBe('on');
    expect(at0.rows).toHaveLength(5);
    expect(at0.rows.every((r) => r.matchedBy === 'prefix' && r.reference.startsWith('QQ-0'))).toBe(true);
    expect((await allPages(store, { limit: 100, q: 'qq-0' })).rows).toHaveLength(PREFIX_MATCH_MAX);
    // One more (QQ-1000, and QQ- itself): only the whole reference matches.
    const broad = await searchSubmissions(store, { limit: 5, q: 'qq-' });
    expect(broad).toEqual({ rows: [expect.objectContaining({ key: 'other/QQ-', matchedBy: 'reference' })], prefix: 'too-many' });
    expect((await searchSubmissions(store, { limit: 5, q: 'form/' })).prefix).toBe('too-many');
    expect((await searchSubmissions(store, { limit: 5, q: 'lq-' })).rows.map((r) => r.key)).toEqual(['other/QQ-']);
  });

  it('gives the last error as code, field and reason, and nothing of the body', async () => {
    await seed(store, [
      { key: 'f/1', state: 'rejected', updatedAt: at(1), lastError: { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject', message: 'postcode (address.pc): pattern: not a postcode' } },
      { key: 'f/2', state: 'dead', attempts: 5, updatedAt: at(2), lastError: { code: 'TARGET_REJECTED', disposition: 'reject', field: 'NI_NO', message: 'refused' } },
      { key: 'f/3', state: 'delivered', updatedAt: at(3), legacyRef: 'L3' },
    ]);
    const { rows } = await searchSubmissions(store, { limit: 10 });
    expect(rows.map((r) => r.error)).toEqual([
      null,
      { code: 'TARGET_REJECTED', field: 'NI_NO', reason: 'refused' },
      { code: 'MAPPING_RECORD_REJECTED', field: 'postcode', reason: 'postcode (address.pc): pattern: not a postcode' },
    ]);
    expect(rows[1]).toMatchObject({ pipeline: 'p1', key: 'f/2', reference: '2', state: 'dead', attempts: 5, legacyRef: null });
    expect(rows[0]!.updatedAt.toISOString()).toBe(at(3));
    expect(Object.keys(rows[0]!).sort()).toEqual(['attempts', 'createdAt', 'error', 'key', 'legacyRef', 'pipeline', 'reference', 'state', 'updatedAt']);
  });

  it('answers an empty ledger with no rows and no cursor', async () => {
    expect(await searchSubmissions(store, { limit: 10 })).toEqual({ rows: [] });
    expect(await searchSubmissions(store, { limit: 10, q: 'x', pipeline: 'p', states: ['dead'], from: new Date(0), to: new Date() })).toEqual({ rows: [], prefix: 'too-short' });
    expect(await countsByState(store)).toEqual({});
  });

  it('stops with no cursor on a full last page', async () => {
    await seed(store, [{ key: 'f/1', updatedAt: at(1) }, { key: 'f/2', updatedAt: at(2) }]);
    const first = await searchSubmissions(store, { limit: 1 });
    expect(first.next).toBeDefined();
    const second = await searchSubmissions(store, { limit: 1, after: first.next });
    expect(keys(second.rows)).toEqual(['f/1']);
    expect(second.next).toBeUndefined();
  });

  it('refuses a limit out of range, an unknown state, an invalid date and a cursor it did not give', async () => {
    const filter = { code: PipelineCodes.SEARCH_FILTER_INVALID.code };
    for (const limit of [0, -1, 1.5, SEARCH_MAX_LIMIT + 1, Number.NaN]) {
      await expect(searchSubmissions(store, { limit })).rejects.toMatchObject({ ...filter, message: expect.stringContaining('limit') });
    }
    await expect(searchSubmissions(store, { limit: SEARCH_MAX_LIMIT })).resolves.toEqual({ rows: [] });
    await expect(searchSubmissions(store, { limit: 5, states: ['lost' as LedgerState] })).rejects.toMatchObject({ ...filter, message: expect.stringContaining('states') });
    await expect(searchSubmissions(store, { limit: 5, from: new Date('nope') })).rejects.toMatchObject({ ...filter, message: expect.stringContaining('from') });
    await seed(store, [{ key: 'f/1', updatedAt: at(1) }, { key: 'f/2', updatedAt: at(2) }]);
    const good = (await searchSubmissions(store, { limit: 1 })).next!;
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const cursorCode = { code: PipelineCodes.SEARCH_CURSOR_INVALID.code };
    for (const after of ['', 'not a cursor!', 'abc', good.slice(0, -3), forged({}), forged([2, at(1), 1]), forged([1, 'yesterday', 1]), forged([1, at(1), -1]), forged([1, at(1), '1; DROP TABLE ledger'])]) {
      await expect(searchSubmissions(store, { limit: 1, after })).rejects.toMatchObject(cursorCode);
    }
    expect(keys((await searchSubmissions(store, { limit: 1, after: good })).rows)).toEqual(['f/1']);
  });

  it('counts by state per pipeline, every state present', async () => {
    await seed(store, [
      { pipeline: 'a', key: 'f/1', state: 'dead', updatedAt: at(1) },
      { pipeline: 'a', key: 'f/2', state: 'dead', updatedAt: at(2) },
      { pipeline: 'a', key: 'f/3', state: 'delivered', updatedAt: at(3) },
      { pipeline: 'b', key: 'f/1', state: 'received', updatedAt: at(4) },
    ]);
    const zero = { received: 0, mapped: 0, delivering: 0, delivered: 0, failed: 0, rejected: 0, dead: 0, discarded: 0 };
    expect(await countsByState(store)).toEqual({ a: { ...zero, dead: 2, delivered: 1 }, b: { ...zero, received: 1 } });
    expect(await countsByState(store, ['b', 'c'])).toEqual({ b: { ...zero, received: 1 }, c: zero });
    expect(await countsByState(store, [])).toEqual({});
  });
});

describe.each(TEST_DIALECTS)('the console indexes on %s', (dialect) => {
  let ts: TestStore;
  beforeEach(async () => {
    ts = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ts.dispose();
  });

  /** The plan of every statement `run` makes, one line per step (PostgreSQL told to avoid sequential scans, as it would with many rows). */
  async function plan(run: (store: StateStore) => Promise<unknown>): Promise<string> {
    const { store } = ts;
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const noting = { ...store, select: (sql: string, params: unknown[] = []) => (seen.push({ sql, params }), store.select(sql, params)) } as StateStore;
    await run(noting);
    const lines: string[] = [];
    for (const { sql, params } of seen) {
      if (dialect === 'sqlite') {
        lines.push(...(await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail));
      } else {
        lines.push(...(await store.transaction(async (t) => {
          await store.exec('SET LOCAL enable_seqscan = off', [], t);
          return store.select<Record<string, string>>(`EXPLAIN ${sql}`, params, t);
        })).map((r) => Object.values(r)[0]!));
      }
    }
    return lines.join('\n');
  }

  it('reads lists newest first from the state indexes, never scanning the table', async () => {
    const cursor = Buffer.from(JSON.stringify([1, at(1), 5])).toString('base64url');
    const cases: Array<[Omit<SubmissionSearch, 'limit'>, string]> = [
      [{}, 'ledger_state_recent'],
      [{ states: ['dead'] }, 'ledger_state_recent'],
      [{ pipeline: 'p', states: ['dead', 'rejected'] }, 'ledger_pipeline_state_recent'],
      [{ pipeline: 'p' }, 'ledger_pipeline_state_recent'],
      [{ from: new Date(at(1)), to: new Date(at(2)), after: cursor }, 'ledger_state_recent'],
    ];
    for (const [search, index] of cases) {
      const text = await plan((s) => searchSubmissions(s, { limit: 20, ...search }));
      expect(text).toContain(index);
      expect(text).not.toMatch(/SCAN ledger(?! USING)|Seq Scan/);
    }
  });

  it('finds references through the lower-case expression indexes', async () => {
    // A start (the count of starts, then the match) and, too short for a start, a whole reference.
    for (const q of ['AbC-12', 'Ab']) {
      const text = await plan((s) => searchSubmissions(s, { limit: 20, q }));
      for (const index of ['ledger_key_lower', 'ledger_reference_lower', 'ledger_legacy_ref_lower']) expect(text).toContain(index);
      expect(text).not.toMatch(/SCAN ledger(?! USING)|Seq Scan/);
    }
  });
});
