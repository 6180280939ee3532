import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekey, TEST_PII_KEY_HEX } from '../../cli.test-helpers.js';
import { routedPipelineDir } from '../../commands/cases.test-helpers.js';
import { startTestConsole, type TestConsole } from '../console.test-helpers.js';
import { submissionHref } from './submission.view.js';
import { submissionsPages } from './submissions.pages.js';

const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };
const VN3 = 'Report a death/VN3GU5KS';

/** HTML text back to characters (the entities Nunjucks' autoescape writes). */
const unescape = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The Case panel's table rows as [route cell, state, attempts] with each route's link (none for this page's row). */
function caseRows(html: string): { route: string; href?: string; state: string }[] {
  const table = /<table class="govuk-table" id="case-routes">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  return [...table.matchAll(/<th scope="row" class="govuk-table__header">([\s\S]*?)<\/th>\s*<td class="govuk-table__cell">([^<]*)<\/td>/g)].map((m) => {
    const link = /<a class="govuk-link" href="([^"]+)">([^<]+)<\/a>/.exec(m[1]!);
    return link ? { route: link[2]!, href: unescape(link[1]!), state: m[2]! } : { route: m[1]!.trim(), state: m[2]! };
  });
}

describe('console submission page of a pipeline with routes: the Case panel', () => {
  let dir = '';
  let tc: TestConsole;
  let cookie = '';
  const get = async (path: string) => {
    const res = await fetch(`${tc.url}${path}`, { headers: { cookie } });
    return { status: res.status, html: await res.text() };
  };

  beforeAll(async () => {
    dir = routedPipelineDir();
    expect((await rekey(['run', '--state', `sqlite:${join(dir, 'state.sqlite')}`, join(dir, 'p.yaml')], dir, env)).code).toBe(1);
    tc = await startTestConsole({ pages: [submissionsPages], stateUrl: `sqlite:${join(dir, 'state.sqlite')}` });
    cookie = await tc.signIn('auditor');
  }, 120_000);
  afterAll(async () => {
    await tc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the case's routes with their states, linking to each other route's page", async () => {
    const r = await get(submissionHref('death~council-tax', VN3));
    expect(r.status).toBe(200);
    expect(unescape(r.html)).toContain('Case: needs attention: a route rejected it or gave up');
    expect(caseRows(r.html)).toEqual([
      { route: 'council-tax (this page)', state: 'delivered' },
      { route: 'driving-licence', href: submissionHref('death~driving-licence', VN3), state: 'rejected' },
    ]);
    const other = await get(submissionHref('death~driving-licence', VN3));
    expect(other.status).toBe(200);
    expect(caseRows(other.html).map((x) => [x.route, x.state])).toEqual([
      ['council-tax', 'delivered'],
      ['driving-licence (this page)', 'rejected'],
    ]);
    expect(unescape(other.html)).toContain('MAPPING_RECORD_REJECTED on DATE_OF_DEATH');
  });

  it("shows the pipeline's own row of a report no route applied to, and the routes not told", async () => {
    const r = await get(submissionHref('death', 'Report a death/MW7HS4YD'));
    expect(r.status).toBe(200);
    expect(caseRows(r.html)).toEqual([{ route: 'death (no route applied) (this page)', state: 'rejected' }]);
    expect(unescape(r.html)).toContain("Not told (the route's condition did not hold): council-tax, driving-licence.");
  });
});
