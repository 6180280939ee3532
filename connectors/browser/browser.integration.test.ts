/**
 * The browser target in real headless Chromium against the legacy app
 * fixture, through runPass and the ledger: the example pipeline's steps
 * (frame, popup, three selects, upload, confirm dialog, capture, probe,
 * read-back). Checks what the app stored, not what rekey says.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { root } from '../../runner/cli.test-helpers.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import type { BrowserConfig } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const chromium = findChromium();
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/browser-change-of-address.yaml');
const bodies = readFileSync(join(root, 'fixtures/submissions/govuk-forms/change-of-address.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

let mapping: CompiledMapping;
const valid = () => bodies.filter((b) => mapping.map(b).ok);
const withAnswer = (b: Record<string, unknown>, id: string, key: string, value: string) => {
  const copy = structuredClone(b) as { answers: Record<string, unknown>[]; form_name?: unknown; submission_reference?: unknown };
  const a = copy.answers.find((x) => x.question_id === id)!;
  a[key] = value;
  return copy;
};

let app: LegacyApp;
let store: StateStore;
let ledger: Ledger;
let evidence: string;
const targets: BrowserTarget[] = [];

function target(over: Partial<BrowserConfig> = {}): BrowserTarget {
  const cfg = (parse(readFileSync(PIPELINE, 'utf8')) as { target: { config: BrowserConfig } }).target.config;
  const config: BrowserConfig = { ...cfg, baseUrl: app.url, login: { ...cfg.login!, username: DEFAULT_USER.username, password: DEFAULT_USER.password }, evidence: { folder: evidence }, stepTimeoutMs: 5000, ...over };
  const t = new BrowserTarget(config, { baseDir: join(root, 'examples/pipelines'), pipeline: 'browser-test', mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
  targets.push(t);
  return t;
}
const pass = (t: BrowserTarget, items: unknown[]) => runPass(testPipeline(arraySource(items), t, { name: 'browser-test', mapping, targetName: 'browser', batchSize: 4, maxAttempts: 3, retryDelay: () => 50 }), ledger, testOptions());

describe.skipIf(!chromium)(`browser target in Chromium${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  beforeAll(() => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
  });
  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-browser-'));
    evidence = join(dir, 'evidence');
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    app = await startLegacyApp();
  });
  afterEach(async () => {
    await Promise.all(targets.splice(0).map((t) => t.close()));
    await app.close();
    await store.close();
  });
  afterAll(() => undefined);

  it('keys several records end to end over two contexts, each once, read back and confirmed', async () => {
    const items = valid().slice(0, 4);
    const r = await pass(target({ contexts: 2 }), items);
    expect(r).toMatchObject({ read: 4, delivered: 4, failed: 0, rejected: 0 });
    expect(app.store.cases).toHaveLength(4);
    const row = await ledger.get('browser-test', `${String(items[0]!.form_name)}/${String(items[0]!.submission_reference)}`);
    const keyed = app.store.cases.find((c) => c.ref === row?.legacyRef)!;
    const rec = mapping.map(items[0]).record;
    expect(keyed).toMatchObject({ surname: rec.SURNAME, licenceNo: rec.DRIVER_NO, postcode: rec.POSTCODE, dob: `${String(rec.DOB_DAY)}/${String(rec.DOB_MONTH)}/${String(rec.DOB_YEAR)}`, document: { name: `${String(rec.WEB_REF)}.txt` } });
    expect(row).toMatchObject({ state: 'delivered', confirmed: true });
    expect(app.store.logins).toHaveLength(2);
  }, 90_000);

  it('rejects a record the page refused with its own message (postcode unknown to the finder; the message kept sealed), never retried, and keys the rest', async () => {
    const [good, other] = valid();
    const bad = withAnswer(other!, 'Ad2pW6yJ', 'postcode', 'ZZ1 1ZZ');
    const r = await pass(target(), [good, bad]);
    expect(r).toMatchObject({ delivered: 1, rejected: 1, failed: 0 });
    const row = await ledger.get('browser-test', `${String(bad.form_name)}/${String(bad.submission_reference)}`);
    expect(row?.state).toBe('rejected');
    expect(row?.lastError?.code).toBe('BROWSER_REJECTED');
    expect(row?.lastError?.message).toMatch(/^the legacy app showed its error message \(evidence: .+\.png\.sealed\)$/);
    expect(row?.lastError?.textHash, "the page's own message is kept sealed, its keyed hash on the row").toMatch(/^hmac:[0-9a-f]{32}$/);
    expect(app.store.cases).toHaveLength(1);
  }, 60_000);

  it('retries a system failure (HTTP 500) in signing in and then delivers once, with a sealed screenshot of each failure and never a trace of the sign-in', async () => {
    const [one] = valid();
    app.chaos.failNext = 2;
    const r = await pass(target(), [one]);
    expect(r).toMatchObject({ delivered: 1, failed: 2 });
    expect(app.store.cases).toHaveLength(1);
    const audit = await store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'failed' ORDER BY seq");
    expect(audit).toHaveLength(2);
    expect(audit[0]!.detail).toMatch(/BROWSER_SERVER_ERROR[^}]*signing in failed: the legacy app answered 500 for GET \/login \(evidence: [^,)]+\.png\.sealed\)/);
    expect(audit[1]!.detail).toMatch(/BROWSER_SERVER_ERROR[^}]*signing in failed: the legacy app answered 500 for GET \/login \(evidence: [^,)]+\.png\.sealed\)/);
  }, 60_000);

  it('traces the first attempt too with traces: always, and seals the trace of a failed form', async () => {
    const [one] = valid();
    app.chaos.loseNextSaves = 1;
    const r = await pass(target({ evidence: { folder: evidence, traces: 'always' } }), [one]);
    expect(r).toMatchObject({ delivered: 1, failed: 1 });
    const audit = await store.select<{ detail: string }>("SELECT detail FROM audit_log WHERE event = 'failed'");
    expect(audit.map((a) => a.detail).join()).toMatch(/\(evidence: [^,)]+\.png\.sealed, [^)]+\.trace\.zip\.sealed\)/);
    const key = `${String((one as Record<string, unknown>).form_name)}/${String((one as Record<string, unknown>).submission_reference)}`;
    const files = await store.select<{ path: string; subject: string }>("SELECT path, subject FROM sealed_files WHERE kind = 'evidence'");
    expect(files.map((f) => f.subject)).toEqual([key, key]);
    expect(files.map((f) => f.path.replace(/^.*-attempt1-\d+/, '')).sort()).toEqual(['.png.sealed', '.trace.zip.sealed']);
  }, 60_000);

  it('signs in again when the session expires between forms', async () => {
    let expired = false;
    // Every session ends the moment the first case is stored (inside the app's save), so the next request of any context finds it gone.
    const cases = app.store.cases;
    const push = cases.push.bind(cases);
    cases.push = (...items) => {
      const n = push(...items);
      if (!expired) {
        app.store.sessions.clear();
        expired = true;
      }
      return n;
    };
    const r = await pass(target({ readBack: undefined }), valid().slice(0, 3)).finally(() => delete (cases as { push?: unknown }).push);
    expect(r).toMatchObject({ delivered: 3, failed: 0 });
    expect(expired).toBe(true);
    expect(app.store.cases).toHaveLength(3);
    expect(app.store.logins.length).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('probes after an uncertain failure (the save stored, its answer lost): not keyed twice', async () => {
    const [one] = valid();
    app.chaos.loseNextSaves = 1;
    const r = await pass(target(), [one]);
    expect(r).toMatchObject({ delivered: 1, failed: 1 });
    expect(app.store.cases).toHaveLength(1);
    const row = await ledger.get('browser-test', `${String((one as Record<string, unknown>).form_name)}/${String((one as Record<string, unknown>).submission_reference)}`);
    expect(row?.legacyRef).toBe(app.store.cases[0]!.ref);
  }, 60_000);

  it('reports a read-back mismatch (the legacy column cuts long surnames) as delivered, not confirmed, naming the field', async () => {
    const [one] = valid();
    const long = withAnswer(one!, 'Fn3kQ8aZ', 'last_name', 'Featherstonehaugh-Cholmondeley');
    const r = await pass(target(), [long]);
    expect(r).toMatchObject({ delivered: 1 });
    const row = await ledger.get('browser-test', `${String(long.form_name)}/${String(long.submission_reference)}`);
    expect(row).toMatchObject({ state: 'delivered', confirmed: false });
    expect(app.store.cases[0]!.surname).toBe('FEATHERSTONEHAUGH-CHOLMO');
  }, 60_000);
});
