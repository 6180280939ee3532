/**
 * The drift guard in real Chromium against the legacy app, through runPass
 * and the ledger: the first pass keys records and stores each page's
 * print; an administrator then changes the applicant page (a label, a new
 * required field, the order of a select's options); the next pass keys
 * nothing into the changed page, leaves every record due with no attempt
 * spent, pauses the pipeline and writes a report with a proposal; once an
 * operator approves it (as it is, or edited) every record is keyed, each
 * exactly once in the app's own store. Nothing rekey wrote (the state
 * store's file, the log) holds a citizen's value.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { isPaused, pipelineControl } from '../../pipelines/ledger/controls.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { root } from '../../runner/cli.test-helpers.js';
import { approveSteps, readStepsReview } from '../../runner/steps-review.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../../fixtures/legacy-app/legacy-app.js';
import { FIRST_LAYOUT, type Layout } from '../../fixtures/legacy-app/legacy-app.pages.js';
import { exportRows, manySubmissions } from '../../fixtures/legacy-app/legacy-app.submissions.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import type { BrowserConfig, Step } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { findChromium } from './chromium.js';

const chromium = findChromium();
const MAPPING = join(root, 'examples/mappings/browser-change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/browser-change-of-address.yaml');

/** A canary: `zq` and twelve random lower-case letters; searched for in any case. */
const canary = () => `zq${Array.from({ length: 12 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;

describe.skipIf(!chromium)(`the drift guard in Chromium${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let mapping: CompiledMapping;
  let app: LegacyApp;
  let store: StateStore;
  let ledger: Ledger;
  let audit: AuditLog;
  let dir: string;
  const logLines: string[] = [];
  const canaries: string[] = [];
  let pool: ReturnType<typeof manySubmissions>;
  let used = 0;

  const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => void (logLines.push(chunk.toString()), done()) }));

  /** `n` submissions not used before, each with canary names, address and email. */
  const fresh = (n: number) =>
    pool.slice(used, (used += n)).map((row) => {
      const body = structuredClone(row) as { answers: Record<string, unknown>[] };
      const answer = (id: string) => body.answers.find((a) => a.question_id === id)!;
      const [forename, surname, street, email] = [canary(), canary(), canary(), canary()];
      canaries.push(forename, surname, street, email);
      Object.assign(answer('Fn3kQ8aZ'), { first_name: forename, last_name: surname });
      Object.assign(answer('Ad2pW6yJ'), { address1: `1 ${street} Street` });
      Object.assign(answer('Em9bX2dS'), { answer_text: `${email}@example.com` });
      return body;
    });

  const target = (name: string) => {
    const cfg = (parse(readFileSync(PIPELINE, 'utf8')) as { target: { config: BrowserConfig } }).target.config;
    const config: BrowserConfig = { ...cfg, baseUrl: app.url, login: { ...cfg.login!, username: DEFAULT_USER.username, password: DEFAULT_USER.password }, contexts: 2, readBack: undefined, stepTimeoutMs: 5000, evidence: { folder: 'evidence' } };
    return new BrowserTarget(config, { baseDir: dir, pipeline: name, concurrency: 2, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
  };
  const pass = (name: string, items: unknown[]) =>
    runPass(testPipeline(arraySource(items), target(name), { name, mapping, targetName: 'browser', batchSize: 4, concurrency: 1, maxAttempts: 3 }), ledger, testOptions({ log, retryWaitMs: 0 }));
  const licences = (items: unknown[]) => items.map((b) => String(mapping.map(b).record.DRIVER_NO));
  /** How many cases the app holds for each licence number. */
  const rowsPer = (keys: string[]) => keys.map((k) => app.store.cases.filter((c) => c.licenceNo === k).length);

  beforeAll(async () => {
    mapping = loadMapping(MAPPING, readFileSync(MAPPING, 'utf8')).compiled!;
    pool = manySubmissions(exportRows(root, (b) => mapping.map(b).ok), 60);
    dir = mkdtempSync(join(tmpdir(), 'rekey-browser-drift-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    audit = new AuditLog(store);
    ledger = new Ledger(store, audit, TEST_KEYS);
    app = await startLegacyApp();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  /**
   * Keys 2 records on the first layout, switches to `layout`, keys 4 more:
   * expects the pass to stop with nothing keyed into the changed page and
   * the records due; resolves to both sets and the report.
   */
  async function drift(name: string, layout: Partial<Layout>) {
    Object.assign(app.layout, FIRST_LAYOUT);
    const first = fresh(2);
    expect(await pass(name, first)).toMatchObject({ delivered: 2, failed: 0, dead: 0 });
    Object.assign(app.layout, layout);
    const before = app.store.cases.length;
    const next = fresh(4);
    await expect(pass(name, [...first, ...next])).rejects.toMatchObject({ code: 'BROWSER_SCREEN_CHANGED', disposition: 'fatal' });
    expect(app.store.cases.length, 'no case was saved from the changed page').toBe(before);
    const rows = await ledger.list(name, { limit: 100 });
    expect(rows.filter((r) => r.state === 'delivered')).toHaveLength(2);
    expect(rows.filter((r) => r.state !== 'delivered').every((r) => ['received', 'delivering'].includes(r.state) && r.attempts === 0), 'the rest are due, with no attempt spent').toBe(true);
    expect(await isPaused(store, name)).toBe(true);
    expect((await pipelineControl(store, name))?.reason).toMatch(/^the legacy screen changed \(page 1\)/);
    expect(logLines.some((l) => l.includes('"code":"BROWSER_SCREEN_CHANGED"'))).toBe(true);
    const review = await readStepsReview(store, name);
    expect(review.report).not.toBeNull();
    return { first, next, report: review.report! };
  }

  async function keyAfterApproval(name: string, first: unknown[], next: unknown[]) {
    expect(await isPaused(store, name)).toBe(false);
    const r = await pass(name, [...first, ...next]);
    expect(r).toMatchObject({ failed: 0, dead: 0, rejected: 0 });
    const rows = await ledger.list(name, { limit: 100 });
    expect(rows.map((x) => x.state)).toEqual(Array(6).fill('delivered'));
    expect(rowsPer(licences([...first, ...next])), 'every record keyed exactly once').toEqual(Array(6).fill(1));
  }

  it('a field relabelled: the proposal finds it by its name under its new label; approved, all are keyed once', async () => {
    const { first, next, report } = await drift('drift-label', { surnameLabel: 'Family name' });
    expect(report.changes).toEqual([{ step: '3', what: 'gone', says: 'step 3 (fill): the input labelled "Surname", named "surname", is not found' }]);
    expect(report.proposal.rewritten).toEqual([{ step: '3', locator: { label: 'Family name' } }]);
    expect(report.proposal.steps[3]).toEqual({ fill: { label: 'Family name', value: '{{SURNAME}}' } });
    const a = await approveSteps(store, audit, 'drift-label', 'operator:alice', { reportId: report.id });
    expect(a).toMatchObject({ resumed: true, version: { base: report.base, edited: false, approvedBy: 'operator:alice' } });
    let exported = '';
    for await (const chunk of audit.export({ format: 'json', pipeline: 'drift-label', events: ['steps-approved'] })) exported += chunk;
    expect(exported).toContain(report.id);
    expect(exported).toContain(a.version.id);
    expect(exported).toContain('operator:alice');
    await keyAfterApproval('drift-label', first, next);
    for (const k of licences(next)) expect(app.store.cases.find((c) => c.licenceNo === k)!.surname).toMatch(/^ZQ/i);
  }, 400_000);

  it('a new required field: left to the operator, who adds a step; the edited steps are approved and key all once', async () => {
    const { first, next, report } = await drift('drift-required', { reasonRequired: true });
    expect(report.changes.map((c) => c.what)).toEqual(['required-added']);
    expect(report.proposal.unresolved).toEqual(['a new required field named "reason" is on the form: add a step that fills it']);
    await expect(approveSteps(store, audit, 'drift-required', 'operator:bob', { edited: [{ fill: { lable: 'x' } } as unknown as Step] })).rejects.toMatchObject({ code: 'LEDGER_BAD_REQUEST' });
    expect(await isPaused(store, 'drift-required'), 'a refused edit approves nothing').toBe(true);
    const edited = report.proposal.steps.flatMap((s): Step[] => ('fill' in s && s.fill.label === 'Email' ? [s, { fill: { label: 'Reason for change', value: 'Change of address' } }] : [s]));
    expect((await approveSteps(store, audit, 'drift-required', 'operator:bob', { edited })).version.edited).toBe(true);
    await keyAfterApproval('drift-required', first, next);
    for (const k of licences(next)) expect(app.store.cases.find((c) => c.licenceNo === k)!.reason).toBe('Change of address');
  }, 400_000);

  it('a select\'s options reordered: reported, and once approved as they are, all are keyed once', async () => {
    const { first, next, report } = await drift('drift-options', { titlesReversed: true });
    expect(report.changes).toEqual([{ step: '1', what: 'options', says: 'step 1 (select): its options changed (the same options in another order)' }]);
    expect(report.proposal.steps).toEqual(target('drift-options').drift.steps);
    await approveSteps(store, audit, 'drift-options', 'operator:carol');
    await keyAfterApproval('drift-options', first, next);
  }, 400_000);

  it('nothing rekey wrote holds a citizen\'s value: state store file, reports, prints, log', async () => {
    expect(canaries.length).toBeGreaterThan(0);
    const files = ['state.sqlite', 'state.sqlite-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    const texts = [...files.map((f) => readFileSync(f).toString('latin1')), logLines.join('\n')].map((t) => t.toLowerCase());
    const prints = await ledger.connectorState('drift-label').list('print:');
    expect(prints.length).toBeGreaterThan(0);
    texts.push(prints.map((p) => p.value).join('\n').toLowerCase());
    for (const c of canaries) for (const t of texts) expect(t.includes(c), `canary ${c}`).toBe(false);
  });
});
