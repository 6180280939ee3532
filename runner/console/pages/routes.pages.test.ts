/**
 * The Pipelines pages of a pipeline with routes, over a real `rekey run` of
 * the report-a-death fixture: the list shows each route under its
 * pipeline's card, not as a pipeline of its own; a route's page says whose
 * route it is and offers no controls of its own.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekey, TEST_PII_KEY_HEX } from '../../cli.test-helpers.js';
import { routedPipelineDir } from '../../commands/cases.test-helpers.js';
import { loadPipelineFile } from '../../pipeline-files.js';
import { TEST_DATA_KEY } from '../../../lib/envelope.test-helpers.js';
import { AuditLog } from '../../../pipelines/audit/audit-log.js';
import { isPaused } from '../../../pipelines/ledger/controls.js';
import { Ledger } from '../../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../../pipelines/store/state-store.js';
import { createLogger } from '../../logging.js';
import { dataKeys } from '../../runtime.js';
import { Scheduler } from '../../serve/scheduler.js';
import { ServeSteering } from '../../serve/steering.js';
import { withLanes } from '../context.js';
import { csrfIn, startTestConsole, type TestConsole } from '../console.test-helpers.js';
import { pipelinePages } from './pipelines.pages.js';

const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };

describe('console Pipelines pages of a pipeline with routes', () => {
  let dir = '';
  let tc: TestConsole;
  let cookie = '';
  let scheduler: Scheduler;
  const get = async (path: string, json = false) => {
    const res = await fetch(`${tc.url}${path}`, { headers: { cookie, ...(json && { accept: 'application/json' }) } });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    dir = routedPipelineDir();
    const file = join(dir, 'p.yaml');
    expect((await rekey(['run', '--state', `sqlite:${join(dir, 'state.sqlite')}`, file], dir, env)).code).toBe(1);
    const loaded = await loadPipelineFile(file);
    const store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    const audit = new AuditLog(store);
    const log = createLogger({ level: 'silent', pretty: false });
    const runtime = { store, audit, ledger: new Ledger(store, audit, dataKeys(`sqlite:${join(dir, 'state.sqlite')}`, log, { REKEY_DATA_KEY: TEST_DATA_KEY })), close: () => store.close() };
    // The steering `rekey serve` gives its console, so the pages offer their controls.
    scheduler = new Scheduler(log, { isPaused: (name) => isPaused(store, name) });
    const steering = new ServeSteering(store, audit, scheduler);
    tc = await startTestConsole({ pages: [pipelinePages], runtime, pipelines: withLanes([{ file, def: loaded.pipeline!.def }]), extra: { steering, scheduler } });
    cookie = await tc.signIn('operator');
  }, 120_000);
  afterAll(async () => {
    await tc?.close();
    await scheduler?.stop();
    await tc?.runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the pipeline once, with its routes and how their deliveries stand', async () => {
    const r = await get('/pipelines', true);
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.text) as { pipelines: { name: string; total: number; routes?: unknown[] }[] };
    expect(doc.pipelines.map((p) => p.name)).toEqual(['death']);
    // 10 reports: 2 to no route (rejected in death's own ledger); 8 to each route.
    expect(doc.pipelines[0]!.total).toBe(2);
    expect(doc.pipelines[0]!.routes).toEqual([
      { route: 'driving-licence', lane: 'death~driving-licence', delivered: 4, inProgress: 0, needsAttention: 4, total: 8 },
      { route: 'council-tax', lane: 'death~council-tax', delivered: 4, inProgress: 0, needsAttention: 4, total: 8 },
    ]);
    const page = await get('/pipelines');
    expect(page.text.match(/<h2 class="govuk-summary-card__title">/g)).toHaveLength(1);
    expect(page.text).toContain('<a class="govuk-link" href="/pipelines/death~driving-licence">driving-licence</a>: 4 delivered, <strong>4 need attention</strong>');
    expect(page.text).toContain('<a class="govuk-link" href="/pipelines/death~council-tax">council-tax</a>: 4 delivered, <strong>4 need attention</strong>');
  });

  it("shows a route's page as part of its pipeline, with no controls of its own", async () => {
    const r = await get('/pipelines/death~council-tax');
    expect(r.status).toBe(200);
    expect(r.text).toContain('Route council-tax of death</h1>');
    expect(r.text).toContain('route <strong>council-tax</strong> of <a class="govuk-link" href="/pipelines/death">death</a>');
    expect(r.text).not.toContain('Controls of');
    expect((await get('/pipelines/death')).text).toContain('Controls of death');
    // A control sent to a lane anyway (an old form, a script) is refused, naming the pipeline to steer.
    const token = csrfIn((await get('/pipelines/death')).text);
    const res = await fetch(`${tc.url}/pipelines/death~council-tax/pause`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token, reason: 'x' }) });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('Route council-tax runs in the passes of pipeline death: pause, resume or run death.');
  });
});
