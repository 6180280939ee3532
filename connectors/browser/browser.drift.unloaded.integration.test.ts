/**
 * The drift guard against a page that did not load, in real Chromium and a
 * page server of the test's own: once a page's print is stored, a visit
 * that shows none of the elements its steps use (a page still loading,
 * an error page answered 200, one navigated elsewhere) fails that form
 * with BROWSER_TIMEOUT, retried, and halts nothing; the same page back
 * keys again; a page that shows some of its elements but not all is a
 * changed screen, and halts keying.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorState } from '../../pipelines/store/connector-state.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import type { Ctx } from '../connector.types.js';
import type { Step } from './browser.config.js';
import { DriftGuard } from './browser.drift.js';
import { PageWatch, runSteps, type StepEnv } from './browser.steps.js';
import { findChromium, launchChromium } from './chromium.js';

const chromium = findChromium();
const FORM = (surname: string) => `<form method="post" action="/saved"><label for="s">${surname}</label><input id="s" name="s"><label for="t">Town</label><input id="t" name="t"><button>Save</button></form>`;
const STEPS: Step[] = [{ goto: '/' }, { fill: { label: 'Surname', value: '{{SURNAME}}' } }, { fill: { label: 'Town', value: '{{TOWN}}' } }, { click: { role: 'button', text: 'Save' } }];

describe.skipIf(!chromium)(`the drift guard and a page that did not load${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let browser: Browser;
  let server: Server;
  let store: StateStore;
  let body = FORM('Surname');
  let saved = 0;

  beforeAll(async () => {
    browser = await launchChromium();
    store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-drift-unloaded-')), 'state.sqlite')}`);
    server = createServer((req, res) => {
      if (req.url === '/saved') saved++;
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><head><title>Case</title></head><body>${req.url === '/saved' ? '<p>Saved</p>' : body}</body></html>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    server?.close();
    await browser?.close();
    await store?.close();
  });

  it('a page showing none of its elements fails the form with BROWSER_TIMEOUT and halts nothing; one showing some of them is a changed screen', async () => {
    const guard = new DriftGuard(STEPS);
    const halts: string[] = [];
    const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1, state: connectorState(store, 'drift-unloaded'), halt: async (reason: string) => void halts.push(reason) };
    const env: StepEnv = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, baseDir: tmpdir(), timeout: 1500, lookup: (n) => (n === 'SURNAME' ? 'Okafor' : 'Leeds'), capture: () => undefined, screenshot: () => Promise.resolve(undefined) };
    const keyOnce = async () => {
      const watch = new PageWatch(await browser.newPage());
      try {
        const prints = await guard.run(env, ctx, (steps, before) => runSteps(steps, watch, env, watch.page, { path: String, before }));
        await guard.keep(prints, ctx.state);
      } finally {
        await watch.page.close();
      }
    };

    await keyOnce();
    expect(saved).toBe(1);

    body = '<p>The service is busy. Please wait.</p>';
    await expect(keyOnce()).rejects.toMatchObject({ code: 'BROWSER_TIMEOUT', disposition: 'retry', message: 'page 1 of the form showed none of the elements its steps use within 2 s' });
    expect(halts).toEqual([]);

    body = FORM('Surname');
    await keyOnce();
    expect(saved).toBe(2);

    body = FORM('Family name');
    await expect(keyOnce()).rejects.toMatchObject({ code: 'BROWSER_SCREEN_CHANGED', disposition: 'fatal', message: expect.stringMatching(/^page 1 of the form changed \(gone\); nothing was keyed into it; report /) });
    expect(halts).toEqual(['the legacy screen changed (page 1): rekey steps review to see it and approve corrected steps']);
    expect(saved).toBe(2);
  }, 60_000);
});
