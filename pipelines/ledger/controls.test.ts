import { describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import { PipelineCodes } from '../pipeline.errors.js';
import { openStateStore } from '../store/state-store.js';
import { TEST_DIALECTS } from '../store/store.test-helpers.js';
import { isPaused, pausePipeline, pipelineControl, pipelineControls, resumePipeline } from './controls.js';
import { pipelineNames, useTestLedger } from './ledger.test-helpers.js';
import { migration0013 } from '../store/migrations/0013-pipeline-controls.js';

const ALICE = 'operator:alice';
const BOB = 'operator:bob';

describe.each(TEST_DIALECTS)('pausing and resuming pipelines (%s)', (dialect) => {
  const env = useTestLedger(dialect);
  const name = pipelineNames();

  const entries = async (p: string) =>
    (await env.ts.store.select<{ event: string; actor: string; detail: string }>('SELECT event, actor, detail FROM audit_log WHERE pipeline = $1 ORDER BY seq', [p])).map((r) => [
      r.event,
      r.actor,
      JSON.parse(r.detail) as unknown,
    ]);

  it('pauses with who, why and since; resumes; each change audited', async () => {
    const p = name();
    expect(await pipelineControl(env.ts.store, p)).toBeNull();
    expect(await isPaused(env.ts.store, p)).toBe(false);
    const paused = await pausePipeline(env.ts.store, env.audit, p, ALICE, '  legacy system upgrade tonight ');
    expect(paused).toMatchObject({ pipeline: p, paused: true, by: ALICE, reason: 'legacy system upgrade tonight' });
    expect(paused.since).toBeInstanceOf(Date);
    expect(await pipelineControl(env.ts.store, p)).toEqual(paused);
    expect(await isPaused(env.ts.store, p)).toBe(true);
    const resumed = await resumePipeline(env.ts.store, env.audit, p, BOB);
    expect(resumed).toMatchObject({ pipeline: p, paused: false, by: BOB, reason: null });
    expect(await isPaused(env.ts.store, p)).toBe(false);
    await pausePipeline(env.ts.store, env.audit, p, BOB, 'again');
    expect(await isPaused(env.ts.store, p)).toBe(true);
    expect(await entries(p)).toEqual([
      ['pipeline-paused', ALICE, { keys: [], reason: 'legacy system upgrade tonight' }],
      ['pipeline-resumed', BOB, { keys: [] }],
      ['pipeline-paused', BOB, { keys: [], reason: 'again' }],
    ]);
    expect(await env.audit.verify()).toMatchObject({ ok: true });
  });

  it('refuses to pause twice or resume a pipeline not paused, with a code, writing nothing', async () => {
    const p = name();
    await expect(resumePipeline(env.ts.store, env.audit, p, ALICE)).rejects.toMatchObject({ code: PipelineCodes.PIPELINE_NOT_PAUSED.code, message: `pipeline ${p} is not paused` });
    const first = await pausePipeline(env.ts.store, env.audit, p, ALICE, 'first');
    await expect(pausePipeline(env.ts.store, env.audit, p, BOB, 'second')).rejects.toMatchObject({
      code: PipelineCodes.PIPELINE_ALREADY_PAUSED.code,
      disposition: 'reject',
      message: `pipeline ${p} is already paused since ${first.since.toISOString()} by ${ALICE}`,
    });
    await resumePipeline(env.ts.store, env.audit, p, ALICE);
    await expect(resumePipeline(env.ts.store, env.audit, p, ALICE)).rejects.toMatchObject({ code: PipelineCodes.PIPELINE_NOT_PAUSED.code });
    expect((await entries(p)).map((e) => e[0])).toEqual(['pipeline-paused', 'pipeline-resumed']);
  });

  it('refuses an empty, long or multi-line reason and an empty pipeline or actor', async () => {
    const p = name();
    const bad = (message: string) => ({ code: PipelineCodes.LEDGER_BAD_REQUEST.code, message });
    await expect(pausePipeline(env.ts.store, env.audit, p, ALICE, '   ')).rejects.toMatchObject(bad('pausing needs a reason'));
    await expect(pausePipeline(env.ts.store, env.audit, p, ALICE, 'x'.repeat(201))).rejects.toMatchObject(bad('the reason is 201 characters long; keep it to 200'));
    await expect(pausePipeline(env.ts.store, env.audit, p, ALICE, 'one\ntwo')).rejects.toMatchObject(bad('the reason must be one line of plain text (no line breaks or control characters)'));
    await expect(pausePipeline(env.ts.store, env.audit, ' ', ALICE, 'why')).rejects.toMatchObject(bad('a pipeline name is needed'));
    await expect(resumePipeline(env.ts.store, env.audit, p, '')).rejects.toMatchObject(bad('an actor is needed (who asked)'));
    expect(await entries(p)).toEqual([]);
    expect(await pipelineControl(env.ts.store, p)).toBeNull();
  });

  it('lists every pipeline ever paused, by name', async () => {
    const [a, b] = [`list-b-${dialect}`, `list-a-${dialect}`];
    await pausePipeline(env.ts.store, env.audit, a, ALICE, 'why');
    await pausePipeline(env.ts.store, env.audit, b, ALICE, 'why');
    await resumePipeline(env.ts.store, env.audit, b, ALICE);
    const mine = (await pipelineControls(env.ts.store)).filter((c) => c.pipeline.startsWith('list-'));
    expect(mine.map((c) => [c.pipeline, c.paused])).toEqual([
      [b, false],
      [a, true],
    ]);
  });

  it('is held in the store: another connection sees the pause, and one pause wins a race', async () => {
    const p = name();
    const [x, y] = await Promise.allSettled([pausePipeline(env.ts.store, env.audit, p, ALICE, 'x'), pausePipeline(env.ts.store, env.audit, p, BOB, 'y')]);
    expect([x.status, y.status].sort()).toEqual(['fulfilled', 'rejected']);
    const other = await openStateStore(env.ts.url);
    try {
      expect(await isPaused(other, p)).toBe(true);
      await resumePipeline(other, new AuditLog(other), p, BOB);
    } finally {
      await other.close();
    }
    expect(await isPaused(env.ts.store, p)).toBe(false);
    expect((await entries(p)).map((e) => e[0])).toEqual(['pipeline-paused', 'pipeline-resumed']);
  });
});

describe.each(TEST_DIALECTS)('migration 0013 on %s', (dialect) => {
  const env = useTestLedger(dialect);

  it('goes down (controls, trigger columns and index gone) and up again', async () => {
    const store = env.ts.store;
    const step = (fn: typeof migration0013.up) => store.withSequelize((s) => s.transaction((transaction) => fn({ qi: s.getQueryInterface(), dialect: store.dialect, transaction })));
    await pausePipeline(store, env.audit, 'm', ALICE, 'before');
    await step(migration0013.down);
    await expect(store.select('SELECT trigger_kind FROM runs')).rejects.toThrow();
    await expect(store.select('SELECT * FROM pipeline_controls')).rejects.toThrow();
    await step(migration0013.up);
    expect(await pipelineControl(store, 'm')).toBeNull();
    const run = await env.ledger.startRun('m', 'runner:test:1', null, null, undefined, { kind: 'watch' });
    expect((await store.select<{ trigger_kind: string }>('SELECT trigger_kind FROM runs WHERE id = $1', [run]))[0]?.trigger_kind).toBe('watch');
  });
});
