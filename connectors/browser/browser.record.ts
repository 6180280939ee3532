/**
 * Records a clerk keying one submission into the legacy web UI: Chromium
 * (headed where the machine has a display), signed in with the pipeline's
 * `login` steps before recording starts (so no password is ever seen by
 * the recorder), a script in every page and frame reporting each action
 * through a binding (browser.record.page.ts), popups and frames located as
 * they appear. The recording ends when the clerk closes the page, the
 * reference appears (`until`), or {@link StepRecorder.stop} is called
 * (Ctrl-C); {@link buildSteps} turns it into steps.
 */
import type { Browser, BrowserContext, Frame, Page } from 'playwright';
import type { BrowserConfig } from './browser.config.js';
import type { RecordedEvent, RecordedPopup, Recording } from './browser.record.build.js';
import { RECORD_BINDING, RECORD_SCRIPT, type PageEvent } from './browser.record.page.js';
import { PageWatch, runSteps, type StepEnv } from './browser.steps.js';
import { CHROMIUM_ARGS, findChromium } from './chromium.js';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';
import { createRequire } from 'node:module';

/** How a recording runs. */
export interface RecordOptions {
  /** The browser target's config, secrets resolved. */
  config: BrowserConfig;
  /** Folder the pipeline file is in. */
  baseDir: string;
  /** Path the form starts at; default the first `goto` of the configured steps, else `/`. */
  start?: string;
  /** Selector of the element showing the reference: the recording ends when it appears, and the steps capture it. */
  until?: string;
  /** Regular expression whose first group is the reference in `until`'s text. */
  regex?: string;
  /** Show the browser window; default: when the environment has a DISPLAY. */
  headed?: boolean;
  /** Answer every dialog so (a person at a headed browser cannot, under Playwright); unset: whoever drives the page answers them. */
  dialogs?: 'accept' | 'dismiss';
}

const load = createRequire(import.meta.url);

/** One recording in progress; {@link page} is where the clerk keys. */
export class StepRecorder {
  private readonly events: RecordedEvent[] = [];
  private readonly popups: RecordedPopup[] = [];
  private readonly pages = new Map<Page, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly opening = new Set<Promise<void>>();
  private readonly framePaths = new WeakMap<Frame, Promise<string[]>>();
  private recording = false;
  /** The frames (selectors from the top document) where `until` appeared; empty: the top document. */
  private untilFrames: string[] = [];
  private finish!: () => void;
  /** Resolves when the recording has ended: page closed, `until` shown, or {@link stop}. */
  readonly ended: Promise<void> = new Promise((r) => (this.finish = r));

  private constructor(
    private readonly browser: Browser,
    private readonly context: BrowserContext,
    /** The page the clerk keys in. */
    readonly page: Page,
    private readonly opts: RecordOptions,
    /** The path the form starts at. */
    readonly start: string,
  ) {}

  /** Launches Chromium, signs in (when the config has `login`), opens the form's first page and starts recording. Throws `BROWSER_LAUNCH` when Chromium cannot run. */
  static async open(opts: RecordOptions): Promise<StepRecorder> {
    const headless = !(opts.headed ?? Boolean(process.env.DISPLAY));
    const executablePath = findChromium(opts.config.executablePath, !headless);
    if (!executablePath) throw new ConnectorFailure(BrowserErrors.LAUNCH, `no Chromium found${headless ? '' : ' that can show a window (chromium-headless-shell cannot)'}: install Debian's chromium or set executablePath`);
    const pw = load('playwright') as typeof import('playwright');
    const browser = await pw.chromium.launch({ executablePath, headless, args: CHROMIUM_ARGS }).catch((e: unknown) => {
      throw new ConnectorFailure(BrowserErrors.LAUNCH, `Chromium at ${executablePath} did not start${headless ? '' : ' with a window (try --headless)'}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    });
    try {
      const context = await browser.newContext();
      if (opts.config.login) await signIn(context, opts);
      const page = await context.newPage();
      const first = opts.config.steps.find((s): s is { goto: string } => typeof (s as { goto?: unknown }).goto === 'string');
      const rec = new StepRecorder(browser, context, page, opts, opts.start ?? first?.goto ?? '/');
      await rec.arm();
      return rec;
    } catch (e) {
      await browser.close().catch(() => undefined);
      throw e;
    }
  }

  private async arm(): Promise<void> {
    const { context, page, opts } = this;
    this.pages.set(page, 0);
    this.watchFrames(page);
    await context.exposeBinding(RECORD_BINDING, ({ page: p, frame }: { page: Page; frame: Frame }, e: PageEvent) => {
      if (!this.recording) return;
      const done = this.onEvent(p, frame, e).finally(() => this.pending.delete(done));
      this.pending.add(done);
    });
    await context.addInitScript({ content: RECORD_SCRIPT });
    context.on('page', (p) => {
      const done = this.onPopup(p).finally(() => this.opening.delete(done));
      this.opening.add(done);
    });
    if (opts.dialogs) {
      const answer = opts.dialogs;
      context.on('dialog', (d) => {
        // A prompt accepted keeps its default text (Playwright would answer it empty).
        void (answer === 'accept' ? d.accept(d.type() === 'prompt' ? d.defaultValue() : undefined) : d.dismiss()).catch(() => undefined);
        // The page's script cannot see a beforeunload dialog: note it here, after the action that raised it.
        const from = d.page() ? this.pages.get(d.page()!) : undefined;
        if (d.type() === 'beforeunload' && this.recording && from !== undefined) this.events.push({ kind: 'dialog', dialogType: 'beforeunload', accepted: answer === 'accept', ts: Date.now(), seq: 0, page: from, frames: [] });
      });
    }
    await page.goto(new URL(this.start, opts.config.baseUrl).href, { timeout: opts.config.stepTimeoutMs ?? 15_000 });
    this.recording = true;
    page.on('close', () => this.finish());
    if (opts.until) void this.watchUntil(opts.until);
  }

  /** Ends the recording when `until` appears in the page or in any of its frames (a frameset shows the reference in a frame), noting where. */
  private async watchUntil(until: string): Promise<void> {
    let ended = false;
    void this.ended.then(() => (ended = true));
    while (!ended && !this.page.isClosed()) {
      for (const f of this.page.frames()) {
        if ((await f.locator(until).count().catch(() => 0)) === 0) continue;
        this.untilFrames = f.parentFrame() ? await (this.framePaths.get(f) ?? framePath(f)).catch(() => fallbackPath(f)) : [];
        return this.finish();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Locates each frame of `page` as soon as it loads: by the time the clerk acts in it, its parent may have moved on (a form posted to the top). */
  private watchFrames(page: Page): void {
    const locate = (f: Frame) => {
      if (!f.parentFrame()) return;
      const p = framePath(f);
      p.catch(() => undefined);
      this.framePaths.set(f, p);
    };
    page.on('frameattached', locate);
    page.on('framenavigated', locate);
  }

  private async onPopup(p: Page): Promise<void> {
    const openedAt = Date.now();
    const n = this.pages.size;
    this.pages.set(p, n);
    this.watchFrames(p);
    // A popup's first document does not always run the context's init script (its window is the initial about:blank's): inject it too.
    const inject = () => void p.evaluate(RECORD_SCRIPT).catch(() => undefined);
    p.on('domcontentloaded', inject);
    inject();
    const opener = await p.opener();
    if (this.recording && opener && this.pages.has(opener)) this.popups.push({ page: n, opener: this.pages.get(opener)!, openedAt });
  }

  private async onEvent(p: Page, frame: Frame, e: PageEvent): Promise<void> {
    const from = this.pages.get(p);
    if (from === undefined) return;
    if (e.popup) {
      await Promise.all([...this.opening]);
      const { popup: _, ...rest } = e;
      const to = this.popups.filter((x) => x.opener === from).at(-1);
      if (to) this.events.push({ ...rest, page: to.page, frames: [] });
      return;
    }
    const page = from;
    const frames = frame.parentFrame() ? await (this.framePaths.get(frame) ?? framePath(frame)).catch(() => fallbackPath(frame)) : [];
    this.events.push({ ...e, page, frames });
  }

  /** Ends the recording (Ctrl-C, or a test that has keyed the form). */
  stop(): void {
    this.finish();
  }

  /** Waits for the end, lets the events in flight arrive, closes Chromium and returns what was recorded. */
  async result(): Promise<Recording> {
    await this.ended;
    for (const p of this.context.pages()) if (!p.isClosed()) await p.evaluate('0').catch(() => undefined);
    while (this.pending.size) await Promise.all([...this.pending]);
    this.recording = false;
    await this.browser.close().catch(() => undefined);
    return { start: this.start, events: this.events, popups: this.popups, ...(this.opts.until !== undefined && { reference: { selector: this.opts.until, frames: this.untilFrames, ...(this.opts.regex !== undefined && { regex: this.opts.regex }) } }) };
  }

  /** Closes Chromium without a result. */
  async close(): Promise<void> {
    this.finish();
    await this.browser.close().catch(() => undefined);
  }
}

/** Signs in on a page of its own, closed before recording starts: the recorder never sees the password typed. */
async function signIn(context: BrowserContext, opts: RecordOptions): Promise<void> {
  const login = opts.config.login!;
  const page = await context.newPage();
  const env: StepEnv = {
    baseUrl: opts.config.baseUrl,
    baseDir: opts.baseDir,
    timeout: opts.config.stepTimeoutMs ?? 15_000,
    lookup: (n) => (n === 'login.username' ? login.username : n === 'login.password' ? login.password : undefined),
    capture: () => undefined,
    screenshot: () => Promise.resolve(undefined),
  };
  await runSteps(login.steps, new PageWatch(page), env);
  await page.close();
}

/** A frame's selectors by name alone, when its element can no longer be reached. */
function fallbackPath(frame: Frame): string[] {
  const out: string[] = [];
  for (let f = frame; f.parentFrame(); f = f.parentFrame()!) out.unshift(f.name() ? `iframe[name="${f.name().replace(/["\\]/g, '\\$&')}"]` : 'iframe');
  return out;
}

/** Selectors of the frames from the top document down to `frame`: `#id` when the frame element has a unique id, else by name, else by position. */
async function framePath(frame: Frame): Promise<string[]> {
  const out: string[] = [];
  for (let f = frame; f.parentFrame(); f = f.parentFrame()!) {
    const parent = f.parentFrame()!;
    const el = await f.frameElement();
    const id = await el.getAttribute('id');
    const name = await el.getAttribute('name');
    const tag = (await (await el.getProperty('tagName')).jsonValue()) === 'FRAME' ? 'frame' : 'iframe';
    let sel: string;
    if (id && (await parent.locator(`#${cssEscape(id)}`).count()) === 1) sel = `#${cssEscape(id)}`;
    else if (name && (await parent.locator(`${tag}[name="${name.replace(/["\\]/g, '\\$&')}"]`).count()) === 1) sel = `${tag}[name="${name.replace(/["\\]/g, '\\$&')}"]`;
    else {
      const all = await parent.locator(tag).elementHandles();
      let i = 0;
      for (; i < all.length; i++) if ((await all[i]!.contentFrame()) === f) break;
      sel = `${tag} >> nth=${i}`;
    }
    out.unshift(sel);
  }
  return out;
}

function cssEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, (c) => `\\${c}`);
}
