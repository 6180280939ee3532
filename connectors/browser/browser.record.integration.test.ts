/**
 * `rekey record` in real headless Chromium against the legacy app fixture,
 * the test playing the clerk in the very page the recorder watches: it
 * keys one submission by hand (selects, typed text, a frame, the finder
 * popup, an upload, the confirm dialog), the recorder writes the steps,
 * and the steps are checked (labels and roles, `{{FIELD}}` templates, no
 * citizen value in anything written), validated by `rekey validate` and
 * run by `rekey run` (real processes) to key 6 submissions, one from
 * each export row with every optional field (50 in the long form, `npm run
 * test:long`), the recorded one among them, into a fresh copy of the app:
 * each exactly once. Then a
 * frameset of the test's own (a form in a named frame, a field with no
 * label, a confirm answered by the recorder) is recorded and replayed; and
 * recorded again in a headed Chromium (on the machine's display, else an
 * Xvfb of the test's own) with two different prompts, which the recorder
 * tells apart by their words.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Step } from './browser.config.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { rekey, root, TEST_PII_KEY_HEX } from '../../runner/cli.test-helpers.js';
import { recordSteps, pipelineWithSteps } from '../../runner/commands/record.command.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { exportRows, manySubmissions } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import { findChromium } from './chromium.js';
import { replayRecorded } from './browser.record.test-helpers.js';
import { noDisplay, openDisplay } from './display.test-helpers.js';
import { textsOf } from './browser.record.values.js';
import { sized } from '../../lib/test-tier.test-helpers.js';

const chromium = findChromium();
/** Why the headed recording cannot run here, or undefined. */
const noHeaded = findChromium(undefined, true) ? noDisplay() : 'no Chromium that can show a window (Debian\'s chromium)';
/**
 * Submissions the recorded steps key: 6 in the bounded run (the export has
 * six rows with every optional field, so each is keyed once), 50 in the
 * long form; REKEY_RECORD_SUBMISSIONS overrides.
 */
const COUNT = sized(6, 50, process.env.REKEY_RECORD_SUBMISSIONS);
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const EXAMPLE = join(root, 'examples/pipelines/browser-change-of-address.yaml');

/** Every file under `dir`, with its bytes. */
function filesUnder(dir: string): [string, Buffer][] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => [f, readFileSync(f)]);
}

describe.skipIf(!chromium)(`rekey record${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let app: LegacyApp;
  let mapping: CompiledMapping;
  let dir: string;
  let pipeline: string;
  let subs: ReturnType<typeof manySubmissions>;
  const saved = { ...process.env };

  beforeAll(async () => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    app = await startLegacyApp();
    dir = mkdtempSync(join(tmpdir(), 'rekey-record-'));
    const rows = exportRows(root, (b) => {
      const r = mapping.map(b);
      return r.ok && Boolean(r.record.ADDR_2) && Boolean(r.record.EMAIL) && Boolean(r.record.TITLE);
    });
    subs = manySubmissions(rows, COUNT);
    writeFileSync(join(dir, 'submissions.ndjson'), subs.map((s) => JSON.stringify(s)).join('\n') + '\n');
    writeFileSync(join(dir, 'one.json'), JSON.stringify(subs[0]));
    const def = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, Record<string, unknown>>;
    def.mapping = MAPPING as never;
    def.source = { kind: 'file', config: { path: join(dir, 'submissions.ndjson') } };
    Object.assign(def.target!.config as object, { evidence: { folder: join(dir, 'evidence') }, stepTimeoutMs: 8000 });
    pipeline = join(dir, 'pipeline.yaml');
    writeFileSync(pipeline, stringify(def));
    Object.assign(process.env, { DCS_URL: app.url, DCS_USER: DEFAULT_USER.username, DCS_PASSWORD: DEFAULT_USER.password, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    process.env = saved;
    await app?.close();
  });

  it(`records a clerk keying one form, and the steps validate and key ${COUNT} submissions once each`, async () => {
    const rec = mapping.map(subs[0]).record as Record<string, string>;
    const recorded = await recordSteps(pipeline, { submission: join(dir, 'one.json'), until: '#case-ref', regex: '^(DCS-\\d+)$', headed: false }, async (r) => {
      const p = r.page;
      await p.getByLabel('Title').selectOption(rec.TITLE!);
      await p.getByLabel('Forenames').click();
      await p.getByLabel('Forenames').pressSequentially(rec.FORENAMES!);
      await p.keyboard.press('Tab');
      await p.getByLabel('Surname').fill(rec.SURNAME!);
      await p.getByLabel('Driving licence number').fill(rec.DRIVER_NO!);
      await p.getByLabel('Day of birth').selectOption(rec.DOB_DAY!);
      await p.getByLabel('Month of birth').selectOption(rec.DOB_MONTH!);
      await p.getByLabel('Year of birth').selectOption(rec.DOB_YEAR!);
      await p.getByLabel('Email').fill(rec.EMAIL!);
      await p.getByRole('button', { name: 'Continue' }).click();
      const frame = p.frameLocator('#address-frame');
      await frame.getByLabel('Address line 1').fill(rec.ADDR_1!);
      await frame.getByLabel('Address line 2').fill(rec.ADDR_2!);
      await frame.getByLabel('Town').fill(rec.TOWN!);
      await frame.getByLabel('Postcode').fill(rec.POSTCODE!);
      const opened = p.waitForEvent('popup');
      await frame.getByRole('button', { name: 'Find address' }).click();
      const finder = await opened;
      // The finder closes itself from its button's click handler; Playwright may then report the
      // page closed while it finishes the click, as the connector's own popup step allows for.
      await finder.getByRole('button').first().click().catch((e: unknown) => {
        if (!finder.isClosed()) throw e;
      });
      await frame.getByText('Address confirmed').waitFor();
      await frame.getByRole('button', { name: 'Continue' }).click();
      await p.getByLabel('Supporting document').setInputFiles({ name: `${rec.WEB_REF}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`Change of address ${rec.WEB_REF}`) });
      await p.getByRole('button', { name: 'Continue' }).click();
      p.once('dialog', (d) => void d.accept());
      await p.getByRole('button', { name: 'Save case' }).click();
    });

    expect(app.store.cases).toHaveLength(1);
    expect(recorded.withheld).toBe(0);
    expect(recorded.steps).toEqual([
      { goto: '/cases/new?fresh=1' },
      { select: { label: 'Title', value: '{{TITLE}}', skipEmpty: true } },
      { fill: { label: 'Forenames', value: '{{FORENAMES}}' } },
      { fill: { label: 'Surname', value: '{{SURNAME}}' } },
      { fill: { label: 'Driving licence number', value: '{{DRIVER_NO}}' } },
      { select: { label: 'Day of birth', value: '{{DOB_DAY}}' } },
      { select: { label: 'Month of birth', value: '{{DOB_MONTH}}' } },
      { select: { label: 'Year of birth', value: '{{DOB_YEAR}}' } },
      { fill: { label: 'Email', value: '{{EMAIL}}', skipEmpty: true } },
      { click: { role: 'button', text: 'Continue' } },
      {
        frame: {
          selector: '#address-frame',
          steps: [
            { fill: { label: 'Address line 1', value: '{{ADDR_1}}' } },
            { fill: { label: 'Address line 2', value: '{{ADDR_2}}', skipEmpty: true } },
            { fill: { label: 'Town', value: '{{TOWN}}' } },
            { fill: { label: 'Postcode', value: '{{POSTCODE}}' } },
            { popup: { open: { role: 'button', text: 'Find address' }, steps: [{ click: { role: 'button', text: 'Select {{POSTCODE}} (all addresses)' } }] } },
            { click: { role: 'button', text: 'Continue' } },
          ],
        },
      },
      { upload: { label: 'Supporting document', content: 'Change of address {{WEB_REF}}', fileName: '{{WEB_REF}}.txt' } },
      { click: { role: 'button', text: 'Continue' } },
      { dialog: 'accept' },
      { click: { role: 'button', text: 'Save case' } },
      { capture: { selector: '#case-ref', regex: '^(DCS-\\d+)$' } },
    ]);

    const out = join(dir, 'pipeline.recorded.yaml');
    writeFileSync(join(dir, 'steps.yaml'), recorded.yaml);
    writeFileSync(out, await pipelineWithSteps(pipeline, recorded.steps));
    const canaries = [...new Set(Object.entries(rec).filter(([f]) => mapping.piiFields.has(f)).map(([, v]) => String(v)).concat(textsOf(subs[0]).filter((t) => t.length >= 4 && !/\?$/.test(t) && !/^[a-z_]+$/i.test(t))))];
    const written = [recorded.yaml, recorded.notes.join('\n'), ...filesUnder(dir).filter(([f]) => !/submissions\.ndjson$|one\.json$/.test(f)).map(([, b]) => b.toString('latin1'))];
    for (const c of canaries) for (const w of written) expect(w.includes(c), `a citizen value is written in clear`).toBe(false);

    const valid = await rekey(['validate', out]);
    expect(valid.code, valid.stdout + valid.stderr).toBe(0);

    const fresh = await startLegacyApp();
    try {
      const state = `sqlite:${join(dir, 'state.sqlite')}`;
      const run = await rekey(['run', '--json', '--state', state, out], root, { DCS_URL: fresh.url });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ read: COUNT, delivered: COUNT, failed: 0, dead: 0, rejected: 0 });
      const perKey = new Map<string, number>();
      for (const c of fresh.store.cases) perKey.set(c.document!.name, (perKey.get(c.document!.name) ?? 0) + 1);
      expect(perKey.size).toBe(COUNT);
      expect([...perKey.values()].every((n) => n === 1)).toBe(true);
      for (const s of subs) {
        const m = mapping.map(s).record;
        const c = fresh.store.cases.find((x) => x.document?.name === `${String(m.WEB_REF)}.txt`);
        expect(c, String(m.WEB_REF)).toMatchObject({ title: m.TITLE, forenames: m.FORENAMES, surname: m.SURNAME, licenceNo: m.DRIVER_NO, email: m.EMAIL, address1: m.ADDR_1, address2: m.ADDR_2, town: m.TOWN, postcode: m.POSTCODE });
      }
      const { ref: _r, createdAt: _c, ...byClerk } = app.store.cases[0]!;
      const { ref: _r2, createdAt: _c2, ...byRekey } = fresh.store.cases.find((x) => x.document?.name === `${rec.WEB_REF}.txt`)!;
      expect(byRekey).toEqual(byClerk);
    } finally {
      await fresh.close();
    }
  }, 180_000 + COUNT * 12_000);

  it('records inside a frameset: the frame by name, a field without a label by name, a confirm the recorder answers; the steps replay', async () => {
    const { server, posted, base } = await framesetApp(`<form method="post" action="/save" onsubmit="return confirm('Sure?')"><table><tr><td>Licence</td><td><input name="drv"></td></tr>
<tr><td><label for="sn">Surname</label></td><td><input id="sn" name="sn"></td></tr><tr><td>Office</td><td><input name="office"></td></tr></table><input type="submit" value="Store"></form>`);
    try {
      const rec = mapping.map(subs[1]).record as Record<string, string>;
      const recorded = await recordSteps(pipeline, { submission: join(dir, 'submissions.ndjson'), record: 2, start: `${base}/`, headed: false, dialogs: 'accept', literal: ['DVLA SWANSEA'] }, async (r) => {
        const main = r.page.frameLocator('frame[name="main"]');
        await main.locator('input[name="drv"]').fill(rec.DRIVER_NO!);
        await main.getByLabel('Surname').fill(rec.SURNAME!);
        await main.locator('input[name="office"]').fill('DVLA SWANSEA');
        await main.getByRole('button', { name: 'Store' }).click();
        await main.locator('#ref').waitFor();
        r.stop();
      });
      expect(posted).toHaveLength(1);
      expect(recorded.steps).toEqual([
        { goto: `${base}/` },
        {
          frame: {
            selector: 'frame[name="main"]',
            steps: [
              { fill: { name: 'drv', value: '{{DRIVER_NO}}' } },
              { fill: { label: 'Surname', value: '{{SURNAME}}' } },
              { fill: { name: 'office', value: 'DVLA SWANSEA' } },
              { dialog: 'accept' },
              { click: { role: 'button', text: 'Store' } },
            ],
          },
        },
      ]);
      for (const v of [rec.DRIVER_NO!, rec.SURNAME!]) expect(recorded.yaml.includes(v)).toBe(false);

      await replayRecorded(withRefShown(recorded.steps), recorded.dialogs, mapping.map(subs[2]).record, base, dir);
      expect(posted).toHaveLength(2);
      expect(Object.fromEntries(posted[1]!)).toEqual({ drv: mapping.map(subs[2]).record.DRIVER_NO, sn: mapping.map(subs[2]).record.SURNAME, office: 'DVLA SWANSEA' });
    } finally {
      server.close();
    }
  }, 120_000);
  it.skipIf(noHeaded)(`records in a headed Chromium${noHeaded ? ` (skipped: ${noHeaded})` : ''}: two prompts told apart by their words, each answered by its own rule on replay`, async () => {
    const { server, posted, base } = await framesetApp(`<form method="post" action="/save" onsubmit="return confirm('Store this case?')"><table><tr><td>Surname</td><td><input name="sn"></td></tr></table>
<input type="hidden" name="drv"><input type="hidden" name="office">
<button type="button" onclick="var v = prompt('Licence number as printed on the card?'); if (v !== null) this.form.drv.value = v">Add licence</button>
<button type="button" onclick="var v = prompt('Office that handles ' + this.form.sn.value + ', in capitals?'); if (v !== null) this.form.office.value = v">Add office</button>
<input type="submit" value="Store"></form>`);
    const display = await openDisplay();
    try {
      process.env.DISPLAY = display.display;
      const rec = mapping.map(subs[1]).record as Record<string, string>;
      let agent = '';
      const recorded = await recordSteps(pipeline, { submission: join(dir, 'submissions.ndjson'), record: 2, start: `${base}/`, literal: ['DVLA SWANSEA'] }, async (r) => {
        agent = await r.page.evaluate(() => navigator.userAgent);
        const answers = [rec.DRIVER_NO!, 'DVLA SWANSEA'];
        r.page.on('dialog', (d) => void (d.type() === 'prompt' ? d.accept(answers.shift()) : d.accept()));
        const main = r.page.frameLocator('frame[name="main"]');
        await main.locator('input[name="sn"]').fill(rec.SURNAME!);
        await main.getByRole('button', { name: 'Add licence' }).click();
        await main.getByRole('button', { name: 'Add office' }).click();
        await main.getByRole('button', { name: 'Store' }).click();
        await main.locator('#ref').waitFor();
        r.stop();
      });
      delete process.env.DISPLAY;
      expect(agent).toContain('Chrome/');
      expect(agent, 'the recording browser is headed').not.toContain('Headless');
      expect(Object.fromEntries(posted[0]!)).toEqual({ sn: rec.SURNAME, drv: rec.DRIVER_NO, office: 'DVLA SWANSEA' });
      expect(recorded.dialogs).toEqual([
        { on: 'prompt', text: 'Licence number as printed on the card', then: 'accept', answer: '{{DRIVER_NO}}' },
        { on: 'prompt', text: 'Office that handles', then: 'accept', answer: 'DVLA SWANSEA' },
      ]);
      expect(recorded.steps).toEqual([
        { goto: `${base}/` },
        {
          frame: {
            selector: 'frame[name="main"]',
            steps: [
              { fill: { name: 'sn', value: '{{SURNAME}}' } },
              { click: { role: 'button', text: 'Add licence' } },
              { click: { role: 'button', text: 'Add office' } },
              { dialog: 'accept' },
              { click: { role: 'button', text: 'Store' } },
            ],
          },
        },
      ]);
      for (const v of [rec.DRIVER_NO!, rec.SURNAME!]) for (const w of [recorded.yaml, ...recorded.notes]) expect(w.includes(v), 'a citizen value is written in clear').toBe(false);

      await replayRecorded(withRefShown(recorded.steps), recorded.dialogs, mapping.map(subs[2]).record, base, dir);
      expect(Object.fromEntries(posted[1]!)).toEqual({ sn: mapping.map(subs[2]).record.SURNAME, drv: mapping.map(subs[2]).record.DRIVER_NO, office: 'DVLA SWANSEA' });
    } finally {
      delete process.env.DISPLAY;
      server.close();
      await display.close();
    }
  }, 120_000);
});

/** `steps`, then a wait in the main frame for the reference the frameset app shows once it has saved. */
function withRefShown(steps: Step[]): Step[] {
  return [...steps, { frame: { selector: 'frame[name="main"]', steps: [{ waitFor: { selector: '#ref' } }] } }];
}

/** A frameset of the test's own: a menu frame and `form` (a form's HTML) in the frame named main; a post to /save is kept in `posted` and answered with a reference in `#ref`. */
async function framesetApp(form: string): Promise<{ server: Server; posted: URLSearchParams[]; base: string }> {
  const posted: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const html = (b: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Old</title></head>${b}</html>`);
    if (req.url === '/') return html('<frameset cols="20%,80%"><frame name="nav" src="/nav"><frame name="main" src="/form"></frameset>');
    if (req.url === '/nav') return html('<body><a href="/form" target="main">New</a></body>');
    if (req.url === '/form') return html(`<body>${form}</body>`);
    if (req.url === '/save') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(new URLSearchParams(body));
        html(`<body><p>Stored as <b id="ref">R-${posted.length}</b></p></body>`);
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, posted, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
