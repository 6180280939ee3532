/**
 * The browser target in real headless Chromium against the second legacy
 * app (fixtures/legacy-frames): a frameset addressed by frame name, inputs
 * known only by name, dialogs as outcomes (a confirm accepted by a rule,
 * alerts that refuse a value rejecting the record with their text kept
 * sealed, an unexpected dialog ending the attempt), a lookup popup, radio
 * buttons and a check box chosen per record, sessions lasting a few
 * requests that expire in frames and popups, resumed at the page, a probe
 * inside the frameset, and read-back normalisers. Counts what the app
 * saved per key, and scans everything rekey wrote for canary values.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { startLegacyFrames, type LegacyFrames } from '../../fixtures/legacy-frames/legacy-frames.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { sized } from '../../lib/test-tier.test-helpers.js';
import type { BrowserConfig } from './browser.config.js';
import { filesHolding, FRAMES_DIALOGS, FRAMES_MAPPING, framesCanary, framesConfig, framesSubmission, savedPermits } from './browser.frames.test-helpers.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';

const chromium = findChromium();
const PIPELINE = 'permits';
/** Submissions in the frameset run: 14 in the bounded run, 50 in the long form; REKEY_FRAMES_SUBMISSIONS overrides. */
const COUNT = sized(14, 50, process.env.REKEY_FRAMES_SUBMISSIONS);

const MAPPING = FRAMES_MAPPING;
const DIALOGS = FRAMES_DIALOGS;

let app: LegacyFrames;
let store: StateStore;
let ledger: Ledger;
let dir: string;
let mapping: CompiledMapping;
const lines: string[] = [];

const config = (over: Partial<BrowserConfig> = {}, login: Partial<NonNullable<BrowserConfig['login']>> = {}) => framesConfig(app?.url ?? 'http://127.0.0.1:1', dir, over, login);

const target = (c: BrowserConfig) => new BrowserTarget(c, { baseDir: dir, pipeline: PIPELINE, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString('utf8')), done()) }));
/** One pass; a failed record is tried again at once, up to `maxAttempts`. */
const pass = (t: BrowserTarget, items: unknown[], maxAttempts = 3) =>
  runPass(testPipeline(arraySource(items), t, { name: PIPELINE, mapping, targetName: 'browser', batchSize: 10, concurrency: 1, maxAttempts, retryDelay: () => 0 }), ledger, testOptions({ log }));

const saved = () => savedPermits(app.url);
const canary = framesCanary;
const submission = framesSubmission;

describe.skipIf(!chromium)(`browser target in a frameset app${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  beforeAll(() => {
    const loaded = loadMapping('permits.yaml', MAPPING);
    expect(loaded.problems).toEqual([]);
    mapping = loaded.compiled!;
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rekey-frames-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    lines.length = 0;
  });
  afterEach(async () => {
    await app?.close();
    await store.close();
  });

  it(`keys ${COUNT} submissions through frames, popups and alerts with sessions of 12 requests (a form takes 13 with its sign-in): each key saved once, refusals rejected with their text sealed, no canary in clear`, async () => {
    app = await startLegacyFrames({ sessionRequests: 12 });
    const items = Array.from({ length: COUNT }, (_, i) => submission(i));
    // Four refusals spread over the run (at 7, 21, 33 and 40 of 50).
    const [postcodeAt, notPostcodeAt, vrmAt, lorryAt] = [7, 21, 33, 40].map((i) => Math.floor((i * COUNT) / 50)) as [number, number, number, number];
    const badPostcode = `QQ${canary()}`;
    items[postcodeAt] = submission(postcodeAt, { postcode: badPostcode });
    items[notPostcodeAt] = submission(notPostcodeAt, { postcode: 'NOT A POSTCODE' });
    items[vrmAt] = submission(vrmAt, { vrm: 'xx00 xxx' });
    items[lorryAt] = submission(lorryAt, { permitType: 'Lorry' });
    const t = target(config());
    const r = await pass(t, items);
    await t.close();
    expect(r).toMatchObject({ read: COUNT, delivered: COUNT - 4, rejected: 4, dead: 0 });

    const rows = await saved();
    const perKey = new Map<string, number>();
    for (const p of rows) perKey.set(p.extRef, (perKey.get(p.extRef) ?? 0) + 1);
    const keyAt = (i: number) => `WEB-${1000 + i}`;
    const refused = [postcodeAt, notPostcodeAt, vrmAt, lorryAt].map(keyAt);
    for (const item of items) {
      const key = String(item.ref);
      const row = await ledger.get(PIPELINE, key);
      if (refused.includes(key)) {
        expect(perKey.get(key), key).toBeUndefined();
        expect(row?.state, key).toBe('rejected');
        continue;
      }
      expect([key, perKey.get(key)]).toEqual([key, 1]);
      expect(row?.state, key).toBe('delivered');
      const p = rows.find((x) => x.extRef === key)!;
      expect(row?.legacyRef).toBe(p.ref);
      const i = Number(key.slice(4)) - 1000;
      expect(p, key).toMatchObject({ surname: String(item.surname).toUpperCase(), vrm: String(item.vrm).replace(/\s+/g, '').toUpperCase(), permitType: String(item.permitType)[0], blueBadge: [true, false, true, false][i % 4], zone: item.zone });
      expect(p.uprn, 'the address came from the lookup popup').not.toBe('');
    }
    expect(rows).toHaveLength(COUNT - 4);
    expect(app.store.expiries.length, 'sessions ran out').toBeGreaterThan(5);
    expect(new Set(app.store.expiries).size, `expired in several places: ${[...new Set(app.store.expiries)].join(', ')}`).toBeGreaterThan(1);

    const bad = await ledger.get(PIPELINE, keyAt(postcodeAt));
    expect(bad?.lastError).toMatchObject({ code: 'BROWSER_REJECTED', textHash: expect.stringMatching(/^hmac:/) as string });
    expect(bad?.lastError?.message).toMatch(/^the legacy app refused the record in an alert dialog \(evidence: /);
    expect((await ledger.legacyText(PIPELINE, keyAt(postcodeAt)))?.text).toBe(`Postcode ${badPostcode} is not a valid postcode`);
    expect((await ledger.legacyText(PIPELINE, keyAt(vrmAt)))?.text).toBe('Vehicle XX00XXX is not eligible: it is registered outside the borough');
    const lorry = await ledger.get(PIPELINE, keyAt(lorryAt));
    expect(lorry?.lastError).toMatchObject({ code: 'BROWSER_STEP', disposition: 'reject', message: expect.stringMatching(/^no radio button of group "PTYPE" has the record's value or label/) as string });

    for (const value of [badPostcode, 'XX00XXX', ...items.map((x) => String(x.surname))]) {
      expect(filesHolding(dir, value), value).toEqual([]);
      expect(lines.join('').includes(value), value).toBe(false);
    }
  }, 120_000 + COUNT * 20_000);

  it('ends the attempt on a dialog no rule expects, keeping its text sealed in the error and the evidence; saves nothing', async () => {
    app = await startLegacyFrames();
    const t = target(config({ contexts: 1, dialogs: DIALOGS.slice(1) }));
    const r = await pass(t, [submission(1)], 1);
    await t.close();
    expect(r).toMatchObject({ dead: 1, delivered: 0 });
    expect(await saved()).toEqual([]);
    const row = await ledger.get(PIPELINE, 'WEB-1001');
    expect(row?.lastError).toMatchObject({ code: 'BROWSER_DIALOG', disposition: 'retry', textHash: expect.stringMatching(/^hmac:/) as string });
    expect(row?.lastError?.message).toMatch(/^an unexpected confirm dialog ended the attempt \(no dialogs: rule matched it\) \(evidence: [^,]+\.dialog\.json\.sealed, [^,)]+\.png\.sealed/);
    expect((await ledger.legacyText(PIPELINE, 'WEB-1001'))?.text).toBe('Save the application for vehicle AB11 CDE?');
    const file = /evidence: ([^,]+\.dialog\.json\.sealed)/.exec(row!.lastError!.message)![1]!;
    expect(readFileSync(file).includes(Buffer.from('AB11 CDE'))).toBe(false);
    expect(JSON.parse((await ledger.sealedFiles(PIPELINE).read(file)).toString('utf8'))).toEqual({ type: 'confirm', text: 'Save the application for vehicle AB11 CDE?' });
  }, 120_000);

  it('stops after login.budget sign-ins in one form; retries when a dialog rule says so', async () => {
    app = await startLegacyFrames({ sessionRequests: 6 });
    const t = target(config({ contexts: 1, dialogs: [...DIALOGS.slice(1), { on: 'confirm', then: 'retry' }] }, { budget: 2 }));
    expect(await pass(t, [submission(2)], 1)).toMatchObject({ dead: 1 });
    const row = await ledger.get(PIPELINE, 'WEB-1002');
    expect(row?.lastError?.code, 'six requests: a sign-in and the probe leave too few for a page').toBe('BROWSER_SESSION');
    expect(row?.lastError?.message).toMatch(/^the session expired again after 2 sign-ins in this form \(login\.budget 2\)/);
    expect(app.store.logins).toHaveLength(3);
    app.settings.sessionRequests = 100;
    app.store.sessions.clear();
    expect(await pass(t, [submission(5)], 2)).toMatchObject({ dead: 1 });
    await t.close();
    expect(await ledger.get(PIPELINE, 'WEB-1005')).toMatchObject({ attempts: 2, lastError: { code: 'BROWSER_DIALOG', message: expect.stringMatching(/^a confirm dialog asked for the record to be tried again/) as string } });
    expect(await saved()).toEqual([]);
  }, 120_000);

  it('confirms a read-back only after the normalisers: the app stores a registration without spaces', async () => {
    app = await startLegacyFrames();
    const readBack = (normalise: boolean): BrowserConfig['readBack'] => ({
      goto: '/permit/view/{{ref}}',
      fields: { VRM: { selector: '#v-vrm', ...(normalise && { normalise: ['upper', { replace: { pattern: '\\s+', with: '' } }] }) }, SURNAME: { selector: '#v-surname', normalise: ['upper'] } },
    });
    const plain = target(config({ contexts: 1, readBack: readBack(false) }));
    await pass(plain, [submission(3)]);
    await plain.close();
    const normalised = target(config({ contexts: 1, readBack: readBack(true) }));
    await pass(normalised, [submission(4)]);
    await normalised.close();
    expect(await ledger.get(PIPELINE, 'WEB-1003')).toMatchObject({ state: 'delivered', confirmed: false });
    expect(await ledger.get(PIPELINE, 'WEB-1004')).toMatchObject({ state: 'delivered', confirmed: true });
    expect((await saved()).map((p) => p.vrm)).toEqual(['AB13CDE', 'AB14CDE']);
  }, 120_000);

  it('reports bad dialog rules, radio groups and normalisers when the target is set up', () => {
    app = undefined as unknown as LegacyFrames;
    const c = config({
      dialogs: [{ match: '(', then: 'reject' }, { then: 'dismiss', answer: 'x' }],
      steps: [{ radio: { value: '{{PTYPE}}' } }, { frame: { steps: [{ page: 'inner' }] } }],
      readBack: { goto: '/x', fields: { VRM: { selector: '#v', normalise: ['nosuch'] } } },
    });
    c.baseUrl = 'http://127.0.0.1:1';
    expect(() => target(c)).toThrow(
      expect.objectContaining({
        problems: [
          'steps[0].radio: give the group by either name or selector',
          'steps[1].frame: give the frame by either name or selector',
          'steps[1].frame.steps[0].page: a page starts only at the top level of the form\'s steps',
          'login.resume: page needs page steps marking where each page of the form starts',
          'dialogs[0].match: Invalid regular expression: /(/: Unterminated group',
          'dialogs[1].answer: only a rule that accepts answers a prompt',
          'readBack.fields.VRM.normalise[0] unknown transform "nosuch"',
        ],
      }) as Error,
    );
  });
});
