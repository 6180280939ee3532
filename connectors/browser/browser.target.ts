/**
 * Target `browser`: keys each mapped record into a legacy web UI the way a
 * clerk does, in headless Chromium, through the steps declared in the
 * pipeline (see browser.config.ts), and captures the reference the legacy
 * system shows. Records of a batch are keyed in parallel over a pool of
 * signed-in contexts. A record that may have been keyed already (uncertain
 * in the ledger, or an earlier attempt of this target got past its first
 * step) is first searched for with the `probe` steps. Evidence of failures
 * (a screenshot and a Playwright trace) is sealed into the evidence folder
 * through `ctx.files` (see browser.evidence.ts: one form per file, no
 * sign-in traced, never in clear) and its paths go into the outcome's
 * message; PII values never appear in messages.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Page } from 'playwright';
import type { ConnectorDef, ConnectorEnv, Ctx, MappedRecord, Outcome, Target, TargetIdentity } from '../connector.types.js';
import { urlWithoutSecrets } from '../target-identity.js';
import { jsonSchema } from '../config.schema.js';
import { BROWSER_DEFAULTS, BROWSER_LOGIN_DEFAULTS, browserConfigSchema, traceMode, type BrowserConfig, type TraceMode } from './browser.config.js';
import { checkBrowserConfig } from './browser.check.js';
import { asFailure, SessionExpired } from './browser.errors.js';
import { BrowserErrors, ConnectorFailure, connectorErrorDef } from '../connector.errors.js';
import { clearPage, dropTrace, evidenceOf, evidencePath, sealScreenshot, sealTrace, startTrace, type FormTrace } from './browser.evidence.js';
import { ContextPool, type Slot } from './browser.pool.js';
import { DriftGuard } from './browser.drift.js';
import { isExpired, pick, runSteps, type StepEnv } from './browser.steps.js';
import { parseTemplate, renderTemplate } from './browser.template.js';
import { DialogRules } from './browser.dialogs.js';
import { ReadBack } from './browser.readback.js';
import { namedFrame } from './browser.scope.js';
import { runForm, type Checkpoint } from './browser.session.js';

const MARK = 'attempted:';
const safe = (key: string) => `${key.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40)}-${createHash('sha1').update(key).digest('hex').slice(0, 8)}`;

/** Keys records through a legacy web UI; see {@link BrowserConfig}. */
export class BrowserTarget implements Target {
  /** The pool of contexts (tests look at its launches). */
  readonly pool: ContextPool;
  private readonly evidenceDir: string;
  private readonly pii: string[];
  private readonly attempted = new Set<string>();
  private readonly traces: TraceMode;
  private readonly dialogs: DialogRules;
  private readonly readBacks?: ReadBack;
  private warnedUnsealed = false;
  /** Checks each page against its print before keying it (see browser.drift.ts); holds the steps keyed. */
  readonly drift: DriftGuard;

  /** Checks the config against the mapping; throws an Error with `problems` listing each. */
  constructor(
    private readonly config: BrowserConfig,
    private readonly env: ConnectorEnv,
  ) {
    const problems = checkBrowserConfig(config, env.mapping?.fields.map((f) => f.name));
    if (problems.length) throw Object.assign(new Error(problems.join('; ')), { problems });
    this.evidenceDir = config.evidence?.folder ? resolve(env.baseDir, config.evidence.folder) : resolve('.rekey/evidence', env.pipeline);
    this.pii = env.mapping?.fields.filter((f) => f.pii).map((f) => f.name) ?? [];
    this.traces = traceMode(config.evidence?.traces);
    this.dialogs = new DialogRules(config.dialogs);
    if (config.readBack) this.readBacks = new ReadBack(config.readBack);
    this.drift = new DriftGuard(config.steps);
    this.pool = new ContextPool({
      executablePath: config.executablePath,
      size: config.contexts ?? env.concurrency ?? 1,
      recycleContextAfter: config.recycleContextAfter ?? BROWSER_DEFAULTS.recycleContextAfter,
      restartBrowserAfter: config.restartBrowserAfter ?? BROWSER_DEFAULTS.restartBrowserAfter,
      traces: this.traces !== 'off',
    });
  }

  /** `browser`, the legacy app's base URL (no user, password, query) and the first page the steps open. */
  identity(): TargetIdentity {
    const first = this.config.steps.find((s): s is { goto: string } => typeof (s as { goto?: unknown }).goto === 'string');
    const id: TargetIdentity = { kind: 'browser', system: urlWithoutSecrets(this.config.baseUrl) };
    if (first) id.object = first.goto;
    return id;
  }

  /** Loads the approved step version, if any, and starts Chromium; throws `BROWSER_LAUNCH` (fatal) when it cannot. */
  async connect(ctx?: Ctx): Promise<void> {
    if (ctx) await this.drift.load(ctx);
    await mkdir(this.evidenceDir, { recursive: true, mode: 0o700 });
    await this.pool.start();
  }

  /**
   * Keys each record (in parallel over the contexts) and answers for each:
   * `delivered` with the captured reference (and `confirmed`/`mismatches`
   * when read back), `rejected` with the page's own message, or `failed`
   * (retry) with the evidence paths. Throws only when Chromium cannot run
   * or sign-in is refused (fatal).
   */
  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    const settled = await Promise.allSettled(batch.map((r) => this.inSessionSlot(ctx, () => this.pool.use((slot) => this.keyOne(slot, r, ctx)))));
    const fatal = settled.find((s) => s.status === 'rejected');
    if (fatal) throw fatal.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value);
  }

  /** A form is one session at the legacy app: with `ctx.sessions` (the limit across runners), it is keyed in a slot of its own, waited for even when the pass is stopping (the batch in hand is finished). */
  readonly takesSessionSlots = true;

  private async inSessionSlot<T>(ctx: Ctx, work: () => Promise<T>): Promise<T> {
    const release = await ctx.sessions?.take(new AbortController().signal);
    try {
      return await work();
    } finally {
      await release?.();
    }
  }

  private async keyOne(slot: Slot, r: MappedRecord, ctx: Ctx): Promise<{ value: Outcome; broken: boolean }> {
    const captures = new Map<string, string>();
    const log = ctx.log.child({ key: r.key, attempt: ctx.attempt });
    const env = this.stepEnv(r, captures, ctx, log);
    const page = slot.watch.page;
    const wanted = slot.tracing && ctx.files !== undefined && (this.traces === 'always' || (this.traces === 'retries' && (ctx.attempt > 1 || r.uncertain === true || this.attempted.has(r.key))));
    const budget = this.config.login?.budget ?? BROWSER_LOGIN_DEFAULTS.budget;
    const resumePage = (this.config.login?.resume ?? BROWSER_LOGIN_DEFAULTS.resume) === 'page';
    let signIns = 0;
    let resumeAt: Checkpoint | undefined;
    for (;;) {
      slot.watch.reset();
      slot.watch.rules = this.dialogs;
      slot.watch.render = (t) => renderTemplate(parseTemplate(t), (n) => env.lookup(n));
      for (const other of slot.context.pages()) if (other !== page) await other.close().catch(() => undefined);
      let trace: FormTrace | undefined;
      try {
        if (!slot.signedIn) await this.signIn(slot, env);
        await clearPage(page);
        if (env.expired?.url !== undefined) slot.watch.expiredUrl = env.expired.url;
        if (wanted) trace = await startTrace(slot.context, slot.tracesDir);
        if (r.uncertain || (await this.wasAttempted(r.key, ctx))) {
          const ref = await this.probe(slot, env, r);
          log.info({ found: ref !== undefined }, 'probed the legacy UI for a record that may be keyed already');
          if (ref !== undefined) {
            await this.forget(r.key, ctx);
            await dropTrace(trace);
            return { value: { key: r.key, status: 'delivered', legacyRef: ref, alreadyPresent: true }, broken: false };
          }
        }
        await this.remember(r.key, ctx);
        const prints = await this.drift.run(env, ctx, (steps, beforeStep) => runForm(steps, slot.watch, env, (c) => void (resumePage && (resumeAt = c)), resumeAt, beforeStep));
        slot.watch.check();
        const ref = captures.get(this.config.reference ?? BROWSER_DEFAULTS.reference);
        if (!ref) throw new ConnectorFailure(BrowserErrors.NO_REFERENCE, `the steps captured no "${this.config.reference ?? BROWSER_DEFAULTS.reference}"`);
        if (this.config.evidence?.confirmations) await this.shotQuietly(env, page, `${safe(r.key)}-confirmation`, log);
        const out: Outcome = { key: r.key, status: 'delivered', legacyRef: ref, sentTo: urlWithoutSecrets(page.url()) };
        if (this.config.readBack) Object.assign(out, await this.readBack(slot, env, r, log));
        await this.drift.keep(prints, ctx.state);
        await this.forget(r.key, ctx);
        await dropTrace(trace);
        return { value: out, broken: false };
      } catch (e) {
        if (e instanceof SessionExpired && signIns < budget) {
          signIns++;
          log.info({ signIns, resumeAt: resumeAt?.name }, 'session expired: signing in again');
          slot.signedIn = false;
          await dropTrace(trace);
          continue;
        }
        const f = e instanceof SessionExpired ? new ConnectorFailure(BrowserErrors.SESSION, `the session expired again after ${signIns} sign-ins in this form (login.budget ${budget})`) : asFailure(e);
        if (f.disposition === 'fatal') throw f;
        if (f.disposition === 'reject') await this.forget(r.key, ctx);
        const evidence = await this.keepEvidence(slot, r, ctx, log, trace, f.disposition !== 'reject', f.data.dialog);
        const message = `${this.mask(f.message, r)}${evidence.length ? ` (evidence: ${evidence.join(', ')})` : ''}`;
        log.warn({ code: f.code, evidence }, f.disposition === 'reject' ? 'rejected by the legacy app' : 'keying failed');
        const screen = f.data.legacyText;
        const error = typeof screen === 'string' && screen ? { code: f.code, disposition: f.disposition, message, legacyText: screen } : { code: f.code, disposition: f.disposition, message };
        const value: Outcome = { key: r.key, status: f.disposition === 'reject' ? 'rejected' : 'failed', error };
        return { value, broken: page.isClosed() || f.code === BrowserErrors.CRASHED.code };
      }
    }
  }

  private stepEnv(r: MappedRecord, captures: Map<string, string>, ctx: Ctx, log: Ctx['log']): StepEnv {
    const cfg = this.config;
    return {
      baseUrl: cfg.baseUrl,
      baseDir: this.env.baseDir,
      timeout: cfg.stepTimeoutMs ?? BROWSER_DEFAULTS.stepTimeoutMs,
      lookup: (n) => (captures.has(n) ? captures.get(n) : n === 'key' ? r.key : n === 'login.username' ? cfg.login?.username : n === 'login.password' ? cfg.login?.password : r.record[n]),
      capture: (n, v) => void captures.set(n, v),
      screenshot: async (page: Page, name: string) => {
        if (!ctx.files) return void this.notKept(log, 'no encrypted file store');
        const path = evidencePath(this.evidenceDir, name, 'png');
        await sealScreenshot(page, ctx.files, path, evidenceOf(r.key));
        return path;
      },
      ...(cfg.login && { expired: cfg.login.expired }),
      record: r.record,
    };
  }

  private async signIn(slot: Slot, env: StepEnv): Promise<void> {
    if (!this.config.login) {
      slot.signedIn = true;
      return;
    }
    slot.watch.expiredUrl = undefined;
    try {
      await runSteps(this.config.login.steps, slot.watch, { ...env, expired: undefined });
      slot.watch.check();
    } catch (e) {
      const f = asFailure(e);
      throw new ConnectorFailure(connectorErrorDef(f.code)!, `signing in failed: ${f.message}`, { disposition: f.disposition === 'fatal' ? 'fatal' : 'retry', cause: e });
    }
    if (await isExpired(slot.watch.page, env)) throw new ConnectorFailure(BrowserErrors.LOGIN_REFUSED, `the legacy app refused the sign-in of user "${this.config.login.username}"`);
    slot.signedIn = true;
  }

  private async probe(slot: Slot, env: StepEnv, r: MappedRecord): Promise<string | undefined> {
    const p = this.config.probe;
    if (!p) return undefined;
    await runSteps(p.steps, slot.watch, env);
    const scope = p.frame === undefined ? slot.watch.page : await slot.watch.guard(namedFrame(slot.watch.page, p.frame, env.timeout));
    const found = scope.locator(p.found).first();
    await slot.watch.guard(found.or(scope.locator(p.notFound).first()).waitFor({ timeout: env.timeout }));
    if (!(await found.isVisible())) return undefined;
    const text = ((await found.textContent()) ?? '').trim();
    const ref = p.regex ? pick(text, p.regex) : text;
    if (!ref) throw new ConnectorFailure(BrowserErrors.STEP, `the probe found a result for ${r.key} but no reference in it`);
    return ref;
  }

  private async readBack(slot: Slot, env: StepEnv, r: MappedRecord, log: Ctx['log']): Promise<{ confirmed: boolean; mismatches?: string[] }> {
    const page = slot.watch.page;
    const mismatches = await this.readBacks!.mismatches(slot.watch, env, r.record);
    if (!mismatches.length) return { confirmed: true };
    const shot = await this.shotQuietly(env, page, `${safe(r.key)}-readback-mismatch`, log);
    log.warn({ fields: mismatches, evidence: shot }, 'read-back differs from what was keyed');
    return { confirmed: false, mismatches };
  }

  /**
   * Seals a screenshot, and the form's `trace` when there is one (kept
   * when `keepTrace`, else thrown away); resolves to the paths kept. Keeps
   * nothing, with a warning, without `ctx.files`; never throws.
   */
  private async keepEvidence(slot: Slot, r: MappedRecord, ctx: Ctx, log: Ctx['log'], trace: FormTrace | undefined, keepTrace: boolean, dialog?: unknown): Promise<string[]> {
    const files = ctx.files;
    if (!files) {
      await dropTrace(trace);
      this.notKept(log, 'no encrypted file store');
      return [];
    }
    const name = `${safe(r.key)}-attempt${ctx.attempt}-${Date.now()}`;
    const meta = evidenceOf(r.key);
    const kept: string[] = [];
    const keep = async (path: string, write: () => Promise<void>) => {
      const ok = await write().then(() => true, (e: unknown) => void this.notKept(log, (e as { code?: string }).code ?? 'writing failed'));
      if (ok) kept.push(path);
    };
    if (dialog !== undefined) {
      const path = evidencePath(this.evidenceDir, name, 'dialog.json');
      await keep(path, () => files.write(path, Buffer.from(JSON.stringify(dialog)), meta));
    }
    const page = slot.watch.page;
    if (!page.isClosed()) {
      const path = evidencePath(this.evidenceDir, name, 'png');
      await keep(path, () => sealScreenshot(page, files, path, meta, 5000));
    }
    if (trace && keepTrace) {
      const path = evidencePath(this.evidenceDir, name, 'trace.zip');
      await keep(path, () => sealTrace(trace, files, path, meta));
    } else await dropTrace(trace);
    return kept;
  }

  /** A screenshot that does not fail the form: resolves to its path, or undefined (with a warning) when it was not kept. */
  private async shotQuietly(env: StepEnv, page: Page, name: string, log: Ctx['log']): Promise<string | undefined> {
    return env.screenshot(page, name).catch((e: unknown) => void this.notKept(log, (e as { code?: string }).code ?? 'screenshot failed'));
  }

  /** Warns that evidence was not kept (`why`: a code or a few words, never a value); without a file store, once per target. */
  private notKept(log: Ctx['log'], why: string): void {
    if (why === 'no encrypted file store' && this.warnedUnsealed) return;
    if (why === 'no encrypted file store') this.warnedUnsealed = true;
    log.warn({ code: BrowserErrors.EVIDENCE_NOT_KEPT.code, why }, 'evidence not kept: it is never written in clear');
  }

  private mask(text: string, r: MappedRecord): string {
    let out = text;
    for (const f of this.pii) {
      const v = r.record[f];
      if (v === undefined || v === null || String(v).length < 2) continue;
      out = out.split(String(v)).join(`[${f}]`);
    }
    return out;
  }

  private async wasAttempted(key: string, ctx: Ctx): Promise<boolean> {
    return this.attempted.has(key) || (ctx.state ? (await ctx.state.get(MARK + key)) !== undefined : false);
  }

  private async remember(key: string, ctx: Ctx): Promise<void> {
    this.attempted.add(key);
    await ctx.state?.set(MARK + key, new Date().toISOString());
  }

  private async forget(key: string, ctx: Ctx): Promise<void> {
    this.attempted.delete(key);
    await ctx.state?.delete(MARK + key);
  }

  /** Closes every context and the browser. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The `browser` target's declaration. */
export const browserTarget: ConnectorDef<BrowserConfig, Target> = {
  name: 'browser',
  kind: 'target',
  doc: 'Keys mapped records into a legacy web UI in headless Chromium through declared steps (fill, select, click, frames, popups, dialogs, uploads), capturing the reference it shows; signs in again when the session expires, probes before keying again after an uncertain attempt, optionally reads the record back.',
  configSchema: jsonSchema(browserConfigSchema),
  create: (config, env) => new BrowserTarget(config, env),
};
