/**
 * Step kinds the example pipeline does not use (check, press, screenshot,
 * waitFor by URL and by text, upload of a file by path), in real Chromium
 * against the legacy app through runPass and the ledger; and the pool sized
 * by the pipeline's `limits.concurrency` when `contexts` is not set.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { root } from '../../runner/cli.test-helpers.js';
import { loadPipelineFile } from '../../runner/pipeline-files.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { exportRows } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import type { BrowserConfig, Step } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const chromium = findChromium();
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/browser-change-of-address.yaml');
const example = () => (parse(readFileSync(PIPELINE, 'utf8')) as { target: { config: BrowserConfig } }).target.config;

/** The example's steps with a ticked box, a wait for the address page's URL, an upload by path, then a search by Enter and a screenshot. */
function steps(): Step[] {
  const out: Step[] = [];
  for (const s of example().steps) {
    if ('upload' in s) out.push({ upload: { label: 'Supporting document', path: 'docs/{{WEB_REF}}.txt' } });
    else out.push(s);
    if ('fill' in s && s.fill.label === 'Email') out.push({ check: { label: 'Correspondence in Welsh' } });
    if ('expect' in s && s.expect.success === '#address-frame') out.push({ waitFor: { url: '/cases/new/address' } });
  }
  out.push(
    { goto: '/search' },
    { fill: { label: 'Driving licence number', value: '{{DRIVER_NO}}' } },
    { press: { label: 'Driving licence number', key: 'Enter' } },
    { waitFor: { url: 'licence={{DRIVER_NO}}', text: '{{ref}}' } },
    { screenshot: { name: '{{WEB_REF}}-found' } },
  );
  return out;
}

describe.skipIf(!chromium)(`browser step kinds in Chromium${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let mapping: CompiledMapping;
  let app: LegacyApp;
  let store: StateStore;
  let dir: string;

  beforeAll(async () => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    dir = mkdtempSync(join(tmpdir(), 'rekey-browser-steps-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    app = await startLegacyApp();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('ticks a box, waits for a URL and a text, uploads a file by path, presses Enter, takes a screenshot; three contexts from limits.concurrency', async () => {
    const items = exportRows(root, (b) => mapping.map(b).ok).slice(0, 3);
    const records = items.map((b) => mapping.map(b).record);
    mkdirSync(join(dir, 'docs'));
    for (const r of records) writeFileSync(join(dir, 'docs', `${String(r.WEB_REF)}.txt`), `Proof of address for ${String(r.WEB_REF)}\n`);
    const cfg = example();
    const config: BrowserConfig = { ...cfg, contexts: undefined, readBack: undefined, steps: steps(), baseUrl: app.url, login: { ...cfg.login!, username: DEFAULT_USER.username, password: DEFAULT_USER.password }, evidence: { folder: 'evidence' }, stepTimeoutMs: 10_000 };
    const target = new BrowserTarget(config, { baseDir: dir, pipeline: 'browser-steps', concurrency: 3, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
    expect(target.pool.size).toBe(3);
    const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    const r = await runPass(testPipeline(arraySource(items), target, { name: 'browser-steps', mapping, targetName: 'browser', batchSize: 3, maxAttempts: 1 }), ledger, testOptions());
    expect(r).toMatchObject({ read: 3, delivered: 3, failed: 0, rejected: 0, dead: 0 });
    expect(app.store.logins).toHaveLength(3);
    expect(app.store.cases).toHaveLength(3);
    for (const rec of records) {
      const c = app.store.cases.find((x) => x.licenceNo === rec.DRIVER_NO)!;
      const bytes = readFileSync(join(dir, 'docs', `${String(rec.WEB_REF)}.txt`));
      expect(c).toMatchObject({ welsh: true, document: { name: `${String(rec.WEB_REF)}.txt`, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } });
      const shot = join(dir, 'evidence', `${String(rec.WEB_REF)}-found.png.sealed`);
      expect(readFileSync(shot).subarray(0, 4).toString('latin1')).not.toBe('\x89PNG');
      expect((await ledger.sealedFiles('browser-steps').read(shot)).subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    }
  }, 90_000);
});

describe('browser target pool size', () => {
  it('is the pipeline\'s limits.concurrency when contexts is not set, else contexts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-browser-pool-'));
    const text = readFileSync(PIPELINE, 'utf8').replace('limits: { concurrency: 1 }', 'limits: { concurrency: 3 }').replace('mapping: ../mappings/', `mapping: ${join(root, 'examples/mappings')}/`).replace('path: ../../fixtures/', `path: ${join(root, 'fixtures')}/`);
    writeFileSync(join(dir, 'with-contexts.yaml'), text);
    writeFileSync(join(dir, 'without.yaml'), text.replace(/^ {4}contexts: 2\n/m, ''));
    const env = { DCS_URL: 'http://127.0.0.1:4180', DCS_USER: 'clerk', DCS_PASSWORD: 'secret' };
    const withContexts = await loadPipelineFile(join(dir, 'with-contexts.yaml'), { env });
    const without = await loadPipelineFile(join(dir, 'without.yaml'), { env });
    expect([withContexts.problems, without.problems]).toEqual([[], []]);
    expect((withContexts.pipeline!.target as BrowserTarget).pool.size).toBe(2);
    expect((without.pipeline!.target as BrowserTarget).pool.size).toBe(3);
  });
});
