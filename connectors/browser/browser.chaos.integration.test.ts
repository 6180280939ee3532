/**
 * The chaos run: a few hundred submissions keyed by the browser target in
 * real Chromium over four contexts into the legacy app with its chaos
 * switched on (random 500s, sessions expiring early, saves stored then
 * answered 500, added latency, a slow page), through runPass and the ledger,
 * pass after pass until nothing is due. Checked against the app's own
 * store: nothing keyed twice, every submission delivered with the
 * reference the app holds or dead-lettered with a screenshot and a trace
 * on disk; then, chaos off, the dead letters retried as an operator would:
 * the ledger's delivered set is the store's set.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import type { LedgerListRow } from '../../pipelines/ledger/ledger.rows.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { root } from '../../runner/cli.test-helpers.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { exportRows, manySubmissions } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import type { BrowserConfig } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import { sized } from '../../lib/test-tier.test-helpers.js';

const chromium = findChromium();
/** Submissions through the chaos: 40 in the bounded run, 200 in the long form; REKEY_CHAOS_SUBMISSIONS overrides. */
const COUNT = sized(40, 200, process.env.REKEY_CHAOS_SUBMISSIONS);
const NAME = 'browser-chaos';
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/browser-change-of-address.yaml');
const EVIDENCE = /\(evidence: ([^)]+)\)$/;

let mapping: CompiledMapping;
let app: LegacyApp;
let store: StateStore;
let ledger: Ledger;
let evidence: string;

function target(): BrowserTarget {
  const cfg = (parse(readFileSync(PIPELINE, 'utf8')) as { target: { config: BrowserConfig } }).target.config;
  const config: BrowserConfig = {
    ...cfg,
    baseUrl: app.url,
    login: { ...cfg.login!, username: DEFAULT_USER.username, password: DEFAULT_USER.password },
    evidence: { folder: evidence },
    contexts: 4,
    stepTimeoutMs: 5000,
    readBack: undefined,
  };
  return new BrowserTarget(config, { baseDir: join(root, 'examples/pipelines'), pipeline: NAME, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
}

/** Passes until nothing is received, failed or delivering; returns how many passes ran. */
async function passesUntilSettled(items: unknown[]): Promise<number> {
  for (let n = 1; n <= 12; n++) {
    await runPass(testPipeline(arraySource(items), target(), { name: NAME, mapping, targetName: 'browser', batchSize: 4, concurrency: 2, maxAttempts: 2, retryDelay: () => 50 }), ledger, testOptions());
    const c = (await ledger.counts(NAME))[NAME]!;
    if (c.received + c.failed + c.delivering === 0) return n;
  }
  throw new Error('still work due after 12 passes');
}

const rows = async (): Promise<LedgerListRow[]> => ledger.list(NAME, { limit: 100_000 });
const licenceOf = (b: { answers: Record<string, unknown>[] }) => String(b.answers.find((a) => a.question_id === 'Lc4vT9wN')!.answer_text);

describe.skipIf(!chromium)(`browser target chaos run in Chromium${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let items: ReturnType<typeof manySubmissions>;
  const keyOf = (b: { form_name: string; submission_reference: string }) => `${b.form_name}/${b.submission_reference}`;

  beforeAll(async () => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    items = manySubmissions(exportRows(root, (b) => mapping.map(b).ok), COUNT);
    const dir = mkdtempSync(join(tmpdir(), 'rekey-browser-chaos-'));
    evidence = join(dir, 'evidence');
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
    app = await startLegacyApp({ seed: 7, chaos: { latencyMs: 5, failRate: 0.02, expireRate: 0.01, lostSaveRate: 0.1, slowConfirmMs: 150 } });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it(`keys ${COUNT} submissions under chaos: each keyed once or dead-lettered with evidence; then the dead letters retried`, async () => {
    const passes = await passesUntilSettled(items);
    const all = await rows();
    expect(all).toHaveLength(COUNT);
    const byLicence = new Map<string, string[]>();
    for (const c of app.store.cases) byLicence.set(c.licenceNo, [...(byLicence.get(c.licenceNo) ?? []), c.ref]);
    expect([...byLicence.values()].filter((refs) => refs.length > 1)).toEqual([]);

    const licence = new Map(items.map((b) => [keyOf(b), licenceOf(b)]));
    const delivered = all.filter((r) => r.state === 'delivered');
    const dead = all.filter((r) => r.state === 'dead');
    expect(all.filter((r) => r.state !== 'delivered' && r.state !== 'dead').map((r) => `${r.state}: ${r.lastError?.message ?? ''}`)).toEqual([]);
    for (const r of delivered) expect(byLicence.get(licence.get(r.key)!), r.key).toEqual([r.legacyRef]);
    for (const r of dead) {
      expect(r.lastError?.disposition, r.key).toBe('retry');
      const paths = EVIDENCE.exec(r.lastError?.message ?? '')?.[1]?.split(', ') ?? [];
      const inSignIn = r.lastError?.message.startsWith('signing in failed') === true;
      expect(paths.some((p) => p.endsWith('.png.sealed')) && (inSignIn || paths.some((p) => p.endsWith('.trace.zip.sealed'))), `${r.key}: ${r.lastError?.message}`).toBe(true);
      for (const p of paths) expect(existsSync(p), p).toBe(true);
    }
    const deliveredLicences = new Set(delivered.map((r) => licence.get(r.key)!));
    const deadLicences = new Set(dead.map((r) => licence.get(r.key)!));
    const storedNotDelivered = [...byLicence.keys()].filter((l) => !deliveredLicences.has(l));
    expect(storedNotDelivered.every((l) => deadLicences.has(l)), 'a case in the store that the ledger neither delivered nor dead-lettered').toBe(true);
    const chaosFigures = { passes, delivered: delivered.length, dead: dead.length, storedButDead: storedNotDelivered.length, logins: app.store.logins.length };
    process.stdout.write(`browser chaos run: ${JSON.stringify(chaosFigures)}\n`);

    Object.assign(app.chaos, { latencyMs: 0, failRate: 0, expireRate: 0, lostSaveRate: 0, slowConfirmMs: 0 });
    if (dead.length) await ledger.retry(NAME, dead.map((r) => r.key), 'operator:test');
    await passesUntilSettled(items);
    const after = await rows();
    expect(after.filter((r) => r.state !== 'delivered')).toEqual([]);
    const refs = new Map(after.map((r) => [licence.get(r.key)!, r.legacyRef]));
    expect(app.store.cases).toHaveLength(COUNT);
    expect(new Map(app.store.cases.map((c) => [c.licenceNo, c.ref]))).toEqual(refs);
  // Generous: a loaded CI machine took more than 3 s a submission through the chaos.
  }, 240_000 + COUNT * 8_000);
});
