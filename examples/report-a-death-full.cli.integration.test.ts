/**
 * The report-a-death example with every office
 * (examples/pipelines/report-a-death-full.yaml) through the real CLI
 * (`npm run build` first), against the legacy app's council tax screen in
 * headless Chromium and the Notify stand-in: each route's counts on the
 * fixture, what the council tax system and Notify received, a second run
 * that tells nobody again, and no personal value of the fixture in clear in
 * the state store or the output.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../connectors/browser/chromium.js';
import { DEFAULT_USER, startLegacyApp, type LegacyApp } from '../fixtures/legacy-app/legacy-app.js';
import { startNotifyStandin, type NotifyStandin } from '../fixtures/notify-standin/notify-standin.js';
import { report } from '../pipelines/privacy/canary/canary.test-helpers.js';
import { examineIn, fixtureCanaries, leaksOfRuns } from './report-a-death.test-helpers.js';
import { rekey, TEST_PII_KEY_HEX, type Run } from '../runner/cli.test-helpers.js';

const chromium = findChromium();

interface RunDoc {
  cases: { read: number; receivedNew: number; duplicates: number; rejected: number };
  told: Record<string, number>;
  routes: { route: string; delivered: number; rejected: number; dead: number; waitingRetry: number; error?: unknown }[];
}

/** Every personal answer of the fixture (names, identifiers, addresses, the informant's contact details), each a canary. */
const ALL_PARTS = ['last_name', 'address1', 'answer_text'];
const PARTS: Record<string, string[]> = {
  Dn4pR7aK: ['last_name', 'address1'],
  La3mX6rT: ['last_name', 'address1'],
  ...Object.fromEntries(['Bd6tW3eM', 'Nn5hG9cP', 'Dl7wC4nB', 'Pp2yF8hU', 'Ct9jK5sE', 'In6bV3mY', 'Ie2sH7kW', 'Ip9fT4gR'].map((id) => [id, ALL_PARTS])),
};

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
    const pipeline = examineIn(dir, 'report-a-death-full', (r, c) => {
      if (typeof c.evidence === 'object' && c.evidence !== null) (c.evidence as Record<string, unknown>).folder = join(dir, 'evidence');
      if (r.route === 'informant') c.baseUrl = notify.url;
    });
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
    const canaries = fixtureCanaries(PARTS);
    expect(canaries.all.length).toBeGreaterThan(60);
    expect(report(await leaksOfRuns(canaries, state, join(dir, 'state'), [first, second]))).toEqual([]);
  });
});
