/**
 * Test helpers: a console on a real Fastify server over a real state store
 * (a temp SQLite file, or a given URL), with one user per role. Page tests
 * sign in with `signIn(role)` (a session cookie from the real sign-in form)
 * or use the API token of a role.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { stringify } from 'yaml';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { createLogger } from '../logging.js';
import { dataKeys, type Runtime } from '../runtime.js';
import { Scheduler } from '../serve/scheduler.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import type { ConsoleContext, ConsolePipeline } from './context.js';
import { registerConsole, SESSION_COOKIE, type ConsolePages } from './console.js';
import { hashPassword } from './passwords.js';
import { loadUsers, tokenHash, type Role } from './users.js';

/** The password of every test user. */
export const TEST_PASSWORD = 'correct horse battery staple';

/** The test users: one per role, and an auditor granted evidence. */
export const TEST_USERS: Record<'viewer' | 'auditor' | 'evidence' | 'operator', { name: string; role: Role; evidence: boolean; token: string }> = {
  viewer: { name: 'vera.viewer', role: 'viewer', evidence: false, token: 'rk_test_viewer_token_000000000000000000000' },
  auditor: { name: 'ann.auditor', role: 'auditor', evidence: false, token: 'rk_test_auditor_token_00000000000000000000' },
  evidence: { name: 'eve.evidence', role: 'auditor', evidence: true, token: 'rk_test_evidence_token_0000000000000000000' },
  operator: { name: 'olly.operator', role: 'operator', evidence: false, token: 'rk_test_operator_token_0000000000000000000' },
};

let hash: Promise<string> | undefined;
/** One cheap hash of TEST_PASSWORD per process (the lowest cost the users file accepts). */
function testHash(): Promise<string> {
  hash ??= hashPassword(TEST_PASSWORD, { N: 2 ** 14, r: 8, p: 1 });
  return hash;
}

/** Writes a users file for TEST_USERS (plus `extra` top-level keys such as `proxy`) into `dir`; resolves to its path. */
export async function writeTestUsers(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(dir, 'users.yaml');
  const password = await testHash();
  const users = Object.values(TEST_USERS).map((u) => ({ name: u.name, role: u.role, password, ...(u.evidence && { evidence: true }) }));
  const tokens = Object.values(TEST_USERS).map((u) => ({ name: `${u.name}-bot`, role: u.role, hash: `sha256:${tokenHash(u.token)}`, ...(u.evidence && { evidence: true }) }));
  writeFileSync(file, stringify({ users, tokens, ...extra }));
  return file;
}

/** A console under test. */
export interface TestConsole {
  url: string;
  app: FastifyInstance;
  runtime: Runtime;
  scheduler: Scheduler;
  /** Everything the console logged, as text (search it for canaries). */
  logged(): string;
  /** Signs in through the form as the user of `who`; resolves to a `cookie` header value holding the session and CSRF cookies. */
  signIn(who: keyof typeof TEST_USERS): Promise<string>;
  /** A CSRF token for forms, with the cookie header to send it with (from a GET of `path`). */
  formToken(cookie: string, path?: string): Promise<{ token: string; cookie: string }>;
  close(): Promise<void>;
}

/** Joins the Set-Cookie values of `res` onto `cookie` (name=value pairs only). */
export function mergeCookies(cookie: string, res: Response): string {
  const jar = new Map(cookie.split('; ').filter(Boolean).map((c) => [c.split('=')[0]!, c] as const));
  for (const c of res.headers.getSetCookie()) {
    const pair = c.split(';')[0]!;
    jar.set(pair.split('=')[0]!, pair);
  }
  return [...jar.values()].join('; ');
}

/** The CSRF token in a page's forms. */
export function csrfIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token on the page');
  return m[1]!;
}

/** Starts a console with `pages` on a fresh SQLite state store (or `stateUrl`), users per TEST_USERS unless `users: false`; `onRoute` sees every route as it is registered. */
export async function startTestConsole(opts: { pages?: ConsolePages[]; pipelines?: ConsolePipeline[]; users?: false | Record<string, unknown>; stateUrl?: string; runtime?: Runtime; extra?: Partial<ConsoleContext>; onRoute?: (route: RouteOptions) => void } = {}): Promise<TestConsole> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-console-'));
  let text = '';
  const log = createLogger({ level: 'debug', pretty: false, destination: new Writable({ write: (c: Buffer, _e, done) => ((text += c.toString()), done()) }) });
  let runtime = opts.runtime;
  if (!runtime) {
    const url = opts.stateUrl ?? `sqlite:${join(dir, 'state.sqlite')}`;
    const store = await openStateStore(url);
    const audit = new AuditLog(store);
    const ledger = new Ledger(store, audit, dataKeys(url, log, { REKEY_DATA_KEY: TEST_DATA_KEY }));
    runtime = { store, audit, ledger, close: () => store.close() };
  }
  const users = opts.users === false ? undefined : await loadUsers(await writeTestUsers(dir, opts.users ?? {}));
  const scheduler = new Scheduler(log);
  const app = Fastify();
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  registerConsole(app, { runtime, pipelines: opts.pipelines ?? [], scheduler, log, piiKey: Buffer.alloc(32, 7), users, pages: opts.pages ?? [], ...opts.extra });
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('127.0.0.1', 'localhost');
  const formToken = async (cookie: string, path = '/sign-in') => {
    const res = await fetch(`${url}${path}`, { headers: { cookie } });
    return { token: csrfIn(await res.text()), cookie: mergeCookies(cookie, res) };
  };
  return {
    url,
    app,
    runtime,
    scheduler,
    logged: () => text,
    formToken,
    async signIn(who) {
      const { token, cookie } = await formToken('');
      const res = await fetch(`${url}/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: token, username: TEST_USERS[who].name, password: TEST_PASSWORD, next: '/' }),
      });
      if (res.status !== 303) throw new Error(`sign-in as ${who} answered ${res.status}`);
      const merged = mergeCookies(cookie, res);
      if (!merged.includes(SESSION_COOKIE)) throw new Error('sign-in set no session cookie');
      return merged;
    },
    async close() {
      await app.close();
      await scheduler.stop();
      if (!opts.runtime) await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
