/**
 * The drift guard in real Chromium against the second legacy app
 * (fixtures/legacy-frames: a frameset, unlabelled inputs known by name, a
 * lookup popup), through runPass and the ledger. Each test keys a record, then has an administrator change one thing on a screen while
 * the app runs (`/__admin/layout`): a field's label (the table cell before
 * it), a new required field, a select's options reordered, the lookup
 * popup's screen. The next pass keys nothing into the changed screen (the
 * app's saved store and its drafts are unchanged), pauses the pipeline,
 * leaves every record due with no attempt spent and writes a report with a
 * proposal; approved through the code path of `rekey steps review
 * --approve` (as it is, or edited), every record is keyed exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { arraySource, testOptions, testPipeline } from '../../pipelines/flow/flow.test-helpers.js';
import { runPass } from '../../pipelines/flow/pass.js';
import { isPaused, pipelineControl } from '../../pipelines/ledger/controls.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { approveSteps, readStepsReview } from '../../runner/steps-review.js';
import { startLegacyFrames, type LegacyFrames } from '../../fixtures/legacy-frames/legacy-frames.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';
import type { Step } from './browser.config.js';
import { BrowserTarget } from './browser.target.js';
import { filesHolding, FRAMES_MAPPING, FRAMES_STEPS, framesConfig, framesSubmission, perReference, savedPermits } from './browser.frames.test-helpers.js';
import { findChromium } from './chromium.js';

const chromium = findChromium();

describe.skipIf(!chromium)(`the drift guard in a frameset app${chromium ? '' : ' (skipped: no Chromium installed and none could be installed)'}`, () => {
  let mapping: CompiledMapping;
  let app: LegacyFrames;
  let store: StateStore;
  let ledger: Ledger;
  let audit: AuditLog;
  let dir: string;
  let n = 0;
  const lines: string[] = [];
  const surnames: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => void (lines.push(chunk.toString()), done()) }));

  const fresh = (count: number) =>
    Array.from({ length: count }, () => {
      const s = framesSubmission(n++);
      surnames.push(String(s.surname));
      return s;
    });
  const target = (name: string) => new BrowserTarget(framesConfig(app.url, dir), { baseDir: dir, pipeline: name, mapping: { name: mapping.spec.name, fields: mapping.spec.fields } });
  const pass = (name: string, items: unknown[]) =>
    runPass(testPipeline(arraySource(items), target(name), { name, mapping, targetName: 'browser', batchSize: 4, concurrency: 1, maxAttempts: 3 }), ledger, testOptions({ log, retryWaitMs: 0 }));
  const layout = async (query: string) => expect((await fetch(`${app.url}/__admin/layout?${query}`, { method: 'POST' })).status).toBe(200);
  const refs = (items: unknown[]) => items.map((i) => String((i as { ref: string }).ref));

  beforeAll(async () => {
    const loaded = loadMapping('permits.yaml', FRAMES_MAPPING);
    expect(loaded.problems).toEqual([]);
    mapping = loaded.compiled!;
    dir = mkdtempSync(join(tmpdir(), 'rekey-drift-frames-'));
    store = await openStateStore(`sqlite:${join(dir, 'state.sqlite')}`);
    audit = new AuditLog(store);
    ledger = new Ledger(store, audit, TEST_KEYS);
    app = await startLegacyFrames();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  /** Keys a record on layout 1, makes `changes`, keys 3 more: expects nothing keyed into the changed screen, the pipeline paused, the records due; resolves to both sets and the report. */
  async function drift(name: string, changes: string, page: number) {
    await layout('version=1');
    const first = fresh(1);
    expect(await pass(name, first)).toMatchObject({ delivered: 1, failed: 0, dead: 0 });
    await layout(`version=2&changes=${changes}`);
    const before = (await savedPermits(app.url)).length;
    const next = fresh(3);
    await expect(pass(name, [...first, ...next])).rejects.toMatchObject({ code: 'BROWSER_SCREEN_CHANGED', disposition: 'fatal' });
    expect((await savedPermits(app.url)).length, 'no permit was saved from the changed screen').toBe(before);
    // The applicant screen (pages 1 and 2, the popup's) posts its values to a draft; the vehicle screen's (page 3) are only posted by Save.
    const typed = [...app.store.drafts.values()].filter((d) => (page < 2 ? refs(next).includes(d.extRef ?? '') : d.vrm !== undefined));
    expect(typed.map((d) => d.id), 'no draft holds a value keyed into the changed screen').toEqual([]);
    const rows = await ledger.list(name, { limit: 100 });
    expect(rows.filter((r) => r.state === 'delivered')).toHaveLength(1);
    expect(rows.filter((r) => r.state !== 'delivered').map((r) => [r.state === 'received' || r.state === 'delivering', r.attempts]), 'the rest are due, with no attempt spent').toEqual(Array(3).fill([true, 0]));
    expect(await isPaused(store, name)).toBe(true);
    expect((await pipelineControl(store, name))?.reason).toMatch(new RegExp(`^the legacy screen changed \\(page ${page + 1}\\)`));
    const review = await readStepsReview(store, name);
    expect(review.report).toMatchObject({ page });
    expect(review.report!.proposal.steps.length).toBe(FRAMES_STEPS.length);
    return { first, next, report: review.report! };
  }

  /** After approval: the pipeline runs again and every record is keyed, each exactly once in the app's store. */
  async function keyAfterApproval(name: string, items: unknown[]) {
    expect(await isPaused(store, name)).toBe(false);
    expect(await pass(name, items)).toMatchObject({ failed: 0, dead: 0, rejected: 0 });
    expect((await ledger.list(name, { limit: 100 })).map((x) => x.state)).toEqual(Array(items.length).fill('delivered'));
    const per = perReference(await savedPermits(app.url));
    expect(refs(items).map((r) => per.get(r)), 'every record keyed exactly once').toEqual(Array(items.length).fill(1));
  }

  it('a field relabelled (its table cell): reported on page 1; approved as it is, all are keyed once', async () => {
    const { first, next, report } = await drift('frames-label', 'label', 0);
    expect(report.changes).toEqual([{ step: '3.1', what: 'relabelled', says: 'step 3.1 (fill): labelled "Surname *" before, "Family name *" now' }]);
    expect(report.proposal).toMatchObject({ rewritten: [], unresolved: [] });
    await approveSteps(store, audit, 'frames-label', 'operator:alice', { reportId: report.id });
    await keyAfterApproval('frames-label', [...first, ...next]);
  }, 120_000);

  it('a new required field: the fields after it moved and a new field is named; the edited steps fill it and key all once', async () => {
    const { first, next, report } = await drift('frames-phone', 'telephone', 0);
    expect(report.changes).toEqual([
      { step: '3.3', what: 'moved', says: 'step 3.3 (fill): field 4 of its form before, field 5 now' },
      { step: '3.0', what: 'field-added', says: 'a new field named "APPTEL" is on the form' },
    ]);
    expect(report.proposal.unresolved).toEqual(['a new field named "APPTEL" is on the form: add a step that fills it when the form needs it']);
    const edited = structuredClone(report.proposal.steps);
    ((edited[3] as { frame: { steps: Step[] } }).frame.steps).splice(3, 0, { fill: { name: 'APPTEL', value: '01632 960000' } });
    expect((await approveSteps(store, audit, 'frames-phone', 'operator:bob', { edited, reportId: report.id })).version.edited).toBe(true);
    await keyAfterApproval('frames-phone', [...first, ...next]);
    for (const p of (await savedPermits(app.url)).filter((x) => refs(next).includes(x.extRef))) expect(p.phone).toBe('01632 960000');
  }, 120_000);

  it('a select\'s options reordered: reported on the vehicle page; approved, all are keyed once', async () => {
    const { first, next, report } = await drift('frames-zones', 'zones', 2);
    expect(report.changes).toEqual([{ step: '5.3', what: 'options', says: 'step 5.3 (select): its options changed (the same options in another order)' }]);
    expect(report.proposal.steps).toEqual(FRAMES_STEPS);
    await approveSteps(store, audit, 'frames-zones', 'operator:carol');
    await keyAfterApproval('frames-zones', [...first, ...next]);
  }, 120_000);

  it('the popup\'s screen changed: its button is fingerprinted in the popup window, and the drift is reported on the popup\'s page', async () => {
    const { first, next, report } = await drift('frames-popup', 'lookup', 1);
    expect(report.changes).toEqual([
      { step: '3.4.0', what: 'relabelled', says: 'step 3.4.0 (click): labelled "Use" before, "Choose" now' },
      { step: '3.4.0', what: 'field-added', says: 'a new field named "ADDR" is on the form' },
    ]);
    expect(report.before.fields).toMatchObject([{ step: '3.4.0', found: true, tag: 'input', type: 'button', label: 'Use' }]);
    await approveSteps(store, audit, 'frames-popup', 'operator:dan');
    await keyAfterApproval('frames-popup', [...first, ...next]);
    for (const p of (await savedPermits(app.url)).filter((x) => refs(next).includes(x.extRef))) expect(p.uprn, 'the address came from the popup\'s select').not.toBe('');
  }, 120_000);

  it('nothing rekey wrote holds a citizen\'s surname: state store, evidence, prints, reports, log', () => {
    expect(surnames.length).toBe(16);
    for (const s of surnames) {
      expect(filesHolding(dir, s), s).toEqual([]);
      expect(filesHolding(dir, s.toUpperCase()), s).toEqual([]);
      expect(lines.join('').includes(s), s).toBe(false);
    }
  });
});
