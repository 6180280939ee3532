/**
 * The console of `rekey serve`: server-rendered pages (GOV.UK Design
 * System, no JavaScript needed) where ops teams steer pipelines and
 * auditors follow submissions. This module registers, in one Fastify
 * scope: security headers with a nonce-based content security policy, the
 * stylesheet and images, sign-in and sign-out, who the request is from
 * (session cookie, trusted proxy header or API token), CSRF protection for
 * forms, and then each page module given to it.
 *
 * Without a users file the console holds no data at all: every page
 * answers that it is not set up (see docs/console.md).
 */
import { createHmac } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { join } from 'node:path';
import { ConsoleErrors } from './console.errors.js';
import { consoleActor, may, type ConsoleContext, type ConsoleUser, type PageData, type Permission } from './context.js';
import { DEFAULT_COST, hashPassword, verifyPassword } from './passwords.js';
import { packageRoot } from '../package-info.js';
import { assetsDir, consoleViews, govukDist, warmViews } from './render.js';
import { DEFAULT_SESSION_TIMES, Sessions, type SessionTimes } from './sessions.js';
import { tokenHash, type ConsoleUsers } from './users.js';

/** The session cookie: `__Host-` so that it is Secure, host-only and for the whole site. */
export const SESSION_COOKIE = '__Host-rekey-session';
/** The cookie holding the CSRF secret. */
export const CSRF_COOKIE = '__Host-rekey-csrf';
/** Sign-in attempts allowed per client address per minute. */
export const SIGN_IN_PER_MINUTE = 10;

/** A page module: registers its routes on the console's scope. */
export type ConsolePages = (app: FastifyInstance, ctx: ConsoleContext) => void;

/** What `registerConsole` needs beside the context's parts. */
export interface ConsoleOptions extends Omit<ConsoleContext, 'actorOf' | 'render' | 'guard' | 'csrf'> {
  /** The users file, checked; undefined when none is configured (the console then shows no data). */
  users: ConsoleUsers | undefined;
  /** The page modules. */
  pages: readonly ConsolePages[];
  sessionTimes?: SessionTimes;
}

const COOKIE_OPTS = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;

/** A `next` target that stays on this site: a path, not `//host` or a URL. */
function localPath(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && next.length < 2000 ? next : '/';
}

/** Whether to answer with a page (a browser's GET) rather than JSON (an API client: a token, or JSON asked for). */
function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return req.method === 'GET' && !req.headers.authorization && !(accept.includes('json') && !accept.includes('html'));
}

/** Registers the console on `app`, in its own scope; it loads when the app starts listening (or on `app.ready()`). */
export function registerConsole(app: FastifyInstance, opts: ConsoleOptions): void {
  const root = packageRoot();
  const views = consoleViews(root);
  app.addHook('onReady', async () => warmViews(views, root));
  const sessions = new Sessions(opts.runtime.store, opts.sessionTimes ?? DEFAULT_SESSION_TIMES);
  // Signing secret for the CSRF cookie, the same on every runner sharing the audit PII key.
  const cookieSecret = createHmac('sha256', opts.piiKey).update('rekey console cookies').digest('base64');
  let dummyHash: Promise<string> | undefined;
  const users = opts.users;

  void app.register(async (scope) => {
    await scope.register(fastifyHelmet, {
      enableCSPNonces: true,
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
        },
      },
      // The console's pages are same-origin only and never embedded.
      crossOriginEmbedderPolicy: false,
    });
    await scope.register(fastifyCookie, { secret: cookieSecret });
    await scope.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
    await scope.register(fastifyCsrf, { sessionPlugin: '@fastify/cookie', cookieKey: CSRF_COOKIE, cookieOpts: { ...COOKIE_OPTS, signed: true } });
    await scope.register(fastifyRateLimit, { global: false });
    await scope.register(fastifyStatic, {
      root: [assetsDir(root), join(govukDist(), 'govuk', 'assets')],
      prefix: '/assets/',
      index: false,
      maxAge: '1h',
      allowedPath: (path) => !path.includes('/fonts/'),
    });

    scope.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      if (!users) return;
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (bearer !== undefined) {
        const t = users.tokens.get(tokenHash(bearer));
        if (!t) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: ConsoleErrors.CONSOLE_TOKEN_UNKNOWN.code, message: 'the API token is not one of the users file' } });
        req.consoleUser = { name: t.name, role: t.role, evidence: t.evidence, via: 'token' };
        return;
      }
      const proxy = users.proxy;
      const asserted = proxy && req.headers[proxy.header];
      if (proxy && typeof asserted === 'string' && proxy.trusted.includes(req.socket.remoteAddress ?? '')) {
        const u = users.users.get(asserted);
        if (u) req.consoleUser = { name: u.name, role: u.role, evidence: u.evidence, via: 'proxy' };
        return;
      }
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie) {
        const name = await sessions.user(cookie);
        const u = name === undefined ? undefined : users.users.get(name);
        if (u) req.consoleUser = { name: u.name, role: u.role, evidence: u.evidence, via: 'password' };
      }
    });

    const nav = (user: ConsoleUser | undefined, path: string) =>
      [
        { href: '/pipelines', text: 'Pipelines', permission: 'counts' as Permission },
        { href: '/submissions', text: 'Submissions', permission: 'read' as Permission },
        { href: '/dead-letters', text: 'Dead letters', permission: 'read' as Permission },
        { href: '/audit', text: 'Audit', permission: 'read' as Permission },
        { href: '/account', text: user ? `${user.name} (${user.role})` : 'Account', permission: 'counts' as Permission },
      ]
        .filter((n) => may(user, n.permission))
        .map((n) => ({ href: n.href, text: n.text, active: path === n.href || path.startsWith(`${n.href}/`) }));

    const render = async (req: FastifyRequest, reply: FastifyReply, view: string, data: PageData, status = 200): Promise<FastifyReply> => {
      const user = req.consoleUser;
      const path = req.url.split('?')[0] ?? '/';
      const html = views.render(view, {
        ...data,
        user,
        can: { read: may(user, 'read'), act: may(user, 'act'), evidence: may(user, 'evidence') },
        navigation: nav(user, path),
        csrfToken: reply.generateCsrf(),
        cspNonce: (reply as unknown as { cspNonce?: { script: string } }).cspNonce?.script,
        currentPath: path,
      });
      return reply.code(status).type('text/html; charset=utf-8').send(html);
    };

    const refuse = async (req: FastifyRequest, reply: FastifyReply, status: 401 | 403 | 503, title: string, text: string) =>
      wantsHtml(req) ? render(req, reply, 'message.njk', { title, text }, status) : reply.code(status).send({ error: { code: (status === 503 ? ConsoleErrors.CONSOLE_NOT_CONFIGURED : status === 401 ? ConsoleErrors.CONSOLE_SIGN_IN_REQUIRED : ConsoleErrors.CONSOLE_FORBIDDEN).code, message: text } });

    const guard = (permission: Permission): preHandlerAsyncHookHandler =>
      async function consoleGuard(req, reply) {
        if (!users) return refuse(req, reply, 503, 'The console is not set up', 'No users are configured for this console. A deployer sets them up as docs/console.md describes.');
        if (!req.consoleUser) {
          if (wantsHtml(req)) return reply.redirect(`/sign-in?next=${encodeURIComponent(req.url)}`, 303);
          return refuse(req, reply, 401, 'Sign in', 'Sign in first.');
        }
        if (!may(req.consoleUser, permission)) return refuse(req, reply, 403, 'You cannot do that', `Your role (${req.consoleUser.role}) does not allow this page or action.`);
      };

    const csrf: preHandlerAsyncHookHandler = async function consoleCsrf(req, reply) {
      if (req.consoleUser?.via === 'token') return;
      await new Promise<void>((resolve) => scope.csrfProtection(req, reply, () => resolve()));
    };

    scope.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, req, reply) => {
      const status = error.statusCode ?? 500;
      if (status === 403 && error.code?.startsWith('FST_CSRF')) {
        return refuse(req, reply, 403, 'The form has expired', 'The form was out of date or not sent from this console. Go back, reload the page and try again.');
      }
      if (status === 429) return reply.code(429).send({ error: { code: ConsoleErrors.CONSOLE_TOO_MANY.code, message: error.message } });
      if (status >= 500) opts.log.error({ err: { code: error.code, message: error.message } }, 'console page failed');
      return reply.code(status).send({ error: { code: error.code ?? ConsoleErrors.CONSOLE_ERROR.code, message: status >= 500 ? 'the console could not answer; the log has the details' : error.message } });
    });

    // An unknown address: a page for a browser (Fastify's JSON 404 has no title, language or main landmark), Fastify's own JSON for anything else.
    scope.setNotFoundHandler(async (req, reply) =>
      wantsHtml(req) ? render(req, reply, 'message.njk', { title: 'Page not found', text: 'There is no page at this address. Check it, or start from the pipelines.' }, 404) : reply.code(404).send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404 }),
    );

    const ctx: ConsoleContext = { ...opts, actorOf: consoleActor, render, guard, csrf };

    scope.get('/', { preHandler: guard('counts') }, async (_req, reply) => reply.redirect('/pipelines', 303));

    scope.get('/sign-in', async (req, reply) => {
      if (!users) return refuse(req, reply, 503, 'The console is not set up', 'No users are configured for this console. A deployer sets them up as docs/console.md describes.');
      const { next } = req.query as { next?: string };
      return render(req, reply, 'sign-in.njk', { title: 'Sign in', next: localPath(next) });
    });

    scope.post(
      '/sign-in',
      { config: { rateLimit: { max: SIGN_IN_PER_MINUTE, timeWindow: '1 minute' } }, preHandler: csrf },
      async (req, reply) => {
        if (!users) return refuse(req, reply, 503, 'The console is not set up', 'No users are configured for this console.');
        const body = (req.body ?? {}) as Record<string, unknown>;
        const name = typeof body.username === 'string' ? body.username.trim() : '';
        const password = typeof body.password === 'string' ? body.password : '';
        const next = localPath(body.next);
        const errors = [
          ...(name ? [] : [{ text: 'Enter your user name', href: '#username' }]),
          ...(password ? [] : [{ text: 'Enter your password', href: '#password' }]),
        ];
        if (errors.length) return render(req, reply, 'sign-in.njk', { title: 'Sign in', next, username: name, errors }, 400);
        const user = users.users.get(name);
        // An unknown user costs the same time as a wrong password, so names cannot be probed.
        dummyHash ??= hashPassword('not a password', DEFAULT_COST);
        const ok = user?.password ? await verifyPassword(password, user.password) : (await verifyPassword(password, await dummyHash), false);
        if (!user || !ok) {
          opts.log.warn({ user: user?.name, ip: req.ip }, 'console sign-in refused');
          return render(req, reply, 'sign-in.njk', { title: 'Sign in', next, username: name, errors: [{ text: 'The user name or password is not right', href: '#username' }] }, 401);
        }
        const token = await sessions.create(user.name);
        opts.log.info({ user: user.name, role: user.role }, 'console sign-in');
        reply.setCookie(SESSION_COOKIE, token, { ...COOKIE_OPTS, maxAge: Math.floor((opts.sessionTimes ?? DEFAULT_SESSION_TIMES).absoluteMs / 1000) });
        return reply.redirect(next, 303);
      },
    );

    scope.post('/sign-out', { preHandler: csrf }, async (req, reply) => {
      const cookie = req.cookies[SESSION_COOKIE];
      if (cookie) await sessions.end(cookie);
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTS);
      return reply.redirect('/sign-in', 303);
    });

    scope.get('/account', { preHandler: guard('counts') }, async (req, reply) => {
      const user = req.consoleUser!;
      return render(req, reply, 'account.njk', { title: 'Your account', account: user });
    });

    for (const add of opts.pages) add(scope, ctx);
  });
}
