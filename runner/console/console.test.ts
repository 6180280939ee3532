import { afterEach, describe, expect, it } from 'vitest';
import { CSRF_COOKIE, SESSION_COOKIE, SIGN_IN_PER_MINUTE } from './console.js';
import { csrfIn, mergeCookies, startTestConsole, TEST_PASSWORD, TEST_USERS, type TestConsole } from './console.test-helpers.js';

let c: TestConsole | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields) });

async function postSignIn(t: TestConsole, fields: Record<string, string>, cookie?: string) {
  const got = await t.formToken(cookie ?? '');
  const { body, ...headers } = form({ _csrf: got.token, ...fields });
  return fetch(`${t.url}/sign-in`, { method: 'POST', redirect: 'manual', headers: { cookie: got.cookie, ...headers }, body });
}

describe('console sign-in', () => {
  it('sends a signed-out visitor to the sign-in page, and back to the page asked for after signing in', async () => {
    c = await startTestConsole();
    const first = await fetch(`${c.url}/account`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/sign-in?next=%2Faccount');
    const page = await fetch(`${c.url}/sign-in?next=%2Faccount`);
    const html = await page.text();
    expect(html).toContain('<label class="govuk-label" for="username">');
    expect(html).toContain('name="next" value="/account"');
    const res = await postSignIn(c, { username: TEST_USERS.operator.name, password: TEST_PASSWORD, next: '/account' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
    const session = res.headers.getSetCookie().find((s) => s.startsWith(`${SESSION_COOKIE}=`))!;
    expect(session).toMatch(/; Path=\//);
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; SameSite=Strict/);
    const account = await fetch(`${c.url}/account`, { headers: { cookie: mergeCookies('', res) } });
    expect(account.status).toBe(200);
    const text = await account.text();
    expect(text).toContain('olly.operator');
    expect(text).toMatch(/May act \(pause, run, retry, discard, correct\)\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*yes/);
  });

  it('refuses a wrong password and an unknown user alike, and logs no password', async () => {
    c = await startTestConsole();
    for (const username of [TEST_USERS.auditor.name, 'nobody.here']) {
      const res = await postSignIn(c, { username, password: 'Canary-Pa55word' });
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie().some((s) => s.startsWith(SESSION_COOKIE))).toBe(false);
      const html = await res.text();
      expect(html).toContain('The user name or password is not right');
      expect(html).toContain('<title>Error: Sign in – rekey</title>');
      expect(html).not.toContain('Canary-Pa55word');
    }
    expect(c.logged()).toContain('console sign-in refused');
    expect(c.logged()).not.toContain('Canary-Pa55word');
    expect(c.logged()).not.toContain('nobody.here');
  });

  it('asks for both fields when either is missing', async () => {
    c = await startTestConsole();
    const res = await postSignIn(c, { username: '', password: '' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('<a href="#username">Enter your user name</a>');
    expect(html).toContain('<a href="#password">Enter your password</a>');
  });

  it('refuses a sign-in form without its CSRF token', async () => {
    c = await startTestConsole();
    const { body, ...headers } = form({ username: TEST_USERS.operator.name, password: TEST_PASSWORD });
    const res = await fetch(`${c.url}/sign-in`, { method: 'POST', redirect: 'manual', headers: { ...headers, accept: 'text/html' }, body });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((s) => s.startsWith(SESSION_COOKIE))).toBe(false);
  });

  it(`allows ${SIGN_IN_PER_MINUTE} sign-in attempts a minute from one address, then answers 429`, async () => {
    c = await startTestConsole();
    const statuses: number[] = [];
    for (let i = 0; i <= SIGN_IN_PER_MINUTE; i++) statuses.push((await postSignIn(c, { username: TEST_USERS.viewer.name, password: 'wrong' })).status);
    expect(statuses.slice(0, SIGN_IN_PER_MINUTE)).toEqual(Array(SIGN_IN_PER_MINUTE).fill(401));
    expect(statuses[SIGN_IN_PER_MINUTE]).toBe(429);
  });

  it('ends the session on sign-out: the old cookie no longer signs anyone in', async () => {
    c = await startTestConsole();
    const cookie = await c.signIn('auditor');
    expect((await fetch(`${c.url}/account`, { headers: { cookie } })).status).toBe(200);
    const { token, cookie: withCsrf } = await c.formToken(cookie, '/account');
    const out = await fetch(`${c.url}/sign-out`, { method: 'POST', redirect: 'manual', headers: { cookie: withCsrf, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: token }) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/sign-in');
    const again = await fetch(`${c.url}/account`, { redirect: 'manual', headers: { cookie } });
    expect(again.status).toBe(303);
    const [{ n } = { n: -1 }] = await c.runtime.store.select<{ n: number }>('SELECT COUNT(*) AS n FROM console_sessions');
    expect(Number(n)).toBe(0);
  });

  it('keeps only a hash of the session token in the state store', async () => {
    c = await startTestConsole();
    const cookie = await c.signIn('viewer');
    const token = decodeURIComponent(/__Host-rekey-session=([^;]+)/.exec(cookie)![1]!);
    const rows = await c.runtime.store.select<Record<string, unknown>>('SELECT * FROM console_sessions');
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.user_name).toBe(TEST_USERS.viewer.name);
  });
});

describe('console tokens, proxy and headers', () => {
  it('takes an API token of the users file, and refuses an unknown one with 401', async () => {
    c = await startTestConsole();
    const ok = await fetch(`${c.url}/account`, { headers: { authorization: `Bearer ${TEST_USERS.evidence.token}` } });
    expect(ok.status).toBe(200);
    const html = await ok.text();
    expect(html).toContain('eve.evidence-bot');
    expect(html).toContain('API token');
    const bad = await fetch(`${c.url}/account`, { headers: { authorization: 'Bearer rk_not_a_token' } });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: { code: 'CONSOLE_TOKEN_UNKNOWN', message: 'the API token is not one of the users file' } });
  });

  it('believes the proxy header only from a trusted proxy address', async () => {
    c = await startTestConsole({ users: { proxy: { header: 'X-Forwarded-User', trusted: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] } } });
    const ok = await fetch(`${c.url}/account`, { headers: { 'x-forwarded-user': TEST_USERS.auditor.name } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('single sign-on (proxy)');
    const unknown = await fetch(`${c.url}/account`, { redirect: 'manual', headers: { 'x-forwarded-user': 'mallory' } });
    expect(unknown.status).toBe(303);
    await c.close();
    c = await startTestConsole({ users: { proxy: { header: 'X-Forwarded-User', trusted: ['10.9.8.7'] } } });
    const untrusted = await fetch(`${c.url}/account`, { redirect: 'manual', headers: { 'x-forwarded-user': TEST_USERS.auditor.name } });
    expect(untrusted.status).toBe(303);
  });

  it('sends a nonce-based content security policy, no-store and frame denial on every page', async () => {
    c = await startTestConsole();
    const res = await fetch(`${c.url}/sign-in`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(await res.text()).toContain(`<script nonce="${nonce}">`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.getSetCookie().some((s) => s.startsWith(`${CSRF_COOKIE}=`) && /HttpOnly/.test(s) && /Secure/.test(s))).toBe(true);
  });

  it('serves the stylesheet built from govuk-frontend, without the GOV.UK-only font', async () => {
    c = await startTestConsole();
    const css = await fetch(`${c.url}/assets/console.css`);
    expect(css.status).toBe(200);
    const text = await css.text();
    expect(text).toContain('.govuk-button');
    expect(text).not.toContain('GDS Transport');
    expect((await fetch(`${c.url}/assets/fonts/bold-b542beb274-v2.woff2`)).status).toBe(404);
  });

  it('without a users file, answers every page 503 "not set up" and shows no sign-in form', async () => {
    c = await startTestConsole({ users: false });
    for (const path of ['/', '/account', '/sign-in']) {
      const res = await fetch(`${c.url}${path}`, { redirect: 'manual' });
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain('The console is not set up');
      expect(html).not.toContain('name="password"');
    }
  });

  it('uses the CSRF token of the page in the sign-out form', async () => {
    c = await startTestConsole();
    const cookie = await c.signIn('viewer');
    const html = await (await fetch(`${c.url}/account`, { headers: { cookie } })).text();
    expect(html).toMatch(/<form method="post" action="\/sign-out"/);
    expect(csrfIn(html).length).toBeGreaterThan(20);
  });
});
