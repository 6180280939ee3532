import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { piiHash } from '../../../pipelines/audit/pii.js';
import { purgePipeline } from '../../../pipelines/privacy/purge.js';
import { rekey, TEST_PII_KEY_HEX } from '../../cli.test-helpers.js';
import { loadPipelineFile } from '../../pipeline-files.js';
import { copyQuickStart, QUICK_START, quickStartCanaries } from '../../quick-start.test-helpers.js';
import { csrfIn, mergeCookies, startTestConsole, TEST_USERS, type TestConsole } from '../console.test-helpers.js';
import { PREFIX_MIN_LENGTH } from '../../../pipelines/ledger/search.js';
import { submissionsPages } from './submissions.pages.js';
import { submissionHref } from './submission.view.js';

const P = 'change-of-address';
const FORM = 'Change the address on your driving licence';
const WELSH = 'Newid y cyfeiriad ar eich trwydded yrru';
const CA3 = `${FORM}/CA3HJ7WR`;
const env = { REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, REKEY_LOG_LEVEL: 'warn' };

/** HTML text back to characters (the entities Nunjucks' autoescape writes). */
const unescape = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const canaries = quickStartCanaries;

/** The canary values found in `html` (read as text). */
const leaked = (html: string) => canaries().filter((v) => unescape(html).includes(v));

/** The references (form references) linked from a list page's table, in order. */
const listed = (html: string) => [...html.matchAll(/<a class="govuk-link" href="\/submissions\/[^"]+">([^<]+)<span class="govuk-visually-hidden">/g)].map((m) => m[1]!);

describe('console Submissions pages, on a real pass of the quick start', () => {
  let dir = '';
  let tc: TestConsole;
  const cookies: Partial<Record<keyof typeof TEST_USERS, string>> = {};
  const as = async (who: keyof typeof TEST_USERS) => (cookies[who] ??= await tc.signIn(who));
  const get = async (who: keyof typeof TEST_USERS | null, path: string) => {
    const res = await fetch(`${tc.url}${path}`, { redirect: 'manual', headers: who ? { cookie: await as(who) } : {} });
    return { status: res.status, location: res.headers.get('location'), html: await res.text() };
  };
  /** Posts a form of the page at `page` to `action` as `who`, with the page's CSRF token unless `csrf: false`. */
  const post = async (who: keyof typeof TEST_USERS, page: string, action: string, fields: Record<string, string> = {}, csrf = true) => {
    const first = await fetch(`${tc.url}${page}`, { headers: { cookie: await as(who) } });
    const cookie = mergeCookies(await as(who), first);
    const html = await first.text();
    const body = new URLSearchParams({ ...(csrf && { _csrf: csrfIn(html) }), ...fields });
    const res = await fetch(`${tc.url}${action}`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body });
    return { status: res.status, headers: res.headers, html: await res.text() };
  };
  const evidenceOpened = async (key: string) => (await tc.runtime.audit.entriesFor(P, key)).filter((e) => e.event === 'evidence-opened');

  beforeAll(async () => {
    dir = copyQuickStart('rekey-console-submissions-');
    expect((await rekey(['run', QUICK_START], dir, env)).code).toBe(1);
    expect((await rekey(['run', QUICK_START], dir, env)).code).toBe(0);
    const loaded = await loadPipelineFile(join(dir, QUICK_START));
    const def = loaded.pipeline!.def;
    tc = await startTestConsole({ pages: [submissionsPages], stateUrl: `sqlite:${join(dir, '.rekey/state.sqlite')}`, pipelines: [{ name: P, file: join(dir, QUICK_START), def }] });
  }, 120_000);
  afterAll(async () => {
    await tc?.close();
  });

  it('sends a visitor who is not signed in to sign in, from every page', async () => {
    for (const path of ['/submissions', '/submissions?q=CA3HJ7WR', submissionHref(P, CA3), '/mappings/sha256:00']) {
      const r = await get(null, path);
      expect(r.status, path).toBe(303);
      expect(r.location).toBe(`/sign-in?next=${encodeURIComponent(path)}`);
      expect(r.html).not.toContain('CA3HJ7WR');
    }
    const posted = await fetch(`${tc.url}${submissionHref(P, CA3)}/sent`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(posted.status).toBe(401);
    expect(await evidenceOpened(CA3)).toEqual([]);
  });

  it('refuses a viewer every page with 403 and no submission data', async () => {
    const version = (await tc.runtime.ledger.get(P, CA3))!.mappingVersion!;
    for (const path of ['/submissions', '/submissions?q=ca3hj7wr', submissionHref(P, CA3), `/mappings/${version}`]) {
      const r = await get('viewer', path);
      expect(r.status, path).toBe(403);
      expect(r.html).toContain('You cannot do that');
      expect(r.html).not.toContain('CA3HJ7WR');
      expect(leaked(r.html)).toEqual([]);
    }
  });

  it("finds a submission by the citizen's reference in any case: one row, linking to its page", async () => {
    for (const q of ['CA3HJ7WR', 'ca3hj7wr', 'Ca3Hj7Wr']) {
      const r = await get('auditor', `/submissions?q=${q}`);
      expect(r.status).toBe(200);
      expect(listed(r.html)).toEqual(['CA3HJ7WR']);
      expect(r.html).toContain(`href="${submissionHref(P, CA3)}"`);
      expect(r.html).toContain('matched by reference');
      expect(r.html).toContain(`value="${q}"`);
      expect(r.html).not.toContain('govuk-form-group--error');
    }
  });

  it('finds a submission by its legacy reference and by the start of a key', async () => {
    const legacy = await get('auditor', '/submissions?q=1');
    expect(legacy.status).toBe(200);
    expect(listed(legacy.html)).toContain('CA3HJ7WR');
    expect(legacy.html).toContain('matched by legacy-ref');
    const all = listed((await get('auditor', '/submissions?limit=500')).html);
    const english = listed((await get('auditor', `/submissions?q=${encodeURIComponent('change the ADDRESS')}`)).html);
    const welsh = listed((await get('auditor', `/submissions?q=${encodeURIComponent(WELSH.slice(0, 9))}`)).html);
    expect(english).toContain('CA3HJ7WR');
    expect(welsh).toEqual(expect.arrayContaining(['K72MP4XB', 'WY3TD4KP']));
    expect(welsh).not.toContain('CA3HJ7WR');
    expect([...english, ...welsh].sort()).toEqual([...all].sort());
    const none = await get('auditor', '/submissions?q=ZZ9ZZ9');
    expect(none.html).toContain('No submission matches');
  });

  it('says plainly when a reference was too short to match as a start, and matches it whole', async () => {
    const hint = `whole, or its first ${PREFIX_MIN_LENGTH} characters or more`;
    const short = await get('auditor', '/submissions?q=Zq');
    expect(short.status).toBe(200);
    expect(short.html).toContain(hint);
    expect(unescape(short.html)).toContain(`<div class="govuk-inset-text" id="whole-only">Only whole references were matched: the start of a reference is matched from ${PREFIX_MIN_LENGTH} characters.`);
    expect(short.html).toContain('No submission matches');
    // The note never repeats what was typed; the form keeps it, and the log has none of it.
    expect(/id="whole-only">[^<]*Zq/.test(short.html)).toBe(false);
    expect(short.html).toContain('value="Zq"');
    expect(tc.logged()).not.toContain('Zq');
    // Two characters of a real reference find nothing; three find it by its start.
    expect(listed((await get('auditor', '/submissions?q=ca')).html)).toEqual([]);
    const three = await get('auditor', '/submissions?q=ca3');
    expect(listed(three.html)).toEqual(['CA3HJ7WR']);
    expect(three.html).toContain('matched by prefix');
    expect(three.html).not.toContain('whole-only');
    // A whole reference of one character (the legacy reference) still matches.
    const legacy = await get('auditor', '/submissions?q=1');
    expect(legacy.html).toContain('matched by legacy-ref');
    expect(legacy.html).toContain('id="whole-only"');
  });

  it('filters by state, pipeline and date range, and says what is wrong with a bad filter', async () => {
    const rejected = await get('auditor', '/submissions?state=rejected');
    const rows = listed(rejected.html);
    expect(rows).toContain('N84YC3TS');
    expect(rows).not.toContain('CA3HJ7WR');
    expect(rejected.html).toMatch(/<input class="govuk-checkboxes__input" id="state-\d*" name="state" type="checkbox" value="rejected" checked>|value="rejected" checked/);
    const both = listed((await get('auditor', '/submissions?state=rejected&state=delivered')).html);
    expect(both).toEqual(expect.arrayContaining(['N84YC3TS', 'CA3HJ7WR']));
    expect(listed((await get('auditor', `/submissions?pipeline=${P}&q=ca3h`)).html)).toEqual(['CA3HJ7WR']);
    expect(listed((await get('auditor', '/submissions?pipeline=another&q=ca3h')).html)).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(listed((await get('auditor', `/submissions?q=ca3h&from=${today}&to=${today}`)).html)).toEqual(['CA3HJ7WR']);
    expect(listed((await get('auditor', '/submissions?q=ca3h&from=2020-01-01&to=2020-12-31')).html)).toEqual([]);
    const bad = await get('auditor', '/submissions?from=2026-02-30&state=lost');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('There is a problem');
    expect(bad.html).toContain('Changed from must be a date, like 2026-06-01');
    expect(bad.html).toContain('Choose states from the list');
    expect(bad.html).toContain('<title>Error: Submissions');
    expect(bad.html.match(/govuk-form-group--error/g)).toHaveLength(2);
    const cursor = await get('auditor', '/submissions?after=not-a-cursor');
    expect(cursor.status).toBe(400);
    expect(cursor.html).toContain('That page link is out of date');
  });

  it('pages through every submission newest first by keyset links, Older then Newer back', async () => {
    const all = listed((await get('auditor', '/submissions?limit=500')).html);
    expect(all.length).toBeGreaterThan(8);
    const pages: string[][] = [];
    const hrefs: string[] = [];
    let path: string | undefined = '/submissions?limit=3';
    while (path && pages.length < 20) {
      const r = await get('auditor', path);
      expect(r.status).toBe(200);
      pages.push(listed(r.html));
      hrefs.push(path);
      const older = /<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"/.exec(r.html)?.[1];
      path = older ? unescape(older) : undefined;
    }
    expect(pages.flat()).toEqual(all);
    expect(pages.length).toBe(Math.ceil(all.length / 3));
    expect(hrefs[2]).toMatch(/after=[A-Za-z0-9_-]+&trail=[A-Za-z0-9_-]+/);
    const third = await get('auditor', hrefs[2]!);
    const newer = unescape(/<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="prev"/.exec(third.html)![1]!);
    expect(listed((await get('auditor', newer)).html)).toEqual(pages[1]);
    expect(third.html).toContain('Back to the newest submissions');
  });

  it("shows a delivered submission's header, timeline and lineage with every value masked, to an auditor", async () => {
    const r = await get('auditor', submissionHref(P, CA3));
    expect(r.status).toBe(200);
    const text = unescape(r.html);
    const version = (await tc.runtime.ledger.get(P, CA3))!.mappingVersion!;
    expect(text).toContain('<h1 class="govuk-heading-l">Submission CA3HJ7WR</h1>');
    expect(text).toMatch(/<dt class="govuk-summary-list__key">State<\/dt>\s*<dd class="govuk-summary-list__value">delivered \(not confirmed by the legacy system\)<\/dd>/);
    expect(text).toMatch(/<dt class="govuk-summary-list__key">Legacy reference<\/dt>\s*<dd class="govuk-summary-list__value">1<\/dd>/);
    expect(text).toMatch(/<dt class="govuk-summary-list__key">Source<\/dt>\s*<dd class="govuk-summary-list__value">change-of-address.ndjson:1<\/dd>/);
    expect(text).toContain(`href="/mappings/${encodeURIComponent(version)}">${version}</a>`);
    expect(text).toContain('sqlite .rekey/legacy.sqlite, DRV_ADDR_CHG');
    expect(text).toMatch(/Record as sent \(hash\)<\/dt>\s*<dd class="govuk-summary-list__value">sha256:[0-9a-f]{64}</);
    expect(text).toContain('kept, encrypted at rest');
    for (const what of ['received, mapped and handed to delivery', 'attempt 1: delivered, legacy ref 1', 'received again, same content (ignored)']) expect(text).toContain(what);
    expect(text).toMatch(/runner:[^<]+<br><a class="govuk-link govuk-body-s" href="\/passes\/[0-9a-f-]{36}">/);
    expect(text).toMatch(/<span class="rekey-nowrap">SURNAME<\/span> <strong class="govuk-tag govuk-tag--purple">\s*PII\s*<\/strong>\s*<br><span class="govuk-body-s">required<\/span><\/th>\s*<td class="govuk-table__cell">answer Fn3kQ8aZ.last_name \("What is your name\?"\)<\/td>/);
    expect(text.match(/>masked</g)?.length).toBe(20);
    expect(text).toContain('Values are masked. A user granted evidence may open the record as sent');
    expect(text).not.toContain('Show the record as sent');
    expect(text).not.toContain('/dead-letters/');
    const values = canaries();
    expect(values).toContain("O'CONNOR");
    expect(leaked(r.html)).toEqual([]);
  });

  it("shows a rejected submission's field and reason; an operator gets the dead letters link", async () => {
    const key = `${FORM}/N84YC3TS`;
    const auditor = await get('auditor', submissionHref(P, key));
    expect(auditor.status).toBe(200);
    expect(auditor.html).toMatch(/<dt class="govuk-summary-list__key">Rejected for<\/dt>\s*<dd class="govuk-summary-list__value">MAPPING_[A-Z_]+/);
    expect(auditor.html).toContain('rejected by the mapping');
    expect(auditor.html).toContain('not delivered');
    expect(auditor.html).not.toContain('/dead-letters/');
    const operator = await get('operator', submissionHref(P, key));
    expect(operator.html).toContain(`href="/dead-letters/${encodeURIComponent(P)}/${encodeURIComponent(key)}"`);
    expect(leaked(auditor.html)).toEqual([]);
    expect(leaked(operator.html)).toEqual([]);
  });

  it('answers 404 for an unknown key, and for a pipeline the store does not hold', async () => {
    for (const path of [submissionHref(P, `${FORM}/ZZ9ZZ9ZZ`), submissionHref('no-such-pipeline', CA3), '/mappings/sha256:0000ffff']) {
      const r = await get('auditor', path);
      expect(r.status, path).toBe(404);
    }
  });

  it('shows a mapping version: its lineage and its stored text, by full version or its start', async () => {
    const version = (await tc.runtime.ledger.get(P, CA3))!.mappingVersion!;
    for (const ref of [version, version.slice(0, 'sha256:'.length + 10)]) {
      const r = await get('auditor', `/mappings/${encodeURIComponent(ref)}`);
      expect(r.status).toBe(200);
      const text = unescape(r.html);
      expect(text).toContain(version);
      expect(text).toContain('answer Fn3kQ8aZ.last_name ("What is your name?")');
      expect(text).toContain(`mapping change-of-address, version ${version}`);
      expect(text).toContain(P);
      expect(leaked(r.html)).toEqual([]);
    }
  });

  it('refuses an auditor without evidence the record as sent, and checks the CSRF token of an evidence user', async () => {
    const page = submissionHref(P, CA3);
    const auditor = await post('auditor', page, `${page}/sent`);
    expect(auditor.status).toBe(403);
    const forged = await post('evidence', page, `${page}/sent`, {}, false);
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('The form was out of date');
    expect(await evidenceOpened(CA3)).toEqual([]);
    expect(leaked(auditor.html + forged.html)).toEqual([]);
  });

  it('shows an evidence user the record as sent, audited once as the console user; the page is masked again after', async () => {
    const page = submissionHref(P, CA3);
    const before = await get('evidence', page);
    expect(before.html).toContain('Show the record as sent');
    expect(leaked(before.html)).toEqual([]);
    const opened = await post('evidence', page, `${page}/sent`);
    expect(opened.status).toBe(200);
    const text = unescape(opened.html);
    expect(text).toMatch(/<span class="rekey-nowrap">WEB_REF<\/span>[\s\S]*?<span class="rekey-mono">CA3HJ7WR<\/span>/);
    expect(text).toContain("O'CONNOR");
    expect(leaked(opened.html).length).toBeGreaterThan(3);
    expect(text).not.toContain('>masked<');
    const entries = await evidenceOpened(CA3);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: `console:${TEST_USERS.evidence.name}`, detail: { keys: [CA3], kind: 'sent' } });
    expect(text).toContain(`Opened as console:${TEST_USERS.evidence.name}: audit entry #${entries[0]!.seq}`);
    expect(text).toContain('record as sent decrypted for an operator');
    const again = await get('evidence', page);
    expect(leaked(again.html)).toEqual([]);
    expect(again.html.match(/>masked</g)?.length).toBe(20);
    expect(await evidenceOpened(CA3)).toHaveLength(1);
    expect(leaked(tc.logged())).toEqual([]);
    const rejected = `${FORM}/N84YC3TS`;
    const nothing = await post('evidence', submissionHref(P, rejected), `${submissionHref(P, rejected)}/sent`);
    expect(nothing.status).toBe(200);
    expect(await evidenceOpened(rejected)).toEqual([]);
    const evidence = await post('evidence', page, `${page}/evidence`, { file: 'CA3HJ7WR.png' });
    expect(evidence.status).toBe(404);
    expect(await evidenceOpened(CA3)).toHaveLength(1);
  });

  it('lets an evidence user download an evidence file kept for a submission, audited; an auditor sees no button and is refused', async () => {
    const key = `${WELSH}/K72MP4XB`;
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('a screenshot')]);
    mkdirSync(join(dir, 'evidence'), { recursive: true });
    await tc.runtime.ledger.sealedFiles(P).write(join(dir, 'evidence', 'K72MP4XB-attempt1-1.png.sealed'), png, { kind: 'evidence', subject: key });
    const page = submissionHref(P, key);
    const auditor = await get('auditor', page);
    expect(auditor.html).toContain('K72MP4XB-attempt1-1.png');
    expect(auditor.html).not.toContain('Download K72MP4XB-attempt1-1.png');
    expect((await post('auditor', page, `${page}/evidence`, { file: 'K72MP4XB-attempt1-1.png' })).status).toBe(403);
    expect(await evidenceOpened(key)).toEqual([]);
    expect((await get('evidence', page)).html).toContain('Download K72MP4XB-attempt1-1.png');
    const first = await fetch(`${tc.url}${page}`, { headers: { cookie: await as('evidence') } });
    const cookie = mergeCookies(await as('evidence'), first);
    const res = await fetch(`${tc.url}${page}/evidence`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfIn(await first.text()), file: 'K72MP4XB-attempt1-1.png' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="K72MP4XB-attempt1-1.png"');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(png);
    const entries = await evidenceOpened(key);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: `console:${TEST_USERS.evidence.name}`, detail: { keys: [key], kind: 'evidence', files: ['K72MP4XB-attempt1-1.png.sealed'] } });
  });

  it("keeps the legacy system's text of an error sealed; an evidence user opens it, audited, an auditor cannot", async () => {
    const [row] = (await tc.runtime.ledger.list(P, { states: ['delivered'], limit: 50 })).filter((r) => r.key !== CA3 && !r.key.endsWith('/K72MP4XB'));
    const key = row!.key;
    const text = `ANSWER E114: no licence holder called Zebedee Canarywright${Date.now().toString(36)}`;
    const textHash = piiHash(text, Buffer.from(TEST_PII_KEY_HEX, 'hex'));
    const error = { code: 'LEGACY_REJECTED', disposition: 'reject' as const, message: 'the legacy system rejected the record in its answer', legacyText: text, textHash };
    await tc.runtime.ledger.apply(P, null, [{ key, to: 'dead', error }], 'operator:test');
    const page = submissionHref(P, key);
    const auditor = await get('auditor', page);
    expect(auditor.status).toBe(200);
    expect(unescape(auditor.html)).toContain("The legacy system's own text of this error is kept sealed. A user granted evidence may open it");
    expect(unescape(auditor.html)).not.toContain(text);
    expect((await post('auditor', page, `${page}/legacy-text`)).status).toBe(403);
    const before = await get('evidence', page);
    expect(unescape(before.html)).toContain("Show the legacy system's text");
    expect(unescape(before.html)).not.toContain(text);
    const opened = await post('evidence', page, `${page}/legacy-text`);
    expect(opened.status).toBe(200);
    const entries = await evidenceOpened(key);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actor: `console:${TEST_USERS.evidence.name}`, detail: { keys: [key], kind: 'legacy-error' } });
    expect(unescape(opened.html)).toContain(`<p class="govuk-body rekey-mono">${text}</p>`);
    expect(unescape(opened.html)).toContain(`Opened as console:${TEST_USERS.evidence.name}: audit entry #${entries[0]!.seq}`);
    expect(unescape((await get('evidence', page)).html)).not.toContain(text);
    expect(tc.logged()).not.toContain('Canarywright');
    const raw = await tc.runtime.store.select<{ detail: string | null }>('SELECT detail FROM audit_log');
    expect(JSON.stringify(raw)).not.toContain('Canarywright');
  });

  it('still shows the audit trail of a submission whose ledger row the retention policy purged', async () => {
    const day = 86_400_000;
    await purgePipeline(tc.runtime.store, tc.runtime.audit, P, { bodiesMs: day, evidenceMs: day, inboxDoneMs: day, inboxQuarantineMs: day, ledgerMs: day }, { actor: 'operator:test', now: new Date(Date.now() + 2 * day) });
    expect(await tc.runtime.ledger.get(P, CA3)).toBeNull();
    const r = await get('auditor', submissionHref(P, CA3));
    expect(r.status).toBe(200);
    const text = unescape(r.html);
    expect(text).toContain('Its ledger row was purged by the retention policy');
    expect(text).toContain('attempt 1: delivered, legacy ref 1');
    expect(text).toContain('ledger row purged by the retention policy; its audit trail remains');
    expect(leaked(r.html)).toEqual([]);
    const sent = await post('evidence', submissionHref(P, CA3), `${submissionHref(P, CA3)}/sent`);
    expect(sent.status).toBe(400);
    expect(sent.html).toContain('the retention policy removed it with the body');
    expect(leaked(sent.html)).toEqual([]);
  });
});
