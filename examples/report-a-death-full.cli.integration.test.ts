/**
 * The report-a-death example with every office
 * (examples/pipelines/report-a-death-full.yaml) through the real CLI
 * (`npm run build` first), against the legacy app's council tax screen in
 * headless Chromium and the Notify stand-in: each route's counts on the
 * fixture, what the council tax system and Notify received, a second run
 * that tells nobody again, and no personal value of the fixture in clear in
 * the state store or the output.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findChromium } from '../connectors/browser/chromium.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../fixtures/legacy-app/legacy-app.js';
import { startNotifyStandin, type NotifyStandin } from '../fixtures/notify-standin/notify-standin.js';
import { Canaries, report, scanBytes, scanSqlite, scanTree } from '../pipelines/privacy/canary/canary.test-helpers.js';
import { rekey, root, TEST_PII_KEY_HEX, type Run } from '../runner/cli.test-helpers.js';

const chromium = findChromium();
const FIXTURE = join(root, 'fixtures/submissions/govuk-forms/report-a-death.ndjson');

interface RunDoc {
  cases: { read: number; receivedNew: number; duplicates: number; rejected: number };
  told: Record<string, number>;
  routes: { route: string; delivered: number; rejected: number; dead: number; waitingRetry: number; error?: unknown }[];
}

/** The full example with its paths made absolute or moved into `dir`, and Notify's address the stand-in's. */
function examineIn(dir: string, notifyUrl: string): string {
  type Route = { route: string; mapping: string; target: { config: Record<string, unknown> } };
  const def = parse(readFileSync(join(root, 'examples/pipelines/report-a-death-full.yaml'), 'utf8')) as { source: { config: { path: string } }; routes: Route[] };
  def.source.config.path = FIXTURE;
  for (const r of def.routes) {
    r.mapping = join(root, 'examples/mappings', r.mapping.split('/').pop()!);
    const c = r.target.config;
    if (typeof c.setupSql === 'string') c.setupSql = join(root, 'fixtures/legacy', c.setupSql.split('/').pop()!);
    if (typeof c.path === 'string') c.path = join(dir, 'legacy', 'report-a-death.sqlite');
    if (typeof c.folder === 'string') c.folder = join(dir, 'drop');
    if (typeof c.evidence === 'object' && c.evidence !== null) (c.evidence as Record<string, unknown>).folder = join(dir, 'evidence');
    if (r.route === 'informant') c.baseUrl = notifyUrl;
  }
  mkdirSync(join(dir, 'legacy'), { recursive: true });
  const file = join(dir, 'report-a-death-full.yaml');
  writeFileSync(file, stringify(def));
  return file;
}

/** Every personal answer of the fixture (names, identifiers, addresses, the informant's contact details), each a canary. */
function fixtureCanaries(): Canaries {
  const canaries = new Canaries();
  const parts = ['last_name', 'address1', 'answer_text'];
  const ids = new Set(['Dn4pR7aK', 'Bd6tW3eM', 'Nn5hG9cP', 'La3mX6rT', 'Dl7wC4nB', 'Pp2yF8hU', 'Ct9jK5sE', 'In6bV3mY', 'Ie2sH7kW', 'Ip9fT4gR']);
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
    const s = JSON.parse(line) as { submission_reference: string; answers: Record<string, unknown>[] };
    for (const a of s.answers) {
      if (!ids.has(String(a.question_id))) continue;
      for (const part of parts) {
        const v = a[part];
        if (part === 'answer_text' && (a.question_id === 'Dn4pR7aK' || a.question_id === 'La3mX6rT')) continue;
        if (typeof v === 'string' && v.trim().length >= 6) canaries.add(`${String(a.question_id)}.${part} of ${s.submission_reference}`, v.trim());
      }
    }
  }
  return canaries;
}

describe.skipIf(!chromium)(`rekey run examples/pipelines/report-a-death-full.yaml${chromium ? '' : ' (skipped: no Chromium installed)'}`, () => {
  let app: LegacyApp;
  let notify: NotifyStandin;
  let dir: string;
  let state: string;
  let first: Run;
  let second: Run;
  let doc1: RunDoc;
  let doc2: RunDoc;

  beforeAll(async () => {
    app = await startLegacyApp();
    notify = await startNotifyStandin();
    dir = mkdtempSync(join(tmpdir(), 'rekey-report-a-death-full-'));
    mkdirSync(join(dir, 'state'));
    state = join(dir, 'state', 'state.sqlite');
    const pipeline = examineIn(dir, notify.url);
    const env = { CTAX_URL: app.url, CTAX_USER: DEFAULT_USER.username, CTAX_PASSWORD: DEFAULT_USER.password, NOTIFY_API_KEY: notify.apiKey, REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };
    first = await rekey(['run', '--json', '--state', `sqlite:${state}`, pipeline], dir, env);
    doc1 = JSON.parse(first.stdout) as RunDoc;
    second = await rekey(['run', '--json', '--state', `sqlite:${state}`, pipeline], dir, env);
    doc2 = JSON.parse(second.stdout) as RunDoc;
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await notify?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tells each office the reports that concern it, and every report at least one office', () => {
    expect(doc1.cases).toMatchObject({ read: 10, receivedNew: 10, duplicates: 0, rejected: 0 });
    // The informant waits for the offices (after:): the three reports an office rejected are not emailed yet.
    expect(doc1.told).toEqual({ 'driving-licence': 8, passport: 8, 'council-tax': 9, informant: 5 });
    expect(doc1.routes.map(({ route, delivered, rejected, dead, waitingRetry, error }) => ({ route, delivered, rejected, dead, waitingRetry, error }))).toEqual([
      { route: 'driving-licence', delivered: 4, rejected: 4, dead: 0, waitingRetry: 0, error: undefined },
      { route: 'passport', delivered: 4, rejected: 4, dead: 0, waitingRetry: 0, error: undefined },
      { route: 'council-tax', delivered: 6, rejected: 3, dead: 0, waitingRetry: 0, error: undefined },
      { route: 'informant', delivered: 5, rejected: 0, dead: 0, waitingRetry: 0, error: undefined },
    ]);
    expect(first.code).toBe(1);
  });

  it('keys one death notice per valid report in a council area, with the council chosen from the postcode', () => {
    const notices = app.deaths.all.map((n) => [n.formRef, n.council, n.accountNo]).sort();
    expect(notices).toEqual([
      ['CF2LN9TE', 'MIDM', ''],
      ['DT4KM8PA', 'BORC', '40012345'],
      ['GE6RJ3XT', 'FELP', ''],
      ['MW7HS4YD', 'BORC', '40098765'],
      ['RX6BW3HN', 'FELP', '71204833'],
      // A death before the birth: the council gets no date of birth, so its mapping cannot tell (see its header).
      ['VN3GU5KS', 'MIDM', '72033104'],
    ]);
  });

  it('emails each informant who asked, once every office that holds the report delivered it, with only the reference and which offices', () => {
    const sent = notify.notifications.map((n) => ({ ref: n.reference?.split('/').pop(), to: n.email_address, p: n.personalisation })).sort((a, b) => String(a.ref).localeCompare(String(b.ref)));
    // BL9CR7MF, HP8EX2LC and YA4FP8WG were rejected by an office: their cases need a person before the informant is told.
    expect(sent.map((s) => s.ref)).toEqual(['CF2LN9TE', 'DT4KM8PA', 'GE6RJ3XT', 'KJ5AT6RV', 'MW7HS4YD']);
    expect(sent.find((s) => s.ref === 'MW7HS4YD')).toEqual({ ref: 'MW7HS4YD', to: 'ivor.notreal@example.com', p: { case_reference: 'MW7HS4YD', told_dvla: 'no', told_passport_office: 'no', told_council: 'yes' } });
    expect(sent.find((s) => s.ref === 'KJ5AT6RV')?.p).toEqual({ case_reference: 'KJ5AT6RV', told_dvla: 'yes', told_passport_office: 'yes', told_council: 'no' });
  });

  it('tells nobody again on a second run', () => {
    expect(doc2.cases).toMatchObject({ read: 10, receivedNew: 0, duplicates: 10, rejected: 0 });
    expect(doc2.told).toEqual({ 'driving-licence': 0, passport: 0, 'council-tax': 0, informant: 0 });
    for (const r of doc2.routes) expect([r.route, r.delivered, r.rejected, r.dead]).toEqual([r.route, 0, 0, 0]);
    expect(second.code).toBe(0);
    expect(app.deaths.all).toHaveLength(6);
    expect(notify.notifications).toHaveLength(5);
  });

  it('keeps no personal value of the fixture in clear in the state store or the output', async () => {
    const canaries = fixtureCanaries();
    expect(canaries.all.length).toBeGreaterThan(60);
    const leaks = [
      ...(await scanSqlite(canaries, state, 'state.sqlite')),
      ...scanTree(canaries, join(dir, 'state')).leaks,
      ...[first, second].flatMap((r, i) => [...scanBytes(canaries, `run ${i + 1} stdout`, Buffer.from(r.stdout)), ...scanBytes(canaries, `run ${i + 1} stderr`, Buffer.from(r.stderr))]),
    ];
    expect(report(leaks)).toEqual([]);
  });
});
