/**
 * The dead-letter pages over a real pipeline file: a SQLite legacy table
 * whose CHECK refuses a surname not in upper case (a legacy rejection), a
 * target that cannot be reached (dead letters), real passes through the
 * console's ledger; each role signed in through the real form.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import sqlite3 from 'sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { flowPipeline } from '../../../pipelines/flow/flow-pipeline.js';
import { runPass } from '../../../pipelines/flow/pass.js';
import { arraySource, testPipeline, TestTarget } from '../../../pipelines/flow/flow.test-helpers.js';
import { piiHash } from '../../../pipelines/audit/pii.js';
import { loadPipelineFile } from '../../pipeline-files.js';
import { AuditLog } from '../../../pipelines/audit/audit-log.js';
import { Ledger } from '../../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../../pipelines/store/state-store.js';
import { TEST_KEYS } from '../../../lib/envelope.test-helpers.js';
import type { Runtime } from '../../runtime.js';
import { Scheduler, type PassEnd, type PassTrigger } from '../../serve/scheduler.js';
import { ServeSteering } from '../../serve/steering.js';
import type { ConsolePipeline } from '../context.js';
import { pipelinePages } from './pipelines.pages.js';
import { mergeCookies, startTestConsole, TEST_USERS, type TestConsole } from '../console.test-helpers.js';
import { correctionForm } from './dead-letters.correct.js';
import { deadLetterPages, deadLetterPath } from './dead-letters.pages.js';

/** Citizens' surnames: the legacy table refuses the first (not upper case); none may appear in a non-evidence page. */
const CANARY = 'Qwyxzelborne';
const CANARY_2 = 'Vantrobeliska';
const CORRECTED = 'ZORVANDIQUEFIX';

const MAPPING = [
  'mapping: dead-letters',
  'fields:',
  '  REF: { from: submission_reference, required: true }',
  '  SURNAME: { answer: nm.last_name, required: true, pii: true, validate: { length: { max: 20 } } }',
  '',
].join('\n');

const SETUP = 'CREATE TABLE CASES (ID INTEGER PRIMARY KEY AUTOINCREMENT, SUB_KEY TEXT NOT NULL UNIQUE, REF TEXT, SURNAME TEXT NOT NULL CHECK (SURNAME = upper(SURNAME)));\n';

function pipelineYaml(name: string, target: string): string {
  return [
    `pipeline: ${name}`,
    'mapping: mapping.yaml',
    'source: { kind: file, config: { path: submissions.ndjson } }',
    `target: ${target}`,
    'retry: { maxAttempts: 1, initialDelay: 1s, maxDelay: 1s, multiplier: 2, jitter: 0 }',
    '',
  ].join('\n');
}

function submission(ref: string, surname: string): string {
  return JSON.stringify({ form_name: 'F', submission_reference: ref, answers: [{ question_id: 'nm', question_text: 'Name', answer_text: surname, last_name: surname }] });
}

function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((ok, ko) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (e) => {
      if (e) return ko(e);
      db.all(sql, (err, rows) => db.close(() => (err ? ko(err) : ok(rows as Record<string, unknown>[]))));
    });
  });
}

let dir: string;
let c: TestConsole | undefined;
const files: Record<'legacy' | 'down', string> = { legacy: '', down: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-dead-letters-'));
  await writeFile(join(dir, 'mapping.yaml'), MAPPING);
  await writeFile(join(dir, 'setup.sql'), SETUP);
  await writeFile(join(dir, 'submissions.ndjson'), `${submission('A1', CANARY)}\n${submission('B2', 'SMITH')}\n`);
  files.legacy = join(dir, 'legacy.yaml');
  await writeFile(files.legacy, pipelineYaml('legacy', '{ kind: sqlite, config: { path: legacy.sqlite, table: CASES, keyColumn: SUB_KEY, setupSql: setup.sql } }'));
  files.down = join(dir, 'down.yaml');
  await writeFile(files.down, pipelineYaml('down', '{ kind: sqlite, config: { path: down.sqlite, table: CASES, keyColumn: SUB_KEY, setupSql: setup.sql } }'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await c?.close();
  c = undefined;
  await steered?.scheduler.stop();
  await steered?.runtime.close();
  steered = undefined;
});

/** A pass of pipeline `file`; for `down`, its target times out on every delivery (one attempt allowed: dead at once). */
async function pass(t: TestConsole, file: string, trigger?: PassTrigger): Promise<Record<string, unknown>> {
  const loaded = await loadPipelineFile(file);
  if (!loaded.pipeline) throw new Error(JSON.stringify(loaded.problems));
  const lp = loaded.pipeline;
  const flow = file === files.down ? testPipeline(arraySource([JSON.parse(submission('D1', CANARY_2))]), new TestTarget({ 'F/D1': { alwaysFail: true } }), { name: 'down', mapping: lp.mapping, maxAttempts: 1 }) : flowPipeline(lp);
  return (await runPass(flow, t.runtime.ledger, {
    owner: 'runner:test',
    actor: 'runner:test',
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    leaseMs: 60_000,
    retryWaitMs: 0,
    ...(trigger && { trigger }),
    piiHash: (v) => piiHash(v, Buffer.alloc(32, 7)),
  })) as unknown as Record<string, unknown>;
}

/** What a console with serve's steering runs on: its own runtime, a scheduler and the steering over them. */
let steered: { runtime: Runtime; scheduler: Scheduler } | undefined;

/** A console serving `names`; with `steering`, also the Pipelines pages and serve's steering, each pipeline's pass a real pass of its file. */
async function consoleWith(names: ('legacy' | 'down')[], steering = false): Promise<TestConsole> {
  const pipelines: ConsolePipeline[] = [];
  for (const n of names) {
    const l = await loadPipelineFile(files[n]);
    pipelines.push({ name: l.pipeline!.def.pipeline, file: files[n], def: l.pipeline!.def });
  }
  if (!steering) return startTestConsole({ pages: [deadLetterPages], pipelines });
  const store = await openStateStore(`sqlite:${join(dir, `steered-${Date.now()}.sqlite`)}`);
  const audit = new AuditLog(store);
  const runtime: Runtime = { store, audit, ledger: new Ledger(store, audit, TEST_KEYS), close: () => store.close() };
  const scheduler = new Scheduler(pino({ level: 'silent' }));
  const serve = new ServeSteering(store, audit, scheduler);
  steered = { runtime, scheduler };
  for (const p of pipelines) {
    const run = (trigger: PassTrigger) => pass(c!, p.file, trigger);
    serve.add(scheduler.add(p.name, undefined, 'Europe/London', run), run);
  }
  return startTestConsole({ pages: [deadLetterPages, pipelinePages], pipelines, runtime, extra: { steering: serve } });
}

const page = async (t: TestConsole, path: string, cookie: string) => {
  const res = await fetch(`${t.url}${path}`, { redirect: 'manual', headers: { cookie } });
  return { status: res.status, html: await res.text(), res };
};

async function post(t: TestConsole, cookie: string, path: string, fields: Record<string, string>, from = path.replace(/\/[a-z]+$/, '')) {
  const { token, cookie: jar } = await t.formToken(cookie, from);
  const res = await fetch(`${t.url}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token, ...fields }) });
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), cookie: mergeCookies(jar, res) };
}

describe('dead letters and rejections', () => {
  it('lists dead and rejected submissions with reasons in plain words and no value, filters them, and keeps viewers and strangers out', async () => {
    await rm(join(dir, 'legacy.sqlite'), { force: true });
    c = await consoleWith(['legacy', 'down']);
    expect(await pass(c, files.legacy)).toMatchObject({ delivered: 1, rejected: 1 });
    expect(await pass(c, files.down)).toMatchObject({ dead: 1 });
    const auditor = await c.signIn('auditor');
    const all = await page(c, '/dead-letters', auditor);
    expect(all.status).toBe(200);
    expect(all.html).toContain('The legacy system refused field SURNAME (SQL_CONSTRAINT).');
    expect(all.html).toContain('the legacy database refused the record (code SQLITE_CONSTRAINT, field SURNAME)');
    expect(all.html, "the database's own message is kept sealed").not.toContain('CHECK constraint failed');
    expect(all.html).toContain(`href="${deadLetterPath('legacy', 'F/A1')}"`);
    expect(all.html).toContain('Delivery to the legacy system kept failing for');
    expect(all.html).not.toContain('F/B2');
    for (const canary of [CANARY, CANARY_2]) expect(all.html).not.toContain(canary);

    const rejectedOnly = await page(c, '/dead-letters?state=rejected', auditor);
    expect(rejectedOnly.html).toContain('F/A1');
    expect(rejectedOnly.html).not.toContain('F/D1');
    const downOnly = await page(c, '/dead-letters?pipeline=down', auditor);
    expect(downOnly.html).toContain('F/D1');
    expect(downOnly.html).not.toContain('F/A1');
    expect((await page(c, '/dead-letters?after=not-a-cursor', auditor)).status).toBe(400);

    const detail = await page(c, deadLetterPath('legacy', 'F/A1'), auditor);
    expect(detail.status).toBe(200);
    expect(detail.html).toContain('SQL_CONSTRAINT');
    expect(detail.html).not.toContain('action="/dead-letters/');
    expect(detail.html).not.toContain(CANARY);

    const viewer = await c.signIn('viewer');
    expect((await page(c, '/dead-letters', viewer)).status).toBe(403);
    expect((await page(c, deadLetterPath('legacy', 'F/A1'), viewer)).status).toBe(403);
    const stranger = await page(c, deadLetterPath('legacy', 'F/A1'), '');
    expect(stranger.status).toBe(303);
    expect(stranger.res.headers.get('location')).toMatch(/^\/sign-in\?next=/);
  });

  it('lets an operator retry a dead letter and discard one only with a reason, each audited with the console user; an auditor is refused', async () => {
    c = await consoleWith(['down']);
    await pass(c, files.down);
    const path = deadLetterPath('down', 'F/D1');
    const auditor = await c.signIn('auditor');
    expect((await post(c, auditor, `${path}/retry`, {})).status).toBe(403);
    expect((await post(c, auditor, `${path}/discard`, { reason: 'no' })).status).toBe(403);
    expect((await c.runtime.ledger.get('down', 'F/D1', { body: false }))?.state).toBe('dead');

    const operator = await c.signIn('operator');
    const shown = await page(c, path, operator);
    expect(shown.html).toContain(`action="${path}/retry"`);
    expect(shown.html).toContain(`action="${path}/discard"`);
    const retried = await post(c, operator, `${path}/retry`, {});
    expect(retried.status).toBe(303);
    expect(retried.location).toBe(`${path}?done=retried`);
    expect((await c.runtime.ledger.get('down', 'F/D1', { body: false }))?.state).toBe('received');
    const history = await c.runtime.ledger.history('down', 'F/D1');
    expect(history.at(-1)).toMatchObject({ event: 'retried', actor: `console:${TEST_USERS.operator.name}` });
    const banner = await page(c, retried.location!, operator);
    expect(banner.html).toContain('Sent back to received');

    // Retrying a received submission is refused by the ledger: an error summary, not a failure.
    const again = await post(c, operator, `${path}/retry`, {});
    expect(again.status).toBe(409);
    expect(again.html).toContain('govuk-error-summary');
    expect(again.html).toContain('cannot move from received to received');

    await pass(c, files.down);
    const noReason = await post(c, operator, `${path}/discard`, { reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain('<a href="#discard-reason">Enter why this submission is given up</a>');
    expect((await c.runtime.ledger.get('down', 'F/D1', { body: false }))?.state).toBe('dead');
    const discarded = await post(c, operator, `${path}/discard`, { reason: 'the citizen applied again' });
    expect(discarded.status).toBe(303);
    expect((await c.runtime.ledger.get('down', 'F/D1', { body: false }))?.state).toBe('discarded');
    expect((await c.runtime.ledger.history('down', 'F/D1')).at(-1)).toMatchObject({ event: 'discarded', actor: `console:${TEST_USERS.operator.name}`, detail: { reason: 'the citizen applied again' } });
    expect(c.logged()).not.toContain(CANARY_2);
  });

  it('corrects and resubmits a value the legacy system refused: field errors name the field, the audit log has the operator, the next pass delivers it once under the same key', async () => {
    await rm(join(dir, 'legacy.sqlite'), { force: true });
    c = await consoleWith(['legacy'], true);
    await pass(c, files.legacy);
    const path = deadLetterPath('legacy', 'F/A1');
    const operator = await c.signIn('operator');
    const form = await page(c, path, operator);
    expect(form.html).toContain('<label class="govuk-label" for="fix:SURNAME">SURNAME (the field refused) (personal data)</label>');
    expect(form.html).toContain('You are not granted evidence');
    expect(form.html).not.toContain(CANARY);

    // A user granted evidence would see the value now beside each field (the test users granted evidence are auditors, who cannot act).
    const legacy = (await loadPipelineFile(files.legacy)).pipeline!;
    const withValues = await correctionForm(c.runtime.ledger, { name: 'legacy', file: files.legacy, def: legacy.def }, 'F/A1', 'rejected', 'SURNAME', true);
    expect(withValues.ok && withValues.fields.map((f) => [f.name, f.value, f.refused])).toEqual([
      ['REF', 'A1', false],
      ['SURNAME', CANARY, true],
    ]);

    const tooLong = 'QWYXZELBORNEQWYXZELBORNE';
    const invalid = await post(c, operator, `${path}/correct`, { 'fix:SURNAME': tooLong, reason: 'legacy wants upper case' });
    expect(invalid.status).toBe(400);
    expect(invalid.html).toContain('<a href="#fix:SURNAME">cannot correct SURNAME: length: must be at most 20 characters (got 24)</a>');
    expect(invalid.html).toContain(`value="${tooLong}"`);
    expect(invalid.html.split(tooLong)).toHaveLength(2);
    const noReason = await post(c, operator, `${path}/correct`, { 'fix:SURNAME': CORRECTED, reason: '' });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain('Enter why the values are corrected');
    const nothing = await post(c, operator, `${path}/correct`, { reason: 'why' });
    expect(nothing.html).toContain('Enter a corrected value for at least one field');
    expect((await c.runtime.ledger.get('legacy', 'F/A1', { body: false }))?.state).toBe('rejected');

    const done = await post(c, operator, `${path}/correct`, { 'fix:SURNAME': CORRECTED, reason: 'legacy wants upper case' });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${path}?done=corrected`);
    const corrected = (await c.runtime.ledger.history('legacy', 'F/A1')).find((e) => e.event === 'corrected');
    expect(corrected).toMatchObject({ actor: `console:${TEST_USERS.operator.name}`, detail: { reason: 'legacy wants upper case', records: [{ fields: ['SURNAME'] }] } });
    expect(JSON.stringify(corrected)).not.toContain(CORRECTED);

    // The page offers the pass that delivers it now, through serve's steering (the Pipelines page's run-now form).
    const after = await page(c, done.location!, operator);
    expect(after.html).toContain('Corrected and sent back to received');
    expect(after.html).toContain('action="/pipelines/legacy/run"');
    const ended = new Promise<PassEnd>((ok) => steered!.scheduler.onPassEnd(ok));
    const run = await post(c, operator, '/pipelines/legacy/run', {}, path);
    expect(run.status).toBe(303);
    const end = await ended;
    expect(end).toMatchObject({ pipeline: 'legacy', trigger: { kind: 'console', by: `console:${TEST_USERS.operator.name}` }, result: { delivered: 1, rejected: 0 } });
    expect(await pass(c, files.legacy)).toMatchObject({ delivered: 0 });
    expect(await query(join(dir, 'legacy.sqlite'), "SELECT SUB_KEY, SURNAME FROM CASES WHERE SUB_KEY = 'F/A1'")).toEqual([{ SUB_KEY: 'F/A1', SURNAME: CORRECTED }]);

    // Delivered now: correcting again is refused with the ledger's words.
    const late = await post(c, operator, `${path}/correct`, { 'fix:SURNAME': 'OTHER', reason: 'again' });
    expect(late.status).toBe(409);
    expect(late.html).toContain('only a dead or rejected submission can be corrected; this one is delivered');
    for (const canary of [CANARY, CORRECTED]) expect(c.logged()).not.toContain(canary);
  });

  it('names the fields of the mapping version a submission was keyed with, and marks those the mapping of now dropped or added', async () => {
    const file = join(dir, 'renamed.yaml');
    await writeFile(join(dir, 'mapping-v.yaml'), MAPPING);
    await writeFile(file, pipelineYaml('renamed', '{ kind: sqlite, config: { path: renamed.sqlite, table: CASES, keyColumn: SUB_KEY, setupSql: setup.sql } }').replace('mapping.yaml', 'mapping-v.yaml'));
    const def = (await loadPipelineFile(file)).pipeline!.def;
    c = await startTestConsole({ pages: [deadLetterPages], pipelines: [{ name: 'renamed', file, def }] });
    expect(await pass(c, file)).toMatchObject({ rejected: 1 });
    const keyedWith = (await c.runtime.ledger.get('renamed', 'F/A1', { body: false }))!.mappingVersion!;
    // The mapping changes after A1 was keyed: REF is dropped, NOTE added.
    await writeFile(join(dir, 'mapping-v.yaml'), MAPPING.replace('  REF: { from: submission_reference, required: true }', '  NOTE: { const: WEB }'));
    const operator = await c.signIn('operator');
    const html = (await page(c, deadLetterPath('renamed', 'F/A1'), operator)).html;
    expect(html).toContain(`href="/mappings/${encodeURIComponent(keyedWith)}"`);
    expect(html).toContain('REF: the mapping the pipeline maps with now has no such field');
    expect(html).not.toContain('for="fix:REF"');
    expect(html).toContain('<label class="govuk-label" for="fix:SURNAME">SURNAME (the field refused) (personal data)</label>');
    expect(html).toContain('<label class="govuk-label" for="fix:NOTE">NOTE (new in the mapping of now)</label>');
    expect(html.indexOf('REF: the mapping')).toBeLessThan(html.indexOf('for="fix:NOTE"'));
    expect(html).not.toContain(CANARY);
  });
});
