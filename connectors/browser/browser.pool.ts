/**
 * One browser and a pool of contexts, each a signed-in clerk with one page,
 * reused form after form. A context is replaced after a number of forms and
 * the browser restarted (when no form is in progress) after more, to keep
 * memory bounded; a context whose page broke is replaced at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright';
import { PageWatch } from './browser.steps.js';
import { launchChromium } from './chromium.js';

/** One context with its page. */
export interface Slot {
  context: BrowserContext;
  watch: PageWatch;
  forms: number;
  signedIn: boolean;
  /** Forms on this context may be traced: each traced form is a trace of its own, started after sign-in (see BrowserTarget). */
  tracing: boolean;
  /** Where Playwright keeps the working files of this context's traces (clear copies of the traced forms): a private folder per browser launch, removed with the browser. */
  tracesDir?: string;
}

/** How the pool is sized and recycled. */
export interface PoolOptions {
  executablePath?: string;
  size: number;
  recycleContextAfter: number;
  restartBrowserAfter: number;
  /** Forms may be traced (the target starts and stops a trace per form; the pool starts none). */
  traces: boolean;
}

/** Hands out slots, at most `size` at once. */
export class ContextPool {
  private browser?: Browser;
  private tracesDir?: string;
  private launching?: Promise<Browser>;
  private readonly idle: Slot[] = [];
  private busy = 0;
  private formsSinceLaunch = 0;
  private readonly waiting: (() => void)[] = [];
  /** Browser launches so far (tests check recycling). */
  launches = 0;

  constructor(private readonly opts: PoolOptions) {}

  /** The running browser's folder of trace working files, if any (tests look into it). */
  get traceFolder(): string | undefined {
    return this.tracesDir;
  }

  /** Contexts keying at once at most. */
  get size(): number {
    return this.opts.size;
  }

  /** Starts the browser now (fatal `BROWSER_LAUNCH` when it cannot). */
  async start(): Promise<void> {
    await this.getBrowser();
  }

  private async getBrowser(): Promise<Browser> {
    if (this.browser?.isConnected()) return this.browser;
    this.launching ??= this.launch().then((b) => {
      this.browser = b;
      this.launches++;
      this.formsSinceLaunch = 0;
      this.launching = undefined;
      return b;
    }, (e: unknown) => {
      this.launching = undefined;
      throw e;
    });
    return this.launching;
  }

  /** Launches Chromium, with a private folder (mode 0700) for trace working files when forms may be traced; the folder of a browser that went away is removed first. */
  private async launch(): Promise<Browser> {
    await this.dropTracesDir();
    if (!this.opts.traces) return launchChromium(this.opts.executablePath);
    const dir = await mkdtemp(join(tmpdir(), 'rekey-traces-'));
    this.tracesDir = dir;
    return launchChromium(this.opts.executablePath, dir);
  }

  private async dropTracesDir(): Promise<void> {
    const dir = this.tracesDir;
    this.tracesDir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  /** Runs `work` with a slot, waiting for one to be free; `broken` from work's result drops the slot. */
  async use<T>(work: (slot: Slot) => Promise<{ value: T; broken: boolean }>): Promise<T> {
    while (this.busy >= this.opts.size) await new Promise<void>((r) => this.waiting.push(r));
    this.busy++;
    let slot: Slot | undefined;
    let broken = true;
    try {
      if (this.busy === 1 && this.formsSinceLaunch >= this.opts.restartBrowserAfter) await this.restart();
      slot = this.idle.pop() ?? (await this.newSlot());
      const r = await work(slot);
      broken = r.broken;
      return r.value;
    } finally {
      this.formsSinceLaunch++;
      if (slot) {
        slot.forms++;
        if (broken || slot.forms >= this.opts.recycleContextAfter || !slot.context.browser()?.isConnected()) await slot.context.close().catch(() => undefined);
        else this.idle.push(slot);
      }
      this.busy--;
      this.waiting.shift()?.();
    }
  }

  private async newSlot(): Promise<Slot> {
    const browser = await this.getBrowser();
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    return { context, watch: new PageWatch(page), forms: 0, signedIn: false, tracing: this.opts.traces, ...(this.tracesDir !== undefined && { tracesDir: this.tracesDir }) };
  }

  private async restart(): Promise<void> {
    await this.closeAll();
    await this.getBrowser();
  }

  private async closeAll(): Promise<void> {
    const slots = this.idle.splice(0);
    await Promise.all(slots.map((s) => s.context.close().catch(() => undefined)));
    const b = this.browser;
    this.browser = undefined;
    await b?.close().catch(() => undefined);
    await this.dropTracesDir();
  }

  /** Closes every context and the browser. */
  async close(): Promise<void> {
    await this.closeAll();
  }
}
