import { afterEach, describe, expect, it } from 'vitest';
import { DRIFT_STATE, type DriftReport } from '../../../connectors/browser/browser.drift.js';
import type { PipelineDef } from '../../../pipelines/definition/pipeline.types.js';
import { pausePipeline, pipelineControl } from '../../../pipelines/ledger/controls.js';
import { csrfIn, mergeCookies, startTestConsole, type TestConsole } from '../console.test-helpers.js';
import { stepsPages } from './steps.pages.js';

const P = 'browser-drift';
const print = (label: string) => ({ page: 0, fields: [{ step: '1', kind: 'fill', found: label !== '', tag: 'input', type: '', name: 'surname', id: 'surname', label, index: 0 }], required: [] });
const report: DriftReport = {
  id: 'c0c1c2c3-0000-4000-8000-000000000002',
  at: '2026-12-05T10:00:00.000Z',
  stepsVersion: '0123456789abcdef',
  base: '0123456789abcdef',
  page: 0,
  changes: [{ step: '1', what: 'gone', says: 'step 1 (fill): the input labelled "Surname", named "surname", is not found' }],
  before: print('Surname'),
  now: print(''),
  proposal: { steps: [{ goto: '/cases/new' }, { fill: { label: 'Family name', value: '{{SURNAME}}' } }], rewritten: [{ step: '1', locator: { label: 'Family name' } }], unresolved: [] },
};

describe('console: steps review', () => {
  let c: TestConsole;
  afterEach(async () => c?.close());

  it('shows what changed to a reader, refuses invalid edits, and lets an operator approve (audited, resumed)', async () => {
    c = await startTestConsole({ pages: [stepsPages], pipelines: [{ name: P, file: 'x.yaml', def: {} as PipelineDef }] });
    await c.runtime.ledger.connectorState(P).set(DRIFT_STATE.report, JSON.stringify(report));
    await pausePipeline(c.runtime.store, c.runtime.audit, P, 'runner:test:1', 'the legacy screen changed (page 1): rekey steps review to see it and approve corrected steps');

    const viewer = await c.signIn('viewer');
    expect((await fetch(`${c.url}/pipelines/${P}/steps`, { headers: { cookie: viewer } })).status).toBe(403);

    let cookie = await c.signIn('operator');
    const page = await fetch(`${c.url}/pipelines/${P}/steps`, { headers: { cookie } });
    cookie = mergeCookies(cookie, page);
    const html = await page.text();
    expect(html).toContain('Page 1 of the form changed');
    expect(html).toContain('step 1 (fill): the input labelled &quot;Surname&quot;, named &quot;surname&quot;, is not found');
    expect(html).toContain('label: Family name');
    const post = (steps: string) =>
      fetch(`${c.url}/pipelines/${P}/steps/approve`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrfIn(html), report: report.id, steps }) });

    const bad = await post('- fill: { lable: Surname, value: x }\n');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('The steps are not valid: step 0/fill: must NOT have additional properties (lable)');
    expect((await pipelineControl(c.runtime.store, P))?.paused).toBe(true);

    const ok = await post('- goto: /cases/new\n- fill: { label: Family name, value: "{{SURNAME}}" }\n- fill: { label: Reason for change, value: Change of address }\n');
    expect([ok.status, ok.headers.get('location')]).toEqual([303, `/pipelines/${P}/steps?done=approved`]);
    expect((await pipelineControl(c.runtime.store, P))?.paused).toBe(false);
    const after = await (await fetch(`${c.url}/pipelines/${P}/steps`, { headers: { cookie } })).text();
    expect(after).toContain('No screen change waits for review.');
    expect(after).toMatch(/Steps keyed: version 0123456789abcdef\.[0-9a-f]{8}, approved by console:/);
    let text = '';
    for await (const chunk of c.runtime.audit.export({ format: 'json', pipeline: P, events: ['steps-approved'] })) text += chunk;
    expect(JSON.parse(text)).toMatchObject([{ event: 'steps-approved', actor: expect.stringMatching(/^console:/), detail: { report: report.id, edited: true } }]);
  }, 60_000);
});
