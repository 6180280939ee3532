/**
 * Runs declared steps on a page: each step against the page or the frame
 * it is in, values rendered from the record's templates, every action
 * raced against the page's faults (a 5xx answer, a crash) so a broken
 * page fails at once instead of at the step's timeout. Throws
 * {@link ConnectorFailure} (rejected by the page's message, or a system
 * failure) or {@link SessionExpired}.
 */
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Dialog, Frame, Locator as PwLocator, Page } from 'playwright';
import type { Locator, Step } from './browser.config.js';
import { asFailure, SessionExpired } from './browser.errors.js';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';
import { parseTemplate, renderTemplate, type Template } from './browser.template.js';
import { findRadio, yesNo } from './browser.choices.js';
import { DialogRules } from './browser.dialogs.js';
import { expiredIn, gotoIn, namedFrame, type ExpiredSign, type Scope } from './browser.scope.js';

/** What a run of steps works with. */
export interface StepEnv {
  baseUrl: string;
  baseDir: string;
  timeout: number;
  /** Looks a template name up: captures first, then the record. */
  lookup(name: string): unknown;
  /** Keeps a captured value. */
  capture(name: string, value: string): void;
  /** Seals a screenshot of `page` named `name` as evidence and resolves to its path, or to undefined when evidence cannot be kept sealed (never kept in clear); rejects when taking or sealing it failed. */
  screenshot(page: Page, name: string): Promise<string | undefined>;
  expired?: ExpiredSign;
  /** The mapped record being keyed, when there is one: the drift guard masks its values out of what it prints. */
  record?: Readonly<Record<string, unknown>>;
}

/**
 * Per-page state: the form's dialog rules and the `dialog:` step's choice,
 * the expired-session URL to watch for (in every frame), and the first
 * fault seen: a 5xx answer, a crash, a dialog that ends the attempt, the
 * session found expired.
 */
export class PageWatch {
  /** What a `dialog:` step said to do with dialogs no rule matches; undefined: they are unexpected. */
  dialogs?: 'accept' | 'dismiss';
  /** The target's `dialogs:` rules. */
  rules = new DialogRules();
  /** Renders a prompt answer's template for the form's record. */
  render: (template: string) => string = (t) => t;
  /** While set, a frame of this page navigating to a URL containing it ends the attempt with {@link SessionExpired}. */
  expiredUrl?: string;
  private fail?: (e: Error) => void;
  private faulted?: Error;
  /** Rejects when the page faults; never resolves. */
  fault: Promise<never>;

  constructor(readonly page: Page) {
    this.fault = this.arm();
    page.on('dialog', (d) => this.onDialog(d));
    page.on('framenavigated', (f: Frame) => {
      if (this.expiredUrl && f.url().includes(this.expiredUrl)) this.trip(new SessionExpired('the session expired'));
    });
    page.on('response', (r) => {
      if (r.status() >= 500 && r.request().isNavigationRequest()) this.trip(new ConnectorFailure(BrowserErrors.SERVER_ERROR, `the legacy app answered ${r.status()} for ${r.request().method()} ${new URL(r.url()).pathname}`));
    });
    page.on('crash', () => this.trip(new ConnectorFailure(BrowserErrors.CRASHED, 'the page crashed')));
  }

  private arm(): Promise<never> {
    const p = new Promise<never>((_, reject) => (this.fail = reject));
    p.catch(() => undefined);
    return p;
  }

  private onDialog(d: Dialog): void {
    const decision = this.rules.decide(d.type(), d.message(), this.dialogs, this.render);
    void (decision.action === 'accept' ? d.accept(decision.answer) : d.dismiss()).catch(() => undefined);
    if (decision.fault) this.trip(decision.fault);
  }

  /** A watch of a popup this page opened: the same dialog rules and choice, the same expired-session URL. */
  child(popup: Page): PageWatch {
    const w = new PageWatch(popup);
    w.rules = this.rules;
    w.render = this.render;
    if (this.dialogs) w.dialogs = this.dialogs;
    if (this.expiredUrl !== undefined) w.expiredUrl = this.expiredUrl;
    return w;
  }

  /** Throws the fault seen since the form started, if any (a dialog during the last step). */
  check(): void {
    if (this.faulted) throw this.faulted;
  }

  private trip(e: Error): void {
    if (this.faulted) return;
    this.faulted = e;
    this.fail?.(e);
  }

  /** Starts a new form: forgets an earlier fault and the dialog choice. */
  reset(): void {
    this.faulted = undefined;
    this.dialogs = undefined;
    this.fault = this.arm();
  }

  /** Resolves as `p` does, or rejects at once when the page faults. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.faulted) {
      p.catch(() => undefined);
      return Promise.reject(this.faulted);
    }
    return Promise.race([p, this.fault]);
  }
}

const templates = new Map<string, Template>();
/** `text` rendered as a template with the record's and the captures' values. */
export function render(text: string, env: StepEnv): string {
  let t = templates.get(text);
  if (!t) templates.set(text, (t = parseTemplate(text)));
  return renderTemplate(t, (n) => env.lookup(n));
}

/** The element a step's locator names, in `scope` (the first when several match). */
export function locate(scope: Scope, l: Locator, env: StepEnv): PwLocator {
  const exact = l.exact ?? true;
  const r = (s: string) => render(s, env);
  if (l.role) return scope.getByRole(l.role as Parameters<Page['getByRole']>[0], l.text === undefined ? {} : { name: r(l.text), exact }).first();
  if (l.label !== undefined) return scope.getByLabel(r(l.label), { exact }).first();
  if (l.name !== undefined) return scope.locator(`[name="${r(l.name).replace(/["\\]/g, '\\$&')}"]`).first();
  if (l.selector !== undefined) return scope.locator(r(l.selector)).first();
  return scope.getByText(r(l.text ?? ''), { exact }).first();
}

/** True when the page, or a frame in it, shows the session has expired. */
export function isExpired(page: Page, env: StepEnv): Promise<boolean> {
  return expiredIn(page, env.expired);
}

/** Where steps are in the form, for a check before each: `path(i)` is the path of the i-th step run (`"3"`, `"3.0"` inside the frame or popup at step 3); `before` is awaited before it runs, with the watch of its window. */
export interface StepHook {
  path(i: number): string;
  before(path: string, watch: PageWatch): Promise<void>;
}

/** Runs `steps` in order on `watch.page` (inside `scope` when in a frame); with `at`, awaits its check before each step, inside frames and popups too. */
export async function runSteps(steps: Step[], watch: PageWatch, env: StepEnv, scope: Scope = watch.page, at?: StepHook): Promise<void> {
  for (const [i, step] of steps.entries()) {
    const inner = at && { path: (j: number) => `${at.path(i)}.${j}`, before: at.before };
    try {
      await at?.before(at.path(i), watch);
      await runStep(step, watch, env, scope, inner);
    } catch (e) {
      if (e instanceof SessionExpired || (e instanceof ConnectorFailure && (e.disposition === 'reject' || e.code === BrowserErrors.DIALOG.code))) throw e;
      if (!watch.page.isClosed() && (await isExpired(watch.page, env))) throw new SessionExpired('the session expired');
      throw asFailure(e);
    }
  }
}

async function runStep(step: Step, watch: PageWatch, env: StepEnv, scope: Scope, at?: StepHook): Promise<void> {
  const page = watch.page;
  const g = <T>(p: Promise<T>) => watch.guard(p);
  const t = (o: { timeout?: number }) => ({ timeout: o.timeout ?? env.timeout });
  if ('goto' in step) {
    await g(gotoIn(scope, new URL(render(step.goto, env), env.baseUrl).href, env.timeout));
    if (await isExpired(page, env)) throw new SessionExpired('the session expired');
  } else if ('fill' in step) {
    const v = render(step.fill.value, env);
    if (!(step.fill.skipEmpty && v === '')) await g(locate(scope, step.fill, env).fill(v, t(step.fill)));
  } else if ('select' in step) {
    const v = render(step.select.value, env);
    if (!(step.select.skipEmpty && v === '')) await g(locate(scope, step.select, env).selectOption(v, t(step.select)));
  } else if ('check' in step) {
    const c = step.check.checked ?? true;
    await g(locate(scope, step.check, env).setChecked(yesNo(typeof c === 'string' ? render(c, env) : c, 'a check box'), t(step.check)));
  } else if ('uncheck' in step) {
    const c = step.uncheck.unchecked ?? true;
    await g(locate(scope, step.uncheck, env).setChecked(!yesNo(typeof c === 'string' ? render(c, env) : c, 'a check box'), t(step.uncheck)));
  } else if ('radio' in step) {
    const r = step.radio;
    const value = render(r.value, env);
    if (r.skipEmpty && value === '') return;
    const group = r.name !== undefined ? { group: render(r.name, env), container: false } : { group: render(r.selector ?? '', env), container: true };
    const button = await g(findRadio(scope, { ...group, value, exact: r.exact ?? true, timeout: r.timeout ?? env.timeout, ...(r.by !== undefined && { by: r.by }) }));
    await g(button.check(t(r)));
  } else if ('click' in step) {
    const l = typeof step.click === 'string' ? { selector: step.click } : step.click;
    await g(locate(scope, l, env).click(t(l)));
  } else if ('press' in step) {
    await g(locate(scope, step.press, env).press(step.press.key, t(step.press)));
  } else if ('waitFor' in step) {
    const w = step.waitFor;
    if (w.url !== undefined) {
      const want = render(w.url, env);
      await g(page.waitForURL((u) => u.href.includes(want), t(w)));
    }
    if (w.selector !== undefined) await g(scope.locator(render(w.selector, env)).first().waitFor(t(w)));
    if (w.text !== undefined) await g(scope.getByText(render(w.text, env)).first().waitFor(t(w)));
  } else if ('expect' in step) {
    await expectOutcome(step.expect, watch, env, scope);
  } else if ('dialog' in step) {
    watch.dialogs = step.dialog;
  } else if ('frame' in step) {
    const f = step.frame;
    const inner = f.name !== undefined ? await g(namedFrame(scope, render(f.name, env), env.timeout)) : scope.frameLocator(render(f.selector ?? '', env));
    await runSteps(f.steps, watch, env, inner, at);
  } else if ('popup' in step) {
    const opened = page.waitForEvent('popup', t(step.popup.open));
    // The click may fail first (the page closed under it); the wait's own failure then has no one awaiting it.
    opened.catch(() => undefined);
    await g(locate(scope, step.popup.open, env).click(t(step.popup.open)));
    const popup = await g(opened);
    const inner = watch.child(popup);
    await popup.waitForLoadState('domcontentloaded', t(step.popup.open)).catch(() => undefined);
    if (await isExpired(popup, env)) throw new SessionExpired('the session expired (in a popup)');
    await runSteps(step.popup.steps, inner, env, popup, at).catch((e: unknown) => {
      if (!(popup.isClosed() && e instanceof ConnectorFailure && e.code === BrowserErrors.CRASHED.code)) throw e;
    });
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 2000 }).catch(() => popup.close());
    inner.check();
  } else if ('upload' in step) {
    const u = step.upload;
    const input = locate(scope, u, env);
    if (u.path !== undefined) {
      const file = resolve(env.baseDir, render(u.path, env));
      const buffer = await readFile(file).catch(() => {
        throw new ConnectorFailure(BrowserErrors.STEP, `the file to upload cannot be read: ${basename(file)}`, { disposition: 'reject' });
      });
      await g(input.setInputFiles({ name: basename(file), mimeType: 'application/octet-stream', buffer }, t(u)));
    } else if (u.content !== undefined) {
      await g(input.setInputFiles({ name: render(u.fileName ?? 'document.txt', env), mimeType: 'text/plain', buffer: Buffer.from(render(u.content, env)) }, t(u)));
    }
  } else if ('capture' in step) {
    const c = step.capture;
    const text = ((await g(scope.locator(render(c.selector, env)).first().textContent(t(c)))) ?? '').trim();
    env.capture(c.as ?? 'ref', c.regex ? pick(text, c.regex) : text);
  } else if ('screenshot' in step) {
    await env.screenshot(page, render(step.screenshot.name, env));
  }
}

/** `regex`'s first group (or whole match) in `text`, or empty text. */
export function pick(text: string, regex: string): string {
  const m = new RegExp(regex).exec(text);
  return m ? (m[1] ?? m[0]) : '';
}

async function expectOutcome(x: { success: string; error?: string; timeout?: number }, watch: PageWatch, env: StepEnv, scope: Scope): Promise<void> {
  const success = scope.locator(render(x.success, env)).first();
  const error = x.error === undefined ? undefined : scope.locator(render(x.error, env)).first();
  const sign = env.expired?.selector;
  let any = success;
  if (error) any = any.or(error);
  if (sign) any = any.or(watch.page.locator(sign).first());
  if (sign && scope !== watch.page) any = any.or(scope.locator(sign).first());
  await watch.guard(any.first().waitFor({ timeout: x.timeout ?? env.timeout }));
  if (error && (await error.isVisible())) {
    const message = ((await error.textContent()) ?? '').replace(/\s+/g, ' ').trim();
    throw new ConnectorFailure(BrowserErrors.REJECTED, 'the legacy app showed its error message', message ? { data: { legacyText: message } } : {});
  }
  if (await isExpired(watch.page, env)) throw new SessionExpired('the session expired');
}
