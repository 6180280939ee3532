/**
 * `rekey record` in real headless Chromium against the second legacy app
 * (fixtures/legacy-frames): the test plays the clerk in the page the
 * recorder watches, through the frameset (a link in the menu frame, the
 * form in the main frame, inputs known only by name), the lookup popup
 * and the confirm dialog before saving. The steps written are compared
 * step by step and scanned for every citizen value, validated by `rekey
 * validate`, and run by `rekey run` (a real process) to key 12 (50 in the
 * long form) submissions into a fresh copy of the app, each exactly once; nothing
 * rekey wrote (steps, state store, evidence, its output and log) holds a
 * submission's canary values. Then a page of the test's own raising a
 * prompt and a beforeunload dialog is recorded, and the steps and the
 * prompt's dialogs rule replay it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { rekey, root, TEST_PII_KEY_HEX } from '../../runner/cli.test-helpers.js';
import { pipelineWithSteps, recordSteps } from '../../runner/commands/record.command.js';
import { FRAMES_USER, startLegacyFrames, type LegacyFrames } from '../../fixtures/legacy-frames/legacy-frames.js';
import { filesHolding, FRAMES_MAPPING, framesCanary, framesConfig, framesSubmission, perReference } from './browser.frames.test-helpers.js';
import { findChromium } from './chromium.js';
import { replayRecorded } from './browser.record.test-helpers.js';
import { sized } from '../../lib/test-tier.test-helpers.js';

const chromium = findChromium();
/** Submissions the recorded steps key: 12 in the bounded run, 50 in the long form; REKEY_RECORD_SUBMISSIONS overrides. */
const COUNT = sized(12, 50, process.env.REKEY_RECORD_SUBMISSIONS);

describe.skipIf(!chromium)(`rekey record in a frameset app${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let app: LegacyFrames;
  let mapping: CompiledMapping;
  let dir: string;
  let pipeline: string;
  let subs: Record<string, unknown>[];
  const saved = { ...process.env };

  beforeAll(async () => {
    mapping = loadMapping('permits.yaml', FRAMES_MAPPING).compiled!;
    app = await startLegacyFrames();
    dir = mkdtempSync(join(tmpdir(), 'rekey-record-frames-'));
    // The clerk ticks "Resident" and "Blue badge holder", as every submission asks.
    subs = Array.from({ length: COUNT }, (_, i) => framesSubmission(i, { forenames: framesCanary(), permitType: 'Resident', blueBadge: true }));
    writeFileSync(join(dir, 'permits.yaml'), FRAMES_MAPPING);
    writeFileSync(join(dir, 'submissions.ndjson'), subs.map((s) => JSON.stringify(s)).join('\n') + '\n');
    writeFileSync(join(dir, 'one.json'), JSON.stringify(subs[0]));
    const { login, probe, dialogs: _d, steps: _s, evidence: _e, baseUrl: _b, ...rest } = framesConfig(app.url, dir);
    const def = {
      pipeline: 'permits-recorded',
      mapping: './permits.yaml',
      source: { kind: 'file', config: { path: './submissions.ndjson' } },
      target: {
        kind: 'browser',
        config: { ...rest, stepTimeoutMs: 8000, baseUrl: { env: 'BPS_URL' }, evidence: { folder: './evidence' }, login: { ...login, resume: 'form', username: { env: 'BPS_USER' }, password: { env: 'BPS_PASSWORD' } }, probe, steps: [{ goto: '/' }] },
      },
    };
    pipeline = join(dir, 'pipeline.yaml');
    writeFileSync(pipeline, stringify(def));
    Object.assign(process.env, { BPS_URL: app.url, BPS_USER: FRAMES_USER.username, BPS_PASSWORD: FRAMES_USER.password, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    process.env = saved;
    await app?.close();
  });

  it(`records a clerk keying one permit through frames, a popup and a confirm; the steps validate and key ${COUNT} submissions once each`, async () => {
    const rec = mapping.map(subs[0]).record as Record<string, string>;
    const recorded = await recordSteps(pipeline, { submission: join(dir, 'one.json'), until: '#caseref', headed: false, dialogs: 'accept' }, async (r) => {
      const nav = r.page.frameLocator('frame[name="nav"]');
      const main = r.page.frameLocator('frame[name="main"]');
      await nav.getByRole('link', { name: 'New application' }).click();
      await main.locator('input[name=EXTREF]').fill(rec.REF!);
      await main.locator('input[name=APPSNM]').fill(rec.SURNAME!);
      await main.locator('input[name=APPFNM]').fill(rec.FORENAMES!);
      await main.locator('input[name=APPPC]').fill(rec.POSTCODE!);
      const opened = r.page.waitForEvent('popup');
      await main.getByRole('button', { name: 'Lookup' }).click();
      const lookup = await opened;
      // The lookup closes itself from its button's click handler; Playwright may then report the
      // page closed while it finishes the click, as the connector's own popup step allows for.
      await lookup.getByRole('button', { name: 'Use' }).first().click().catch((e: unknown) => {
        if (!lookup.isClosed()) throw e;
      });
      await expect.poll(() => main.locator('input[name=ADDR1]').inputValue()).not.toBe('');
      await main.getByRole('button', { name: 'Next >' }).click();
      await main.locator('input[name=VRM]').fill(rec.VRM!);
      await main.getByLabel('Resident').check();
      await main.getByLabel('Blue badge holder').check();
      await main.locator('select[name=ZONE]').selectOption(rec.ZONE!);
      await main.getByRole('button', { name: 'Save' }).click();
    });
    expect(app.store.permits.map((p) => p.extRef)).toEqual([rec.REF]);
    expect(recorded.withheld).toBe(0);
    const main = recorded.steps[2] as { frame: { steps: unknown[] } };
    expect(recorded.steps.slice(0, 2)).toEqual([{ goto: '/' }, { frame: { selector: 'frame[name="nav"]', steps: [{ click: { role: 'link', text: 'New application' } }] } }]);
    expect(main.frame).toMatchObject({ selector: 'frame[name="main"]' });
    expect(main.frame.steps).toEqual([
      { fill: { name: 'EXTREF', value: '{{REF}}' } },
      { fill: { name: 'APPSNM', value: '{{SURNAME}}' } },
      { fill: { name: 'APPFNM', value: '{{FORENAMES}}', skipEmpty: true } },
      { fill: { name: 'APPPC', value: '{{POSTCODE}}' } },
      { popup: { open: { role: 'button', text: 'Lookup' }, steps: [{ click: { selector: 'body > font > table > tbody > tr:nth-of-type(1) > td:nth-of-type(2) > input' } }] } },
      { click: { role: 'button', text: 'Next >' } },
      { fill: { name: 'VRM', value: '{{VRM}}' } },
      { check: { label: '{{PTYPE}}' } },
      { check: { label: 'Blue badge holder' } },
      { select: { name: 'ZONE', value: '{{ZONE}}', skipEmpty: true } },
      { dialog: 'accept' },
      { click: { role: 'button', text: 'Save' } },
      { capture: { selector: '#caseref' } },
    ]);
    expect(recorded.steps).toHaveLength(3);

    const out = join(dir, 'pipeline.recorded.yaml');
    writeFileSync(join(dir, 'steps.yaml'), recorded.yaml);
    writeFileSync(out, await pipelineWithSteps(pipeline, recorded.steps));
    const valid = await rekey(['validate', out]);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);

    const fresh = await startLegacyFrames();
    let output: string;
    try {
      const run = await rekey(['run', '--json', '--state', `sqlite:${join(dir, 'state.sqlite')}`, out], root, { BPS_URL: fresh.url });
      output = run.stdout + run.stderr;
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ read: COUNT, delivered: COUNT, failed: 0, dead: 0, rejected: 0 });
      const per = perReference(fresh.store.permits);
      expect(subs.map((s) => per.get(String(s.ref))), 'each submission keyed exactly once').toEqual(Array(COUNT).fill(1));
      for (const s of subs) {
        const m = mapping.map(s).record;
        expect(fresh.store.permits.find((p) => p.extRef === m.REF), String(m.REF)).toMatchObject({ surname: String(m.SURNAME).toUpperCase(), forenames: m.FORENAMES, vrm: String(m.VRM).replace(/\s+/g, ''), permitType: 'R', blueBadge: true, zone: m.ZONE, uprn: expect.stringMatching(/^\d+$/) as string });
      }
      const { ref: _a, ...byClerk } = app.store.permits[0]!;
      const { ref: _b, ...byRekey } = fresh.store.permits.find((p) => p.extRef === rec.REF)!;
      expect(byRekey).toEqual(byClerk);
    } finally {
      await fresh.close();
    }

    const canaries = subs.flatMap((s) => [String(s.surname), String(s.forenames), String(s.vrm)]);
    const inputs = [join(dir, 'submissions.ndjson'), join(dir, 'one.json')];
    for (const c of canaries) {
      for (const text of [c, c.toUpperCase(), c.replace(/\s+/g, '')]) {
        expect(filesHolding(dir, text).filter((f) => !inputs.includes(f)), `${text} in a file rekey wrote`).toEqual([]);
        expect(output.includes(text) || recorded.yaml.includes(text) || recorded.notes.join('\n').includes(text), `${text} in rekey's output`).toBe(false);
      }
    }
  }, 180_000 + COUNT * 12_000);

  it('records a prompt as a dialogs rule with its answer, and a beforeunload dialog as dialog: accept; both replay', async () => {
    const posted: URLSearchParams[] = [];
    const server = createServer((req, res) => {
      const html = (b: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Notes</title></head>${b}</html>`);
      if (req.url === '/') {
        return html(`<body><form method="post" action="/save"><input name="vrm"><input type="hidden" name="office" id="office">
<button type="button" onclick="document.getElementById('office').value = prompt('Office?', 'DVLA SWANSEA') || ''">Add office</button><button type="submit">Store</button></form>
<script>addEventListener('beforeunload', (e) => { e.preventDefault(); e.returnValue = ''; });</script></body>`);
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(new URLSearchParams(body));
        html(`<body><p>Stored as <b id="ref">N-${posted.length}</b></p></body>`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const rec = mapping.map(subs[1]).record as Record<string, string>;
      const recorded = await recordSteps(pipeline, { submission: join(dir, 'submissions.ndjson'), record: 2, start: `${base}/`, until: '#ref', headed: false, dialogs: 'accept', literal: ['DVLA SWANSEA'] }, async (r) => {
        await r.page.locator('input[name=vrm]').fill(rec.VRM!);
        await r.page.getByRole('button', { name: 'Add office' }).click();
        await r.page.getByRole('button', { name: 'Store' }).click();
      });
      expect(posted.map((p) => Object.fromEntries(p))).toEqual([{ vrm: rec.VRM, office: 'DVLA SWANSEA' }]);
      expect(recorded.dialogs).toEqual([{ on: 'prompt', then: 'accept', answer: 'DVLA SWANSEA' }]);
      expect(recorded.steps).toEqual([
        { goto: `${base}/` },
        { fill: { name: 'vrm', value: '{{VRM}}' } },
        { click: { role: 'button', text: 'Add office' } },
        { dialog: 'accept' },
        { click: { role: 'button', text: 'Store' } },
        { capture: { selector: '#ref' } },
      ]);
      expect(await pipelineWithSteps(pipeline, recorded.steps, recorded.dialogs)).toContain('answer: DVLA SWANSEA');

      await replayRecorded(recorded.steps, recorded.dialogs, mapping.map(subs[2]).record, base, dir);
      expect(posted.map((p) => Object.fromEntries(p))[1]).toEqual({ vrm: mapping.map(subs[2]).record.VRM, office: 'DVLA SWANSEA' });
    } finally {
      server.close();
    }
  }, 120_000);
});
