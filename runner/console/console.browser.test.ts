/**
 * The console in real headless Chromium, against a real `rekey serve`
 * process on the quick start: axe-core finds no violation on any page as
 * any role the page differs for; the skip link and the sign-in form work
 * by keyboard; the scenarios (sign in as each role, find a
 * submission by its citizen reference and see its lineage, retry a dead
 * letter, correct and resubmit a legacy refusal, be refused as an auditor,
 * export the audit trail and check the file); and no citizen's answer in
 * any page a user without evidence saw.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../pipelines/audit/export-verify.js';
import { canaries, FULL, LEGACY, QUICK, REFUSED, runPassUntilDelivered, signInAs, startBrowserConsole, type BrowserConsole } from './browser.test-helpers.js';
import { TEST_USERS } from './console.test-helpers.js';
import { deadLetterPath } from './pages/dead-letters.pages.js';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const CITIZEN_REFERENCE = 'CA3HJ7WR';

let bc: BrowserConsole;
beforeAll(async () => {
  bc = await startBrowserConsole();
}, 90_000);
afterAll(async () => {
  const code = await bc?.close();
  expect(code).toBe(0);
  expect(bc.stderr()).not.toMatch(/"level":50/);
  for (const c of canaries()) expect(bc.stderr()).not.toContain(c);
});

/**
 * axe-core's violations on the page now, as "rule: target" lines (empty
 * when clean). In axe's legacy mode (axe.run in the page itself): the
 * default mode opens a blank page for every check as well, twice the
 * cost. Legacy mode does not look into frames, so a page with a frame
 * fails here instead of being checked in part.
 */
async function violations(page: Page): Promise<string[]> {
  expect(page.frames().map((f) => f.url()), `${page.url()}: a frame, which axe-core's legacy mode does not check`).toEqual([page.url()]);
  const r = await new AxeBuilder({ page }).withTags(TAGS).setLegacyMode(true).analyze();
  return r.violations.flatMap((v) => v.nodes.map((n) => `${page.url()} ${v.id}: ${n.target.join(' ')}`));
}

/** Each role's page, signed in once through the form (sign-in is rate-limited to 10 attempts a minute from one address). */
const sessions = new Map<keyof typeof TEST_USERS, Page>();
/** A signed-in page of `who`. */
async function as(who: keyof typeof TEST_USERS): Promise<Page> {
  let page = sessions.get(who);
  if (!page) {
    page = await bc.newPage();
    await signInAs(page, who);
    sessions.set(who, page);
  }
  return page;
}

/** Goes to `path` and answers the status. */
async function open(page: Page, path: string): Promise<number> {
  return (await page.goto(path))!.status();
}

/** The path of the quick start's submission of CITIZEN_REFERENCE, from the Submissions search. */
async function findByReference(page: Page): Promise<string> {
  await page.goto('/submissions');
  await page.getByLabel('Reference').fill(CITIZEN_REFERENCE);
  await Promise.all([page.waitForURL(/\/submissions\?/), page.getByRole('button', { name: /search|filter|find/i }).first().click()]);
  const href = await page.locator(`a[href^="/submissions/${QUICK}/"]`).first().getAttribute('href');
  expect(href).toBeTruthy();
  return href!;
}

describe('the console in headless Chromium', () => {
  it('has no axe-core violation on any page, as each role the page differs for', async () => {
    const found: string[] = [];
    const citizens = canaries();
    const stranger = await bc.newPage();
    expect(await open(stranger, '/sign-in')).toBe(200);
    found.push(...(await violations(stranger)));
    // A failed sign-in: the error summary.
    await stranger.getByLabel('User name').fill('nobody');
    await stranger.getByLabel('Password', { exact: true }).fill('wrong');
    await stranger.getByRole('button', { name: 'Sign in' }).click();
    await stranger.waitForLoadState();
    found.push(...(await violations(stranger)));

    const operator = await as('operator');
    const submission = await findByReference(operator);
    await operator.goto('/pipelines/' + QUICK);
    const pass = await operator.locator('a[href^="/passes/"]').first().getAttribute('href');
    await operator.goto(submission);
    const mapping = await operator.locator('a[href^="/mappings/"]').first().getAttribute('href');
    await operator.goto(`/submissions?pipeline=${QUICK}&state=rejected`);
    const rejected = await operator.locator(`a[href^="/submissions/${QUICK}/"]`).first().getAttribute('href');
    expect([pass, mapping, rejected].every(Boolean)).toBe(true);

    const everyRole = ['/account', '/pipelines', `/pipelines/${QUICK}`, pass!];
    const readers = ['/submissions', `/submissions?q=${CITIZEN_REFERENCE}`, '/submissions?from=not-a-date', submission, rejected!, mapping!, '/dead-letters', deadLetterPath(LEGACY, 'F/A1'), '/audit', `/pipelines/no-such-pipeline`];
    const pages: [keyof typeof TEST_USERS, string[]][] = [
      ['viewer', [...everyRole, '/submissions', `/pipelines/no-such-pipeline`, '/no-such-page']],
      ['auditor', [...everyRole, ...readers]],
      ['evidence', [submission, rejected!]],
      // Where an operator's page differs: the controls and the dead letter's forms.
      ['operator', ['/pipelines', `/pipelines/${QUICK}`, deadLetterPath(LEGACY, 'F/A1'), deadLetterPath(FULL, 'F/C1'), '/dead-letters', submission]],
    ];
    for (const [who, paths] of pages) {
      const page = who === 'operator' ? operator : await as(who);
      for (const path of paths) {
        const status = await open(page, path);
        if (path.includes('no-such-')) expect(status).toBe(404);
        else if (who === 'viewer' && path === '/submissions') expect(status).toBe(403);
        else if (path.includes('not-a-date')) expect(status).toBe(400);
        else expect(status, `${who} ${path}`).toBe(200);
        found.push(...(await violations(page)).map((v) => `${who} ${v}`));
        // Nobody without evidence sees a citizen's answer.
        if (who !== 'evidence') {
          const html = await page.content();
          for (const c of citizens) if (html.includes(c)) found.push(`${who} ${path}: a citizen's answer`);
        }
      }
    }
    expect(found).toEqual([]);
  }, 240_000);

  it('reaches the skip link first by keyboard, which moves focus to main; the sign-in form is completed by keyboard alone', async () => {
    const page = await bc.newPage();
    await page.goto('/sign-in');
    await page.keyboard.press('Tab');
    expect((await page.locator(':focus').textContent())?.trim()).toBe('Skip to main content');
    // Without the skip link, the next Tab is on the header's links.
    await page.keyboard.press('Tab');
    expect(await page.locator('main :focus').count()).toBe(0);
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    // The skip link moves focus to main: the next Tab is on main's first control.
    await page.keyboard.press('Tab');
    expect(await page.locator('main :focus').count()).toBe(1);

    await page.goto('/sign-in?next=%2Fsubmissions');
    await page.keyboard.press('Tab'); // skip link
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.locator('#username:focus').count()) === 1;
    }
    expect(reached).toBe(true);
    await page.keyboard.type(TEST_USERS.auditor.name);
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').getAttribute('id')).toBe('password');
    await page.keyboard.type('correct horse battery staple');
    await Promise.all([page.waitForURL(/\/submissions$/), page.keyboard.press('Enter')]);
    expect(await page.locator('h1').textContent()).toMatch(/Submissions/);
  }, 60_000);

  it('signs in as each role; an auditor finds a submission by its citizen reference and sees its lineage, is offered no operator action and a forged POST is refused', async () => {
    for (const who of ['viewer', 'auditor', 'evidence', 'operator'] as const) {
      const page = await as(who);
      await page.goto('/account');
      expect(await page.locator('main').textContent()).toContain(TEST_USERS[who].name);
    }
    const auditor = await as('auditor');
    const seen: string[] = [];
    const submission = await findByReference(auditor);
    seen.push(await auditor.content());
    await auditor.goto(submission);
    const fields = auditor.locator('table#fields');
    expect(await fields.locator('caption').textContent()).toMatch(/lineage/);
    expect(await fields.locator('tbody tr').count()).toBeGreaterThan(3);
    seen.push(await auditor.content());

    const path = deadLetterPath(LEGACY, 'F/A1');
    await auditor.goto(path);
    seen.push(await auditor.content());
    expect(await auditor.locator('form[action$="/retry"], form[action$="/discard"], form[action$="/correct"]').count()).toBe(0);
    // A forged retry with the auditor's own session and CSRF token (from the sign-out form every page carries).
    const token = await auditor.locator('input[name="_csrf"]').first().getAttribute('value');
    const forged = await auditor.request.post(`${path}/retry`, { form: { _csrf: token! }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    for (const p of ['/pipelines', `/pipelines/${QUICK}`, '/dead-letters', '/audit', '/submissions?state=rejected']) {
      await auditor.goto(p);
      seen.push(await auditor.content());
    }
    for (const html of seen) for (const c of canaries()) expect(html).not.toContain(c);
  }, 60_000);

  it('lets an operator retry a dead letter (the legacy database was full) and the next pass delivers it', async () => {
    const operator = await as('operator');
    const path = deadLetterPath(FULL, 'F/C1');
    await operator.goto(path);
    expect(await operator.locator('main').textContent()).toMatch(/Dead/i);
    await Promise.all([operator.waitForURL(/done=retried/), operator.getByRole('button', { name: 'Retry' }).click()]);
    expect(await operator.locator('.govuk-notification-banner').textContent()).toMatch(/Sent back to received/);
    expect(await runPassUntilDelivered(operator, FULL, 'F/C1')).toBe(1);
  }, 60_000);

  it('lets an operator correct and resubmit a legacy refusal, delivered under the same key', async () => {
    const operator = await as('operator');
    // A legacy refusal is corrected, not retried: no Retry is offered for it.
    await operator.goto(deadLetterPath(LEGACY, 'F/A1'));
    expect(await operator.getByRole('button', { name: 'Retry' }).count()).toBe(0);

    const correct = deadLetterPath(LEGACY, 'F/A2');
    await operator.goto(correct);
    await operator.getByLabel(/SURNAME \(the field refused\)/).fill('VANTROBELISKA');
    await operator.getByLabel('Why are the values corrected?').fill('the legacy system wants upper case');
    await Promise.all([operator.waitForURL(/done=corrected/), operator.getByRole('button', { name: 'Correct and resubmit' }).click()]);
    expect(await violations(operator)).toEqual([]);

    // The next pass, started from the console, delivers the correction.
    expect(await runPassUntilDelivered(operator, LEGACY, 'F/A2')).toBe(1);
    // The other refusal, not corrected, is not delivered.
    expect(await operator.locator(`main a[href="/submissions/${LEGACY}/${encodeURIComponent('F/A1')}"]`).count()).toBe(0);
    expect(await operator.content()).not.toContain(REFUSED[1]);
  }, 60_000);

  it('exports the audit trail from /audit as a download that verifies offline', async () => {
    const auditor = await as('auditor');
    await auditor.goto('/audit');
    const [download] = await Promise.all([auditor.waitForEvent('download'), auditor.getByRole('button', { name: 'Download the export' }).click()]);
    const file = await download.path();
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    const publicKey = createPublicKey(await readFile(bc.verifyKey));
    const verify = (ls: string[]) =>
      verifyExport(
        (async function* () {
          yield* ls;
        })(),
        { publicKey },
      );
    const result = await verify(lines);
    expect(result.firstBad).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.sealed).toBe(true);
    expect(result.entries).toBeGreaterThan(10);
    // One character changed in an entry: the check finds the edit.
    const at = lines.findIndex((l) => l.includes('"event":"'));
    const tampered = lines.map((l, i) => (i === at ? l.replace(/"event":"([a-z])/, (_m, ch: string) => `"event":"${ch === 'a' ? 'b' : 'a'}`) : l));
    expect(tampered[at]).not.toBe(lines[at]);
    expect((await verify(tampered)).firstBad?.problem).toBe('edited');
    for (const c of canaries()) expect(text).not.toContain(c);
  }, 60_000);
});
