/**
 * The Pipelines and Passes pages over the quick start: real passes of
 * examples/pipelines/change-of-address.yaml into a SQLite ledger, steered
 * through the real scheduler and steering of `rekey serve`, each role
 * signed in through the real form. A second pipeline whose legacy database
 * cannot be opened shows a degraded pipeline.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATA_KEY } from '../../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../../pipelines/audit/audit-log.js';
import { flowPipeline } from '../../../pipelines/flow/flow-pipeline.js';
import { runPass } from '../../../pipelines/flow/pass.js';
import { Ledger } from '../../../pipelines/ledger/ledger.js';
import type { PassTrigger } from '../../../pipelines/ledger/ledger.types.js';
import { listPasses } from '../../../pipelines/ledger/runs-history.js';
import { countsByState } from '../../../pipelines/ledger/counts.js';
import { openStateStore } from '../../../pipelines/store/state-store.js';
import { isPaused } from '../../../pipelines/ledger/controls.js';
import { createLogger } from '../../logging.js';
import { loadPipelineFile, type LoadedPipeline } from '../../pipeline-files.js';
import { copyQuickStart, QUICK_START, QUICK_START_SUBMISSIONS, quickStartCanaries } from '../../quick-start.test-helpers.js';
import { dataKeys, piiHasher, type Runtime } from '../../runtime.js';
import { Readiness } from '../../serve/readiness.js';
import { Scheduler, type PassEnd, type ScheduledPipeline } from '../../serve/scheduler.js';
import { ServeSteering } from '../../serve/steering.js';
import { mergeCookies, startTestConsole, TEST_USERS, type TestConsole } from '../console.test-helpers.js';
import { PASSES_PAGE, PROBLEMS_PAGE, pipelinePages } from './pipelines.pages.js';

const P = 'change-of-address';
const BROKEN = 'broken-address';
/** The quick start's submissions six times over (new references): 30 rejected in one pass. */
const MANY = 'many-rejects';
/** One of the quick start's five rejected submissions (its reference, as the key ends with it). */
const REJECTED_REF = 'EX6LB5NH';
/** A cron that does not fire while a test runs (29 February, 03:00). */
const QUIET_CRON = '0 3 29 2 *';

const canaries = quickStartCanaries;

function expectNoCanary(html: string): void {
  for (const c of canaries()) expect(html, `a citizen's value is on the page`).not.toContain(c);
}

describe('the Pipelines and Passes pages over real passes of the quick start', () => {
  let dir = '';
  let tc: TestConsole;
  let runtime: Runtime;
  let scheduler: Scheduler;
  let entry: ScheduledPipeline;
  let pass: (t: PassTrigger) => Promise<unknown>;
  let firstRun = '';
  let passesMade = 0;
  const ends: PassEnd[] = [];

  beforeAll(async () => {
    dir = copyQuickStart('rekey-pipelines-pages-');
    const log = createLogger({ level: 'silent', pretty: false });
    const url = `sqlite:${join(dir, 'state.sqlite')}`;
    const store = await openStateStore(url);
    const audit = new AuditLog(store);
    runtime = { store, audit, ledger: new Ledger(store, audit, dataKeys(url, log, { REKEY_DATA_KEY: TEST_DATA_KEY })), close: () => store.close() };
    const load = async (file: string): Promise<LoadedPipeline> => {
      const l = await loadPipelineFile(file);
      if (!l.pipeline) throw new Error(l.problems.map((p) => p.message).join('\n'));
      return l.pipeline;
    };
    const lp = await load(join(dir, QUICK_START));
    // The same pipeline into a legacy database under a file (not a folder): every pass fails at connect.
    mkdirSync(join(dir, 'broken'));
    const brokenFile = join(dir, 'broken', 'broken.yaml');
    writeFileSync(
      brokenFile,
      readFileSync(join(dir, QUICK_START), 'utf8')
        .replace(`pipeline: ${P}`, `pipeline: ${BROKEN}`)
        .replaceAll('../mappings/', '../examples/mappings/')
        .replace('../../fixtures/submissions/', '../fixtures/submissions/')
        .replace('path: ../../.rekey/legacy.sqlite', 'path: broken.yaml/legacy.sqlite')
        .replace('setupSql: ../../fixtures/', 'setupSql: ../fixtures/'),
    );
    const broken = await load(brokenFile);
    const lines = readFileSync(join(dir, QUICK_START_SUBMISSIONS), 'utf8').split('\n').filter(Boolean);
    const many = lines.flatMap((line, i) => [1, 2, 3, 4, 5, 6].map((n) => JSON.stringify({ ...(JSON.parse(line) as object), submission_reference: `M${n}X${String(i).padStart(2, '0')}ZZ` })));
    writeFileSync(join(dir, 'fixtures/many.ndjson'), `${many.join('\n')}\n`);
    const manyFile = join(dir, 'examples/pipelines/many-rejects.yaml');
    writeFileSync(
      manyFile,
      readFileSync(join(dir, QUICK_START), 'utf8')
        .replace(`pipeline: ${P}`, `pipeline: ${MANY}`)
        .replace('path: ../../fixtures/submissions/govuk-forms/change-of-address.ndjson', 'path: ../../fixtures/many.ndjson'),
    );
    const manyLp = await load(manyFile);
    const passOf = (l: LoadedPipeline) => (trigger: PassTrigger) =>
      runPass(flowPipeline(l), runtime.ledger, { owner: 'test-runner', actor: 'test-runner', trigger, log, signal: new AbortController().signal, leaseMs: 30_000, retryWaitMs: 0, piiHash: piiHasher(Buffer.alloc(32, 7)) });
    scheduler = new Scheduler(log, { isPaused: (name) => isPaused(store, name) });
    const steering = new ServeSteering(store, audit, scheduler);
    pass = passOf(lp);
    entry = scheduler.add(P, QUIET_CRON, 'Europe/London', pass);
    steering.add(entry, pass);
    const brokenPass = passOf(broken);
    const brokenEntry = scheduler.add(BROKEN, undefined, 'Europe/London', brokenPass);
    steering.add(brokenEntry, brokenPass);
    const manyPass = passOf(manyLp);
    const manyEntry = scheduler.add(MANY, undefined, 'Europe/London', manyPass);
    const readiness = new Readiness(
      [
        { name: P, isRunning: () => entry.running },
        { name: BROKEN, isRunning: () => brokenEntry.running },
      ],
      log,
    );
    scheduler.onPassEnd((end) => {
      ends.push(end);
      readiness.passEnded(end);
    });
    tc = await startTestConsole({
      pages: [pipelinePages],
      runtime,
      pipelines: [
        { name: P, file: join(dir, QUICK_START), def: lp.def },
        { name: BROKEN, file: brokenFile, def: broken.def },
        { name: MANY, file: manyFile, def: manyLp.def },
      ],
      extra: { scheduler, steering, readiness },
    });
    await scheduler.runNow(entry, pass, { kind: 'schedule' });
    await scheduler.runNow(brokenEntry, brokenPass, { kind: 'schedule' });
    await scheduler.runNow(manyEntry, manyPass, { kind: 'schedule' });
    firstRun = (await listPasses(store, { pipeline: P, limit: 1 })).items[0]!.id;
    // More passes (duplicates all) for the history to run over two pages.
    for (let i = 0; i < PASSES_PAGE; i++) await scheduler.runNow(entry, pass, { kind: 'schedule' });
    passesMade = PASSES_PAGE + 1;
  }, 180_000);

  afterAll(async () => {
    await tc?.close();
    await scheduler?.stop();
    await runtime?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One session per role, kept: sign-in is rate-limited. */
  const sessions = new Map<string, Promise<string>>();
  const signIn = (who: 'viewer' | 'auditor' | 'operator') => {
    if (!sessions.has(who)) sessions.set(who, tc.signIn(who));
    return sessions.get(who)!;
  };

  const get = async (path: string, cookie?: string) => {
    const res = await fetch(`${tc.url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };

  /** Posts a form to `path` as the signed-in `cookie`, with the CSRF token of `from`'s page unless `csrf: false`. */
  const post = async (cookie: string, path: string, fields: Record<string, string>, opts: { from?: string; csrf?: boolean } = {}) => {
    const form = await tc.formToken(cookie, opts.from ?? `/pipelines/${P}`);
    const res = await fetch(`${tc.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...(opts.csrf === false ? {} : { _csrf: form.token }), ...fields }),
    });
    return { status: res.status, location: res.headers.get('location'), html: await res.text(), cookie: mergeCookies(form.cookie, res) };
  };

  const auditOf = async (event: string) =>
    runtime.store.select<{ actor: string; pipeline: string; detail: string }>('SELECT actor, pipeline, detail FROM audit_log WHERE event = $1 ORDER BY seq', [event]);

  it('sends a visitor who has not signed in to the sign-in page, from every page and control', async () => {
    for (const path of ['/pipelines', `/pipelines/${P}`, `/passes/${firstRun}`, `/pipelines/${P}?before=x`]) {
      const r = await get(path);
      expect(r.status, path).toBe(303);
      expect(r.location).toMatch(/^\/sign-in\?next=/);
      expect(r.html).not.toContain(REJECTED_REF);
    }
    const res = await fetch(`${tc.url}/pipelines/${P}/pause`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=x' });
    expect(res.status).toBe(401);
    expect(await isPaused(runtime.store, P)).toBe(false);
  });

  it('shows a viewer every pipeline with its state, schedule, counts and health, and no controls', async () => {
    const cookie = await signIn('viewer');
    const r = await get('/pipelines', cookie);
    expect(r.status).toBe(200);
    expect(r.html).toContain(`href="/pipelines/${P}"`);
    expect(r.html).toContain(`href="/pipelines/${BROKEN}"`);
    expect(r.html).toContain(QUIET_CRON);
    expect(r.html).toContain('Europe/London');
    expect(r.html).toContain('Idle');
    expect(r.html).toContain('none: runs only when asked');
    expect(r.html).toMatch(/delivered: \d+/);
    expect(r.html).toMatch(/rejected: 5\b/);
    expect(r.html).toContain('Ready');
    // The broken pipeline's failed pass degrades it, with the reason.
    expect(r.html).toContain('Degraded');
    expect(r.html).toMatch(/found by a pass/);
    expect(r.html).not.toContain('/pause"');
    expect(r.html).not.toContain('/run"');
    expect(r.html).not.toContain('Run a pass now');
    expectNoCanary(r.html);
  });

  it("shows a viewer a pass's figures but none of its submissions, references or reasons", async () => {
    const cookie = await signIn('viewer');
    const r = await get(`/passes/${firstRun}`, cookie);
    expect(r.status).toBe(200);
    expect(r.html).toContain('Reconciliation');
    expect(r.html).toMatch(/Rejected<\/th><td[^>]*>5</);
    expect(r.html).toContain('its schedule');
    expect(r.html).not.toContain('Rejected and dead-lettered submissions');
    expect(r.html).not.toContain(REJECTED_REF);
    expect(r.html).not.toContain('/submissions/');
    expectNoCanary(r.html);
  });

  it("shows an auditor a pass's rejected submissions with field, code and reason, linked to each submission, never a value", async () => {
    const cookie = await signIn('auditor');
    const r = await get(`/passes/${firstRun}`, cookie);
    expect(r.status).toBe(200);
    expect(r.html).toContain('Rejected and dead-lettered submissions');
    const link = new RegExp(`href="/submissions/${P}/[^"]*${REJECTED_REF}"`);
    expect(r.html).toMatch(link);
    expect(r.html).toContain('MAPPING_RECORD_REJECTED');
    expect(r.html).toContain('NINO');
    expect(r.html).toContain('is not a valid National Insurance number');
    expectNoCanary(r.html);
  });

  it('lets an auditor see the pipelines but offers no controls and refuses them with 403', async () => {
    const cookie = await signIn('auditor');
    const page = await get(`/pipelines/${P}`, cookie);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('name="reason"');
    expect(page.html).not.toContain('Run a pass now');
    for (const action of ['pause', 'resume', 'run']) {
      const r = await post(cookie, `/pipelines/${P}/${action}`, { reason: 'auditor tries' });
      expect(r.status, action).toBe(403);
    }
    expect(await isPaused(runtime.store, P)).toBe(false);
    expect(await auditOf('pipeline-paused')).toEqual([]);
  });

  it("pages a pipeline's passes newest first by keyset, each pass once", async () => {
    const cookie = await signIn('viewer');
    const first = await get(`/pipelines/${P}`, cookie);
    expect(first.status).toBe(200);
    const ids = (html: string) => [...html.matchAll(/href="\/passes\/([0-9a-f-]{36})"/g)].map((m) => m[1]!);
    // The card links the last pass as well; the table holds the page.
    const page1 = ids(first.html).slice(1);
    expect(page1).toHaveLength(PASSES_PAGE);
    const next = /href="(\/pipelines\/[^"?]+\?before=[^"]+)"/.exec(first.html)?.[1];
    expect(next).toBeDefined();
    const second = await get(next!.replaceAll('&amp;', '&'), cookie);
    expect(second.status).toBe(200);
    expect(second.html).toContain('Newest passes');
    const page2 = ids(second.html).slice(1);
    expect(page2.length).toBeGreaterThanOrEqual(1);
    const all = [...page1, ...page2];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe((await listPasses(runtime.store, { pipeline: P, limit: 500 })).items.length);
    expect(all.length).toBeGreaterThanOrEqual(passesMade);
    expect(all.at(-1)).toBe(firstRun);
    const bad = await get(`/pipelines/${P}?before=not-a-cursor`, cookie);
    expect(bad.status).toBe(400);
  });

  it("shows a failed pass's error: its code to a viewer, with its message to an auditor", async () => {
    const [failed] = (await listPasses(runtime.store, { pipeline: BROKEN, limit: 1 })).items;
    expect(failed!.status).toBe('failed');
    const viewer = await get(`/passes/${failed!.id}`, await signIn('viewer'));
    expect(viewer.status).toBe(200);
    expect(viewer.html).toContain('Failed');
    expect(viewer.html).toContain('SQL_UNAVAILABLE');
    expect(viewer.html).not.toContain('cannot use');
    const auditor = await get(`/passes/${failed!.id}`, await signIn('auditor'));
    expect(auditor.html).toContain('SQL_UNAVAILABLE: cannot use');
    const bad = await get(`/passes/${firstRun}?after=not-a-cursor`, await signIn('auditor'));
    expect(bad.status).toBe(400);
  });

  it("pages a pass's rejected submissions, 25 a page, each once", async () => {
    const [run] = (await listPasses(runtime.store, { pipeline: MANY, limit: 1 })).items;
    const undelivered = run!.summary!.rejected + run!.summary!.dead;
    expect(undelivered).toBeGreaterThan(PROBLEMS_PAGE);
    const cookie = await signIn('auditor');
    const refs = (html: string) => [...html.matchAll(new RegExp(`href="/submissions/${MANY}/[^"]*%2F(M\\dX\\d\\dZZ)"`, 'g'))].map((m) => m[1]!);
    const first = await get(`/passes/${run!.id}`, cookie);
    expect(refs(first.html)).toHaveLength(PROBLEMS_PAGE);
    const seen = [...refs(first.html)];
    let next = /href="(\/passes\/[^"?]+\?after=[^"]+)"/.exec(first.html)?.[1];
    expect(next).toBeDefined();
    for (let pages = 1; next && pages < 10; pages++) {
      const r = await get(next.replaceAll('&amp;', '&'), cookie);
      expect(r.status).toBe(200);
      expect(r.html).toContain('First page');
      seen.push(...refs(r.html));
      next = /href="(\/passes\/[^"?]+\?after=[^"]+)"/.exec(r.html)?.[1];
      expectNoCanary(r.html);
    }
    expect(seen).toHaveLength(undelivered);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('answers an unknown pipeline or pass with a 404 page', async () => {
    const cookie = await signIn('operator');
    for (const path of ['/pipelines/no-such-pipeline', '/passes/00000000-0000-4000-8000-000000000000', `/passes/${'x'.repeat(90)}`]) {
      const r = await get(path, cookie);
      expect(r.status, path).toBe(404);
      expect(r.html).toContain('govuk-heading-l');
    }
    const r = await post(cookie, '/pipelines/no-such-pipeline/pause', { reason: 'x' });
    expect(r.status).toBe(404);
  });

  it('refuses an operator a pause without a reason (400, error summary) or without the CSRF token (403)', async () => {
    const cookie = await signIn('operator');
    const empty = await post(cookie, `/pipelines/${P}/pause`, { reason: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('govuk-error-summary');
    expect(empty.html).toContain('Enter why you are pausing the pipeline');
    expect(empty.html).toContain('href="#reason-1"');
    const fromList = await post(cookie, `/pipelines/${P}/pause`, { reason: '', back: 'list' }, { from: '/pipelines' });
    expect(fromList.status).toBe(400);
    expect(fromList.html).toContain('govuk-error-summary');
    const tooLong = await post(cookie, `/pipelines/${P}/pause`, { reason: 'x'.repeat(201) });
    expect(tooLong.status).toBe(400);
    const noCsrf = await post(cookie, `/pipelines/${P}/pause`, { reason: 'no token' }, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(await isPaused(runtime.store, P)).toBe(false);
    expect(await auditOf('pipeline-paused')).toEqual([]);
  });

  it('lets an operator pause with a reason, run now (refused while paused), resume and run now, each on the audit log', async () => {
    const cookie = await signIn('operator');
    const paused = await post(cookie, `/pipelines/${P}/pause`, { reason: 'legacy system down for maintenance' });
    expect(paused.status).toBe(303);
    expect(paused.location).toBe(`/pipelines/${P}?done=paused`);
    expect(await auditOf('pipeline-paused')).toEqual([expect.objectContaining({ actor: 'console:olly.operator', pipeline: P })]);
    const page = await get(paused.location!, cookie);
    expect(page.html).toContain('Paused');
    expect(page.html).toContain('legacy system down for maintenance');
    expect(page.html).toContain('console:olly.operator');
    expect(page.html).toContain('govuk-notification-banner--success');
    expect(page.html).toContain('/resume"');
    // A viewer sees the state, not who paused it or why.
    const viewer = await get('/pipelines', await signIn('viewer'));
    expect(viewer.html).toContain('Paused');
    expect(viewer.html).not.toContain('legacy system down for maintenance');

    const again = await post(cookie, `/pipelines/${P}/pause`, { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.html).toContain('The pipeline is already paused');

    const before = (await listPasses(runtime.store, { pipeline: P, limit: 500 })).items.length;
    const refused = await post(cookie, `/pipelines/${P}/run`, {});
    expect(refused.location).toBe(`/pipelines/${P}?done=run-paused`);
    expect((await listPasses(runtime.store, { pipeline: P, limit: 500 })).items.length).toBe(before);
    expect(await auditOf('run-requested')).toEqual([]);

    const resumed = await post(cookie, `/pipelines/${P}/resume`, { back: 'list' }, { from: '/pipelines' });
    expect(resumed.status).toBe(303);
    expect(resumed.location).toBe('/pipelines?done=resumed');
    expect(await auditOf('pipeline-resumed')).toEqual([expect.objectContaining({ actor: 'console:olly.operator', pipeline: P })]);
    expect(await isPaused(runtime.store, P)).toBe(false);

    const ended = new Promise<PassEnd>((done) => scheduler.onPassEnd((end) => end.trigger.kind === 'console' && done(end)));
    const run = await post(cookie, `/pipelines/${P}/run`, {});
    expect(run.location).toBe(`/pipelines/${P}?done=run-started`);
    const end = await ended;
    expect(end.error).toBeUndefined();
    const [latest] = (await listPasses(runtime.store, { pipeline: P, limit: 1 })).items;
    expect(latest!.trigger).toEqual({ kind: 'console', by: 'console:olly.operator' });
    const started = (await auditOf('run-started')).map((e) => JSON.parse(e.detail) as { runId?: string; trigger?: PassTrigger });
    expect(started.find((d) => d.runId === latest!.id)?.trigger).toEqual({ kind: 'console', by: 'console:olly.operator' });
    expect((await auditOf('run-requested')).map((e) => [e.actor, e.pipeline, JSON.parse(e.detail)])).toEqual([['console:olly.operator', P, { keys: [] }]]);
    const passPage = await get(`/passes/${latest!.id}`, await signIn('auditor'));
    expect(passPage.html).toContain('a person, in the console (console:olly.operator)');
    expectNoCanary(passPage.html);
    expectNoCanary(tc.logged());
  });

  it('takes a control from an operator API token without a CSRF token, and refuses an auditor token with 403', async () => {
    const send = (token: string, action: string, fields: Record<string, string>) =>
      fetch(`${tc.url}/pipelines/${P}/${action}`, { method: 'POST', redirect: 'manual', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const refused = await send(TEST_USERS.auditor.token, 'pause', { reason: 'bot tries' });
    expect(refused.status).toBe(403);
    expect(await isPaused(runtime.store, P)).toBe(false);
    const paused = await send(TEST_USERS.operator.token, 'pause', { reason: 'nightly load of the legacy system' });
    expect(paused.status).toBe(303);
    const last = (await auditOf('pipeline-paused')).at(-1);
    expect(last).toMatchObject({ actor: 'console:olly.operator-bot', pipeline: P });
    expect((await send(TEST_USERS.operator.token, 'resume', {})).status).toBe(303);
    expect(await isPaused(runtime.store, P)).toBe(false);
  });

  it('answers an API-token client asking for JSON with the pages\' data: who paused and why only to read, never a value', async () => {
    const json = async (path: string, token: string, accept = 'application/json') => {
      const res = await fetch(`${tc.url}${path}`, { redirect: 'manual', headers: { authorization: `Bearer ${token}`, accept } });
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
    };
    const paused = await fetch(`${tc.url}/pipelines/${P}/pause`, { method: 'POST', redirect: 'manual', headers: { authorization: `Bearer ${TEST_USERS.operator.token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ reason: 'legacy upgrade tonight' }) });
    expect(paused.status).toBe(303);
    try {
      const asViewer = await json('/pipelines', TEST_USERS.viewer.token);
      expect(asViewer.status).toBe(200);
      expect(asViewer.type).toContain('application/json');
      const list = JSON.parse(asViewer.text) as { pipelines: { name: string; state: string; pause: Record<string, unknown> | null; counts: Record<string, number>; total: number; health: { status: string } | null }[] };
      const mine = list.pipelines.find((x) => x.name === P)!;
      expect(mine).toMatchObject({ state: 'paused', pause: { since: expect.any(String) } });
      expect(mine.pause).not.toHaveProperty('by');
      expect(mine.pause).not.toHaveProperty('reason');
      const counts = (await countsByState(runtime.store, [P]))[P]!;
      expect(mine.counts).toEqual(counts);
      expect(mine.total).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
      expect(list.pipelines.find((x) => x.name === BROKEN)?.health?.status).toBe('degraded');

      const asAuditor = await json(`/pipelines/${P}`, TEST_USERS.auditor.token);
      expect(asAuditor.status).toBe(200);
      const detail = JSON.parse(asAuditor.text) as { pipeline: { pause: Record<string, unknown> }; passes: { id: string; status: string; errorCode: string | null }[]; next: string | null };
      expect(detail.pipeline.pause).toMatchObject({ by: 'console:olly.operator-bot', reason: 'legacy upgrade tonight' });
      const newest = await listPasses(runtime.store, { pipeline: P, limit: PASSES_PAGE });
      expect(detail.passes.map((x) => x.id)).toEqual(newest.items.map((x) => x.id));
      for (const body of [asViewer.text, asAuditor.text]) expectNoCanary(body);

      // A browser (text/html in Accept) and a client that names no type still get the page.
      expect((await json('/pipelines', TEST_USERS.viewer.token, 'text/html,application/json;q=0.9')).type).toContain('text/html');
      expect((await json('/pipelines', TEST_USERS.viewer.token, '*/*')).type).toContain('text/html');
    } finally {
      await fetch(`${tc.url}/pipelines/${P}/resume`, { method: 'POST', redirect: 'manual', headers: { authorization: `Bearer ${TEST_USERS.operator.token}` } });
    }
    expect(await isPaused(runtime.store, P)).toBe(false);
  });
});
