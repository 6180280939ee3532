import { describe, expect, it } from 'vitest';
import { PipelineCodes } from '../pipeline.errors.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { ERR, pipelineNames, sub, useTestLedger } from './ledger.test-helpers.js';
import { getPass, listPasses, runSubmissions, type PassRecord } from './runs-history.js';

const SUMMARY = { read: 4, receivedNew: 4, duplicates: 0, conflicts: 0, unreadable: 0, rejected: 2, delivered: 1, failed: 0, dead: 1 };
const BAD_SURNAME = { code: 'MAPPING_RECORD_REJECTED', disposition: 'reject' as const, message: 'SURNAME (answer:Fn3kQ8aZ.last_name): pattern: must be letters' };
const REFUSED = { code: 'TARGET_REFUSED', disposition: 'reject' as const, message: 'the legacy system refused the record', field: 'POSTCODE' };
const RUNNER = 'runner:test:1';

describe.each(TEST_DIALECTS)('the pass history (%s)', (dialect) => {
  const env = useTestLedger(dialect);
  const name = pipelineNames();

  it('records the trigger on the run row and its run-started entry', async () => {
    const p = name();
    const byHand = await env.ledger.startRun(p, RUNNER, 'sha256:m', null, undefined, { kind: 'console', by: 'operator:alice' });
    const scheduled = await env.ledger.startRun(p, RUNNER, 'sha256:m', null, undefined, { kind: 'schedule' });
    const none = await env.ledger.startRun(p, RUNNER, 'sha256:m');
    expect([(await getPass(env.ts.store, byHand)).trigger, (await getPass(env.ts.store, scheduled)).trigger, (await getPass(env.ts.store, none)).trigger]).toEqual([
      { kind: 'console', by: 'operator:alice' },
      { kind: 'schedule' },
      null,
    ]);
    const started = await env.ts.store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE pipeline = $1 AND event = 'run-started' ORDER BY seq", [p]);
    expect(started.map((r) => (JSON.parse(r.detail) as { trigger?: unknown }).trigger)).toEqual([{ kind: 'console', by: 'operator:alice' }, { kind: 'schedule' }, undefined]);
  });

  it('lists passes newest first, page by page, of one pipeline or of all, with status, duration and rates', async () => {
    const p = name();
    const q = name();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await env.ledger.startRun(i === 2 ? q : p, RUNNER, 'sha256:m', null, undefined, { kind: 'cli', by: 'operator:bob' }));
    await env.ledger.finishRun(ids[0]!, SUMMARY);
    await env.ledger.finishRun(ids[1]!, SUMMARY, { code: 'TARGET_DOWN', disposition: 'fatal', message: 'the target is down' });
    const seen: PassRecord[] = [];
    let before: string | undefined;
    let pages = 0;
    do {
      const page = await listPasses(env.ts.store, { pipeline: p, limit: 2, ...(before !== undefined && { before }) });
      seen.push(...page.items);
      before = page.next ?? undefined;
      pages++;
    } while (before !== undefined);
    expect(pages).toBe(2);
    expect(seen.map((x) => x.id)).toEqual([ids[4], ids[3], ids[1], ids[0]]);
    expect(seen.map((x) => x.status)).toEqual(['running', 'running', 'failed', 'finished']);
    const done = seen[3]!;
    expect(done).toMatchObject({ pipeline: p, actor: RUNNER, trigger: { kind: 'cli', by: 'operator:bob' }, summary: SUMMARY, error: null });
    expect(done.durationMs).toBe(done.finishedAt!.getTime() - done.startedAt.getTime());
    expect(done.readPerSecond === null || done.readPerSecond > 0).toBe(true);
    expect(seen[2]!.error).toEqual({ code: 'TARGET_DOWN', disposition: 'fatal', message: 'the target is down' });
    expect(seen[0]).toMatchObject({ finishedAt: null, durationMs: null, summary: null, readPerSecond: null });
    // Across pipelines: every pass, newest first. Runs of two pipelines may start in the same millisecond (only one
    // pipeline's runs are kept apart in time), so their order among themselves is not asserted, only each pipeline's.
    const all = await listPasses(env.ts.store, { limit: 500 });
    const mine = all.items.filter((x) => x.pipeline === p || x.pipeline === q);
    expect(new Set(mine.map((x) => x.id))).toEqual(new Set(ids));
    const started = mine.map((x) => x.startedAt.getTime());
    expect(started).toEqual([...started].sort((a, b) => b - a));
    expect(mine.filter((x) => x.pipeline === p).map((x) => x.id)).toEqual([ids[4], ids[3], ids[1], ids[0]]);
  });

  it('refuses a limit out of range, a cursor it did not hand out and a run never started', async () => {
    const bad = (message: string) => ({ code: PipelineCodes.LEDGER_BAD_REQUEST.code, message });
    await expect(listPasses(env.ts.store, { limit: 0 })).rejects.toMatchObject(bad('limit must be a whole number from 1 to 500'));
    await expect(listPasses(env.ts.store, { limit: 501 })).rejects.toMatchObject(bad('limit must be a whole number from 1 to 500'));
    await expect(listPasses(env.ts.store, { limit: 5, before: 'yesterday' })).rejects.toMatchObject(bad('the cursor given is not one the pass list handed out; start again from the first page'));
    await expect(getPass(env.ts.store, 'no-such-run')).rejects.toMatchObject({ code: PipelineCodes.LEDGER_UNKNOWN_RUN.code, message: 'no run "no-such-run" was started' });
    await expect(runSubmissions(env.ts.store, 'no-such-run', { limit: 5 })).rejects.toMatchObject({ code: PipelineCodes.LEDGER_UNKNOWN_RUN.code });
    const run = await env.ledger.startRun(name(), RUNNER, 'sha256:m');
    await expect(runSubmissions(env.ts.store, run, { limit: 5, after: 'x' })).rejects.toMatchObject(
      bad('the cursor given is not one the submission list of a pass handed out; start again from the first page'),
    );
    await expect(runSubmissions(env.ts.store, run, { limit: 5, states: [] })).rejects.toMatchObject(bad('states must be rejected, dead or both'));
  });

  it('lists the submissions a pass rejected or dead-lettered, with field and reason, a page at a time, only its own', async () => {
    const p = name();
    const mine = await env.ledger.startRun(p, RUNNER, 'sha256:m');
    const other = await env.ledger.startRun(p, RUNNER, 'sha256:m');
    await env.ledger.receive(p, mine, ['f/A', 'f/B', 'f/C', 'f/D', 'f/E'].map((k) => sub(k)), RUNNER);
    await env.ledger.receive(p, other, [sub('f/X')], RUNNER);
    await env.ledger.apply(p, mine, [{ key: 'f/A', to: 'rejected', error: BAD_SURNAME }, { key: 'f/E', to: 'rejected', error: BAD_SURNAME }], RUNNER);
    await env.ledger.apply(p, other, [{ key: 'f/X', to: 'rejected', error: BAD_SURNAME }], RUNNER);
    await env.ledger.apply(p, mine, [{ key: 'f/B', to: 'delivering' }, { key: 'f/C', to: 'delivering' }, { key: 'f/D', to: 'delivering' }], RUNNER);
    await env.ledger.apply(p, mine, [{ key: 'f/B', to: 'dead', error: ERR }, { key: 'f/C', to: 'rejected', error: REFUSED }, { key: 'f/D', to: 'delivered', legacyRef: 'L1' }], RUNNER);
    await env.ledger.finishRun(mine, SUMMARY);
    const keys: string[][] = [];
    let after: string | undefined;
    do {
      const page = await runSubmissions(env.ts.store, mine, { limit: 1, ...(after !== undefined && { after }) });
      keys.push(page.items.map((x) => x.key));
      after = page.next ?? undefined;
    } while (after !== undefined);
    expect(keys).toEqual([['f/A'], ['f/E'], ['f/B'], ['f/C']]);
    const whole = await runSubmissions(env.ts.store, mine, { limit: 10 });
    expect(whole.next).toBeNull();
    expect(whole.items.map(({ at, ...x }) => [at instanceof Date, x])).toEqual([
      [true, { key: 'f/A', reference: 'A', outcome: 'rejected', field: 'SURNAME', code: BAD_SURNAME.code, message: BAD_SURNAME.message }],
      [true, { key: 'f/E', reference: 'E', outcome: 'rejected', field: 'SURNAME', code: BAD_SURNAME.code, message: BAD_SURNAME.message }],
      [true, { key: 'f/B', reference: 'B', outcome: 'dead', field: null, code: ERR.code, message: ERR.message }],
      [true, { key: 'f/C', reference: 'C', outcome: 'rejected', field: 'POSTCODE', code: REFUSED.code, message: REFUSED.message }],
    ]);
    expect((await runSubmissions(env.ts.store, mine, { limit: 10, states: ['dead'] })).items.map((x) => x.key)).toEqual(['f/B']);
    expect((await runSubmissions(env.ts.store, other, { limit: 10 })).items.map((x) => x.key)).toEqual(['f/X']);
  });

  it('reads a page of passes below its cursor from an index range starting at the cursor, not from the newest pass', async () => {
    const { store } = env.ts;
    const p = name();
    for (let i = 0; i < 30; i++) {
      await store.exec('INSERT INTO runs (id, pipeline, actor, started_at) VALUES ($1, $2, $3, $4)', [`run-${String(i).padStart(2, '0')}`, p, RUNNER, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()]);
    }
    const first = await listPasses(store, { pipeline: p, limit: 20 });
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const noting = { ...store, select: (sql: string, params: unknown[] = []) => (seen.push({ sql, params }), store.select(sql, params)) } as typeof store;
    const second = await listPasses(noting, { pipeline: p, limit: 20, before: first.next! });
    expect(second.items.map((r) => r.id)).toEqual(['run-09', 'run-08', 'run-07', 'run-06', 'run-05', 'run-04', 'run-03', 'run-02', 'run-01', 'run-00']);
    const { sql, params } = seen[0]!;
    const plan =
      dialect === 'sqlite'
        ? (await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join('\n')
        : (
            await store.transaction(async (t) => {
              await store.exec('SET LOCAL enable_seqscan = off', [], t);
              return store.select<Record<string, string>>(`EXPLAIN ${sql}`, params, t);
            })
          )
            .map((r) => Object.values(r)[0]!)
            .join('\n');
    // The cursor's time bounds the index read: SQLite's SEARCH names it, PostgreSQL's Index Cond holds it.
    expect(plan).toMatch(dialect === 'sqlite' ? /USING INDEX runs_\w+ \([^)]*started_at<\?/ : /Index Cond: \([^\n]*started_at <= /);
  });

  it("finds a pass's first and last entries through the time index, not by reading its pipeline's whole log", async () => {
    const { store } = env.ts;
    const p = name();
    const id = await env.ledger.startRun(p, RUNNER, 'sha256:m');
    await env.ledger.finishRun(id, SUMMARY);
    const seen: Array<{ sql: string; params: unknown[] }> = [];
    const noting = { ...store, select: (sql: string, params: unknown[] = []) => (seen.push({ sql, params }), store.select(sql, params)) } as typeof store;
    expect((await runSubmissions(noting, id, { limit: 10 })).items).toEqual([]);
    const lookups = seen.filter((s) => s.sql.includes('at >= $1'));
    expect(lookups).toHaveLength(2);
    for (const { sql, params } of lookups) {
      const plan =
        dialect === 'sqlite'
          ? (await store.select<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail).join('\n')
          : (
              await store.transaction(async (t) => {
                await store.exec('SET LOCAL enable_seqscan = off', [], t);
                return store.select<Record<string, string>>(`EXPLAIN ${sql}`, params, t);
              })
            )
              .map((r) => Object.values(r)[0]!)
              .join('\n');
      if (dialect === 'sqlite') expect(plan).toContain('USING INDEX audit_log_at');
      expect(plan).not.toMatch(/SCAN audit_log(?! USING)|Seq Scan/);
    }
  });
});
