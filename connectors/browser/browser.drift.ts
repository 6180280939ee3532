/**
 * The drift guard: before the steps key a page, the page's print (see
 * browser.fingerprint.ts) is compared with the one stored at the first
 * successful keying under the same step version (pages as
 * browser.fingerprint.ts cuts them). When they differ, no
 * value is typed into the page: the guard writes a report (what changed,
 * and a proposed corrected step list, e.g. a field now found by the name it
 * had under a new label), stops the pipeline's keying (`Ctx.halt`: the
 * pipeline is paused, audited) and throws `BROWSER_SCREEN_CHANGED`
 * (fatal), so the pass ends with its records still due and no attempt
 * spent. Nothing is healed without an operator: `rekey steps review`
 * approves (or edits) the proposal into a new step version, which the
 * target uses from its next `connect`.
 *
 * Kept in the pipeline's connector state: `steps:active` (the approved
 * step version, see {@link StepVersion}), `print:<version>:<page>` (a
 * page's print) and `drift:report` (the pending {@link DriftReport}).
 */
import { randomUUID } from 'node:crypto';
import type { Ctx, ConnectorState } from '../connector.types.js';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';
import type { Locator, Step } from './browser.config.js';
import { SessionExpired } from './browser.errors.js';
import { compare, planPages, stepsVersion, takePrint, type FieldPrint, type PagePlan, type PagePrint, type ScreenChange } from './browser.fingerprint.js';
import { expiredIn } from './browser.scope.js';
import type { PageWatch, StepEnv } from './browser.steps.js';
import type { Scope } from './browser.scope.js';

/** Names in the connector state. */
export const DRIFT_STATE = {
  active: 'steps:active',
  report: 'drift:report',
  /** A page's print; `p2` names the way pages are cut (frames walked in place, popups pages of their own), so prints cut otherwise are not compared. */
  print: (version: string, page: number) => `print:p2:${version}:${page}`,
} as const;

/** A step version an operator approved: `base` is the version of the pipeline file's steps it replaces. */
export interface StepVersion {
  id: string;
  base: string;
  steps: Step[];
  approvedBy: string;
  approvedAt: string;
  /** The report it answered. */
  report: string;
  /** True when the operator edited the proposal. */
  edited: boolean;
}

/** What the guard found on a changed page, and the steps it proposes. */
export interface DriftReport {
  id: string;
  at: string;
  /** The step version in use (the pipeline file's, or an approved one). */
  stepsVersion: string;
  /** The version of the pipeline file's steps. */
  base: string;
  page: number;
  changes: ScreenChange[];
  before: PagePrint;
  now: PagePrint;
  /** The whole step list proposed; `rewritten` names the steps whose locator it changed, `unresolved` what it could not correct. */
  proposal: { steps: Step[]; rewritten: { step: string; locator: Locator }[]; unresolved: string[] };
}

const LOCATOR_KEYS = ['label', 'name', 'selector', 'role', 'text', 'exact'] as const;

/** Guards one target's keying; see the file's comment. */
export class DriftGuard {
  /** The steps keyed: the pipeline file's, or the approved version that replaced them. */
  steps: Step[];
  /** The version of {@link steps}. */
  version: string;
  readonly base: string;
  private pages: PagePlan[];
  private readonly prints = new Map<number, PagePrint | null>();
  private halted?: Promise<ConnectorFailure>;

  constructor(private readonly fileSteps: Step[]) {
    this.base = stepsVersion(fileSteps);
    this.steps = fileSteps;
    this.version = this.base;
    this.pages = planPages(fileSteps);
  }

  /** At `connect`: takes the approved step version when it replaces the file's steps (a file edited since wins, and is logged). */
  async load(ctx: Pick<Ctx, 'state' | 'log'>): Promise<void> {
    this.prints.clear();
    this.halted = undefined;
    const raw = await ctx.state?.get(DRIFT_STATE.active);
    const active = raw ? (JSON.parse(raw) as StepVersion) : undefined;
    if (active && active.base !== this.base) ctx.log.info({ approved: active.id, file: this.base }, 'the pipeline file\'s steps changed since a step version was approved: the file\'s steps are keyed');
    const use = active?.base === this.base ? active : undefined;
    this.steps = use?.steps ?? this.fileSteps;
    this.version = use?.id ?? this.base;
    this.pages = planPages(this.steps);
  }

  /**
   * Runs one form through `form` (which runs the steps it is given, the
   * approved version's, and awaits the check it is given before each
   * step, with the step's path and the watch of the window it runs in,
   * inside frames and popups too), checking each page (a popup's in the
   * popup) before its first element step; resolves to the prints taken of pages
   * with none stored yet (hand them to {@link keep} once the form
   * succeeded). Throws as the steps do, `BROWSER_TIMEOUT` (retried) when a
   * page with a stored print shows none of the elements its steps use (it
   * did not load: no screen to compare), or `BROWSER_SCREEN_CHANGED`
   * (fatal) on drift.
   */
  async run(env: StepEnv, ctx: Ctx, form: (steps: Step[], beforeStep: (path: string, watch: PageWatch) => Promise<void>) => Promise<void>): Promise<PagePrint[]> {
    if (this.halted) throw await this.halted;
    const fresh: PagePrint[] = [];
    const starts = new Map(this.pages.map((p) => [p.start, p]));
    await form(this.steps, async (path, watch) => {
      const plan = starts.get(path);
      if (!plan || !plan.touched.length) return;
      const print = await takePrint(watch.page, plan, env, env.timeout, (p) => watch.guard(p));
      const before = await this.stored(plan.page, ctx.state);
      if (!before) return void fresh.push(print);
      if (print.fields.every((f) => !f.found)) {
        // Not one field of the page came: a page still loading, an error page or one navigated elsewhere, not a changed screen.
        if (await expiredIn(watch.page, env.expired)) throw new SessionExpired(plan.popup ? 'the session expired (in a popup)' : 'the session expired');
        throw new ConnectorFailure(BrowserErrors.TIMEOUT, `page ${plan.page + 1} of the form showed none of the elements its steps use within ${Math.round(env.timeout / 1000)} s`);
      }
      const changes = compare(before, print);
      if (changes.length) {
        if (await expiredIn(watch.page, env.expired)) throw new SessionExpired(plan.popup ? 'the session expired (in a popup)' : 'the session expired');
        throw await this.stop(watch.page, env, ctx, plan, before, print, changes);
      }
    });
    return fresh;
  }

  /** Stores `fresh` prints (of a form that succeeded) as the pages' prints, where none is stored yet. */
  async keep(fresh: readonly PagePrint[], state: ConnectorState | undefined): Promise<void> {
    for (const p of fresh) {
      if (this.prints.get(p.page)) continue;
      this.prints.set(p.page, p);
      const name = DRIFT_STATE.print(this.version, p.page);
      if (state && (await state.get(name)) === undefined) await state.set(name, JSON.stringify(p));
    }
  }

  private async stored(page: number, state: ConnectorState | undefined): Promise<PagePrint | null> {
    if (!this.prints.has(page) || this.prints.get(page) === null) {
      const raw = await state?.get(DRIFT_STATE.print(this.version, page));
      this.prints.set(page, raw ? (JSON.parse(raw) as PagePrint) : null);
    }
    return this.prints.get(page) ?? null;
  }

  /** The first form to find drift writes the report and halts; every form then ends with the same failure. */
  private stop(root: Scope, env: StepEnv, ctx: Ctx, plan: PagePlan, before: PagePrint, now: PagePrint, changes: ScreenChange[]): Promise<ConnectorFailure> {
    this.halted ??= (async () => {
      const proposal = await propose(root, env, this.steps, plan, before, changes);
      const report: DriftReport = { id: randomUUID(), at: new Date().toISOString(), stepsVersion: this.version, base: this.base, page: plan.page, changes, before, now, proposal };
      await ctx.state?.set(DRIFT_STATE.report, JSON.stringify(report));
      const reason = `the legacy screen changed (page ${plan.page + 1}): rekey steps review to see it and approve corrected steps`;
      await ctx.halt?.(reason);
      const code = BrowserErrors.SCREEN_CHANGED.code;
      ctx.log.error({ code, report: report.id, page: plan.page, changes: changes.map((c) => `${c.step}:${c.what}`) }, 'the legacy screen changed: keying stopped until an operator approves corrected steps');
      return new ConnectorFailure(BrowserErrors.SCREEN_CHANGED, `page ${plan.page + 1} of the form changed (${changes.map((c) => c.what).join(', ')}); nothing was keyed into it; report ${report.id}`);
    })();
    return this.halted;
  }
}

function stepAt(steps: Step[], path: string): Record<string, unknown> {
  const [head, ...rest] = path.split('.').map(Number);
  let step = steps[head!] as Record<string, unknown>;
  for (const i of rest) step = ((step.frame ?? step.popup) as { steps: Record<string, unknown>[] }).steps[i]!;
  return step;
}

/** A locator for what `d` shows: its label text when it has one and the old locator looked by label, role or text; else its name; else its id. */
function locatorFor(old: Locator, d: FieldPrint): Locator | undefined {
  const keep = old.timeout === undefined ? {} : { timeout: old.timeout };
  if (d.label && (old.label !== undefined || old.role !== undefined || old.text !== undefined)) return { label: d.label, ...keep };
  if (d.name) return { name: d.name, ...keep };
  if (d.id) return { selector: `#${d.id}`, ...keep };
  if (d.label) return { label: d.label, ...keep };
  return undefined;
}

/**
 * The proposal: each touched element that is gone is looked for by what it
 * showed before (its label text, its name, its id) and, when one is found,
 * its step gets a locator for what that element shows now. A new required
 * field, or an element not found again, is left for the operator to edit.
 */
async function propose(root: Scope, env: StepEnv, steps: Step[], plan: PagePlan, before: PagePrint, changes: ScreenChange[]): Promise<DriftReport['proposal']> {
  const out = structuredClone(steps);
  const rewritten: DriftReport['proposal']['rewritten'] = [];
  const unresolved: string[] = [];
  const was = new Map(before.fields.map((f) => [f.step, f]));
  for (const c of changes) {
    if (c.what === 'required-added') unresolved.push(`${c.says}: add a step that fills it`);
    if (c.what === 'field-added') unresolved.push(`${c.says}: add a step that fills it when the form needs it`);
    if (c.what !== 'gone') continue;
    const t = plan.touched.find((x) => x.step === c.step)!;
    const b = was.get(c.step)!;
    const tries: Locator[] = [];
    if (b.label) tries.push({ label: b.label });
    if (b.name) tries.push({ name: b.name });
    if (b.id) tries.push({ selector: `#${b.id}` });
    const sub: PagePlan = { page: plan.page, start: plan.start, touched: tries.map((locator) => ({ ...t, locator })) };
    const found = (await takePrint(root, sub, env, 1000, (p) => p)).fields.find((f) => f.found);
    const locator = found && locatorFor(t.locator, found);
    if (!locator) {
      unresolved.push(`step ${c.step} (${t.kind}): no element found by its former label, name or id`);
      continue;
    }
    const step = stepAt(out, c.step);
    const kind = Object.keys(step)[0]!;
    if (kind === 'click' && typeof step.click === 'string') step.click = locator;
    else {
      const body = (kind === 'popup' ? (step.popup as { open: Record<string, unknown> }).open : step[kind]) as Record<string, unknown>;
      for (const k of LOCATOR_KEYS) delete body[k];
      Object.assign(body, locator);
    }
    rewritten.push({ step: c.step, locator });
  }
  return { steps: out, rewritten, unresolved };
}
