/**
 * Nobody unauthenticated sees any submission data: every route the console
 * registers (collected as it is registered, so a new page is walked without
 * changing this test), its parameters filled with real values of a real
 * quick-start run, requested with its method and no credentials, answers a
 * redirect to sign-in or a refusal, never a page; and a viewer is refused
 * every route but the counts pages. No citizen's answer in any body.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineFile } from '../pipeline-files.js';
import { rekey } from '../cli.test-helpers.js';
import { copyQuickStart, QUICK_START } from '../quick-start.test-helpers.js';
import { canaries } from './browser.test-helpers.js';
import { startTestConsole, TEST_USERS, type TestConsole } from './console.test-helpers.js';
import { CONSOLE_PAGES } from './pages/index.js';

const P = 'change-of-address';

let dir: string;
let c: TestConsole;
const routes: { method: string; url: string }[] = [];
/** Real values for each route parameter. */
const values: Record<string, string> = { name: P, pipeline: P };

beforeAll(async () => {
  dir = copyQuickStart('rekey-console-unauthenticated-');
  const run = await rekey(['run', QUICK_START], dir);
  // Exit 1: the quick start holds a submission its mapping rejects, on purpose.
  expect(run.code, run.stderr).toBe(1);
  const loaded = await loadPipelineFile(join(dir, QUICK_START));
  c = await startTestConsole({
    pages: [...CONSOLE_PAGES],
    pipelines: [{ name: P, file: join(dir, QUICK_START), def: loaded.pipeline!.def }],
    stateUrl: `sqlite:${join(dir, '.rekey/state.sqlite')}`,
    onRoute: (r: RouteOptions) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    },
  });
  // The parameters, from the pages an operator's API token sees.
  const html = async (path: string) => (await fetch(`${c.url}${path}`, { headers: { authorization: `Bearer ${TEST_USERS.operator.token}` } })).text();
  values.runId = /href="\/passes\/([^"?]+)"/.exec(await html(`/pipelines/${P}`))![1]!;
  const submission = /href="\/submissions\/change-of-address\/([^"?]+)"/.exec(await html('/submissions'))![1]!;
  values.key = decodeURIComponent(submission);
  values.version = decodeURIComponent(/href="\/mappings\/([^"?]+)"/.exec(await html(`/submissions/${P}/${submission}`))![1]!);
  values['*'] = 'console.css';
}, 60_000);
afterAll(async () => {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `url` with each `:param` (and `*`) replaced by its real value. */
function fill(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, (_m, p: string) => encodeURIComponent(values[p] ?? `missing-${p}`)).replace('*', values['*']!);
}

/** The routes to walk: each registered (method, url) once. */
function walk(): { method: string; url: string; path: string }[] {
  const seen = new Set<string>();
  return routes.filter((r) => !seen.has(`${r.method} ${r.url}`) && seen.add(`${r.method} ${r.url}`)).map((r) => ({ ...r, path: fill(r.url) }));
}

async function request(method: string, path: string, headers: Record<string, string> = {}, body?: URLSearchParams) {
  const res = await fetch(`${c.url}${path}`, { method, redirect: 'manual', headers, ...(body && { body }) });
  return { status: res.status, location: res.headers.get('location') ?? '', body: method === 'HEAD' ? '' : await res.text() };
}

describe('the console, walked route by route', () => {
  it('registers the pages of every module, each parameter filled with a real value', () => {
    const urls = new Set(routes.map((r) => r.url));
    for (const u of ['/sign-in', '/sign-out', '/account', '/pipelines', '/pipelines/:name', '/passes/:runId', '/submissions', '/submissions/:pipeline/:key', '/dead-letters', '/dead-letters/:pipeline/:key', '/audit', '/audit/export']) expect(urls).toContain(u);
    for (const r of walk()) expect(r.path, r.url).not.toContain('missing-');
  });

  it('shows nobody unauthenticated any page but sign-in and the assets, and no submission data', async () => {
    const bad: string[] = [];
    const walked = walk();
    for (const { method, url, path } of walked) {
      const res = await request(method, path, method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}, method === 'POST' ? new URLSearchParams({ reason: 'x' }) : undefined);
      for (const canary of canaries()) if (res.body.includes(canary)) bad.push(`${method} ${url}: a citizen's answer in the body`);
      const open = (url === '/sign-in' && method !== 'POST') || url.startsWith('/assets/');
      if (open) {
        if (res.status !== 200 && !(url.startsWith('/assets/') && res.status === 404)) bad.push(`${method} ${url}: ${res.status}`);
        continue;
      }
      const toSignIn = [302, 303].includes(res.status) && (res.location.startsWith('/sign-in') || (url === '/' && res.location === '/pipelines'));
      if (!toSignIn && ![401, 403, 503].includes(res.status)) bad.push(`${method} ${url}: ${res.status} ${res.location}`);
    }
    expect(bad).toEqual([]);
    expect(walked.length).toBeGreaterThan(20);
  });

  it('refuses a viewer every route but the counts pages, even with a valid CSRF token, and shows it no submission data', async () => {
    const counts = new Set(['/', '/account', '/pipelines', '/pipelines/:name', '/passes/:runId', '/sign-in', '/sign-out']);
    const viewer = await c.signIn('viewer');
    const bad: string[] = [];
    for (const { method, url, path } of walk()) {
      if (url.startsWith('/assets/') || counts.has(url)) continue;
      const form = method === 'POST' ? await c.formToken(viewer, '/account') : undefined;
      const res = form
        ? await request(method, path, { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ _csrf: form.token, reason: 'x' }))
        : await request(method, path, { cookie: viewer });
      if (res.status !== 403) bad.push(`${method} ${url}: ${res.status}`);
      for (const canary of canaries()) if (res.body.includes(canary)) bad.push(`${method} ${url}: a citizen's answer in the body`);
    }
    expect(bad).toEqual([]);
    // The counts pages answer the viewer, with no citizen's answer on them.
    for (const url of ['/pipelines', `/pipelines/${P}`, `/passes/${values.runId}`, '/account']) {
      const res = await request('GET', url, { cookie: viewer });
      expect(res.status, url).toBe(200);
      for (const canary of canaries()) expect(res.body).not.toContain(canary);
    }
  });
});
