/**
 * Fingerprints of the legacy screens the steps key into, to notice a
 * screen that changed before a value lands in the wrong field. The steps
 * are cut into pages (a page starts at the first element step after a
 * `goto`, `expect`, `waitFor` or `click`, since a click may submit; steps
 * in a frame are walked in place, a popup's are pages of its own window);
 * a page's print describes each element its
 * steps touch (found or not, tag, type, name, id, label text, a select's
 * options, its place among its form's fields) and the required fields of
 * those forms. Only what the screen shows every clerk is read: never a
 * value typed or shown (inputs' values, selected options, captured text),
 * and never through a step whose locator is a template (which may hold a
 * citizen's data).
 */
import { createHash } from 'node:crypto';
import type { Locator, Step } from './browser.config.js';
import { locate, type StepEnv } from './browser.steps.js';
import type { Scope } from './browser.scope.js';

/** One element a page's steps touch: where its step is (its path: `"3"`, or `"11.2"` for step 2 of the frame or popup at step 11), its kind, its locator and the frames it is in (from the top of its window). */
export interface Touched {
  step: string;
  kind: string;
  locator: Locator;
  frames: string[];
}

/** A page of the steps: it starts at the step whose path is `start`; `touched` are the elements its steps (to the next page) touch; `popup` when it is a popup window's. */
export interface PagePlan {
  page: number;
  start: string;
  touched: Touched[];
  popup?: boolean;
}
/** What a page showed of one touched element. */
export interface FieldPrint {
  step: string;
  kind: string;
  found: boolean;
  tag?: string;
  type?: string;
  name?: string;
  id?: string;
  /** Its label's text (a button's or link's own text, an input button's caption; a field with no label: the text of the table cell before its own). */
  label?: string;
  /** A select's options, `value=text`, in order. */
  options?: string[];
  /** Its place among the named fields of its form (-1: not in a form, or unnamed). */
  index?: number;
}

/** A page's fingerprint: its touched elements, and the names of the required fields and of all named fields of their forms. */
export interface PagePrint {
  page: number;
  fields: FieldPrint[];
  required: string[];
  /** Every named field of the touched elements' forms, sorted. */
  names?: string[];
}

/** One difference between a page's stored print and what it shows now. */
export interface ScreenChange {
  step: string;
  what: 'gone' | 'renamed' | 'relabelled' | 'retyped' | 'moved' | 'options' | 'required-added' | 'field-added';
  /** For people: what changed, in screen words (labels, names, option texts), never a value. */
  says: string;
}

const ELEMENT_KINDS = ['fill', 'select', 'check', 'click', 'press', 'upload', 'popup'] as const;
const NAVIGATION_KINDS = ['goto', 'expect', 'waitFor'] as const;

const kindOf = (step: Step): string => Object.keys(step)[0]!;
const templated = (l: Locator) => [l.label, l.name, l.selector, l.text].some((v) => v?.includes('{{'));

function locatorOf(step: Step, kind: string): Locator | undefined {
  const body = (step as Record<string, unknown>)[kind];
  if (kind === 'click') return typeof body === 'string' ? { selector: body } : (body as Locator);
  if (kind === 'popup') return (body as { open: Locator }).open;
  return body as Locator;
}

/** Where a walk of the steps is in one window: whether the next element step starts a page, and the page it is on. */
interface Walk {
  fresh: boolean;
  current?: PagePlan;
}

/**
 * The pages of `steps`, in the order the steps run. The steps inside a
 * `frame` step are walked in place (a `goto`, `waitFor` or click inside a
 * frame cuts pages as at the top); a `popup` step's own steps are pages of
 * their own, in the popup's window, after which the opener goes on on the
 * page it was on.
 */
export function planPages(steps: readonly Step[]): PagePlan[] {
  const pages: PagePlan[] = [];
  const walk = (list: readonly Step[], prefix: string, frames: string[], w: Walk, popup: boolean): void => {
    list.forEach((step, i) => {
      const path = prefix ? `${prefix}.${i}` : String(i);
      const kind = kindOf(step);
      if ((NAVIGATION_KINDS as readonly string[]).includes(kind)) w.fresh = true;
      else if (kind === 'frame') {
        const f = (step as { frame: { selector?: string; name?: string; steps: Step[] } }).frame;
        // A frame found by name (a frameset's <frame> or an iframe) is the element carrying that name.
        walk(f.steps, path, [...frames, f.name !== undefined ? `[name=${JSON.stringify(f.name)}]` : (f.selector ?? '')], w, popup);
      } else if ((ELEMENT_KINDS as readonly string[]).includes(kind)) {
        if (w.fresh || !w.current) pages.push((w.current = { page: pages.length, start: path, touched: [], ...(popup && { popup }) }));
        const l = locatorOf(step, kind);
        if (l && !templated(l) && !frames.some((f) => f.includes('{{'))) w.current.touched.push({ step: path, kind, locator: l, frames });
        if (kind === 'popup') walk((step as { popup: { steps: Step[] } }).popup.steps, path, [], { fresh: true }, true);
        w.fresh = kind === 'click';
      }
    });
  };
  walk(steps, '', [], { fresh: true }, false);
  return pages;
}

/** The version of a step list: `sha256` of its JSON, 16 hex characters. */
export function stepsVersion(steps: readonly Step[]): string {
  return createHash('sha256').update(JSON.stringify(steps)).digest('hex').slice(0, 16);
}

type Described = Omit<FieldPrint, 'step' | 'kind' | 'found'> & { required: string[]; names: string[] };

/** The little of the DOM {@link describe} reads (the project is compiled without the DOM's types). */
interface El {
  tagName: string;
  id: string;
  name?: string;
  type?: string;
  required?: boolean;
  textContent: string | null;
  labels?: ArrayLike<El> | null;
  form?: { elements: ArrayLike<El> } | null;
  options?: ArrayLike<{ value: string; textContent: string | null }>;
  getAttribute(name: string): string | null;
  closest(selector: string): ({ elements: ArrayLike<El> } & Cell) | null;
}

/** A table cell, as far as {@link describe} reads one. */
interface Cell {
  textContent: string | null;
  previousElementSibling: Cell | null;
  querySelector(selector: string): unknown;
}

/** Runs in the page: what the first element shows of itself and its form, or null; never a value. */
function describe(els: El[]): Described | null {
  const el = els[0];
  if (!el) return null;
  const text = (n: { textContent: string | null } | null | undefined) => (n?.textContent ?? '').replace(/\s+/g, ' ').trim();
  const doc = (globalThis as unknown as { document: { getElementById(id: string): El | null } }).document;
  const tag = el.tagName.toLowerCase();
  const byId = (ids: string | null) => (ids ?? '').split(/\s+/).map((id) => text(doc.getElementById(id))).filter(Boolean).join(' ');
  let label = el.labels?.length ? Array.from(el.labels, (l) => text(l)).join(' ') : (el.getAttribute('aria-label') ?? byId(el.getAttribute('aria-labelledby')));
  const type = (el.getAttribute('type') ?? '').toLowerCase();
  const button = tag === 'button' || tag === 'a' || (tag === 'input' && ['button', 'submit', 'reset'].includes(type));
  if (!label && button) label = tag === 'input' ? (el.getAttribute('value') ?? '') : text(el);
  // A field with no label in a table of rows: the cell before its own, when that cell holds only text (never a field, whose value it could show).
  const before = button ? null : el.closest('td')?.previousElementSibling;
  if (!label && before && !before.querySelector('input, select, textarea')) label = text(before);
  const form = el.form ?? el.closest('form');
  const fields = form ? Array.from(form.elements).filter((c) => c.name && c.type !== 'hidden') : [];
  const out: Described = {
    tag,
    type: el.getAttribute('type') ?? '',
    name: el.getAttribute('name') ?? '',
    id: el.id ?? '',
    label: label ?? '',
    index: fields.indexOf(el),
    required: fields.filter((c) => c.required || c.getAttribute('aria-required') === 'true').map((c) => c.name ?? ''),
    names: fields.map((c) => c.name ?? ''),
  };
  if (tag === 'select' && el.options) out.options = Array.from(el.options, (o) => `${o.value}=${text(o)}`);
  return out;
}

/**
 * Whether a click is found by a bare tag name (`button`, `a`): it takes
 * whatever comes first, such as the first result of an address search,
 * so what the element says is the page's content for this record, not
 * its layout. Its print keeps the element's kind and place, not its words.
 */
function byTagOnly(kind: string, l: Locator): boolean {
  return kind === 'click' && l.selector !== undefined && /^[a-z][a-z0-9-]*$/i.test(l.selector.trim()) && l.label === undefined && l.name === undefined && l.text === undefined;
}

const scopeOf = (root: Scope, frames: readonly string[]): Scope => frames.reduce<Scope>((s, f) => s.frameLocator(f), root);

/**
 * Takes the print of `plan`'s page as `root` shows it now. Waits (up to
 * `waitMs`, all at once) for each touched element not yet attached, so a
 * page or frame still loading is not taken for one that changed; `guard`
 * races each wait against the page's faults (a 5xx answer, a crash).
 */
export async function takePrint(root: Scope, plan: PagePlan, env: StepEnv, waitMs: number, guard: <T>(p: Promise<T>) => Promise<T>): Promise<PagePrint> {
  const required = new Set<string>();
  const names = new Set<string>();
  const fields = await Promise.all(
    plan.touched.map(async (t): Promise<FieldPrint> => {
      const loc = locate(scopeOf(root, t.frames), t.locator, env);
      const describeNow = () => guard(loc.evaluateAll(describe as unknown as (els: unknown[]) => Described | null));
      // Described at once when it is there (one round trip to Chromium); waited for only when it is not yet, or when
      // the page was navigating under the first look. When it navigated and the element did not come back, that is
      // the form's failure (retried), never a field gone from the screen; a second failure is thrown as it is.
      let navigated: unknown;
      let d = await describeNow().catch((e: unknown) => {
        if (!/Execution context was destroyed/.test((e as Error).message)) throw e;
        navigated = e;
        return null;
      });
      if (!d) {
        const there = await guard(loc.waitFor({ state: 'attached', timeout: waitMs }).then(() => true, (e: unknown) => {
          if ((e as Error).name === 'TimeoutError') return false;
          throw e;
        }));
        if (!there && navigated !== undefined) throw navigated;
        d = there ? await describeNow() : null;
      }
      if (!d) return { step: t.step, kind: t.kind, found: false };
      const { required: req, names: all, ...rest } = d;
      if (byTagOnly(t.kind, t.locator)) rest.label = '';
      if (rest.label && env.record) rest.label = maskRecord(rest.label, env.record);
      for (const r of req) required.add(r);
      for (const n of all) names.add(n);
      return { step: t.step, kind: t.kind, found: true, ...rest };
    }),
  );
  return { page: plan.page, fields, required: [...required].sort(), names: [...names].sort() };
}

/**
 * `text` with each value of `record` (four characters or more; in any case,
 * spaces as any run of spaces or none) replaced by `{{FIELD}}`: a button
 * that shows the record's postcode is printed the same for every record,
 * and holds no citizen's value.
 */
export function maskRecord(text: string, record: Readonly<Record<string, unknown>>): string {
  const values = Object.entries(record)
    .filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number')
    .map(([name, v]) => [name, String(v).trim()] as const)
    .filter(([, v]) => v.length >= 4)
    .sort((a, b) => b[1].length - a[1].length);
  let out = text;
  for (const [name, v] of values) out = out.replace(new RegExp(v.split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\s*'), 'gi'), `{{${name}}}`);
  return out;
}

const q = (v: string | undefined) => JSON.stringify(v ?? '');

/** How `now` differs from `before` (empty: the page is as it was). */
export function compare(before: PagePrint, now: PagePrint): ScreenChange[] {
  const out: ScreenChange[] = [];
  const had = new Map(before.fields.map((f) => [f.step, f]));
  for (const n of now.fields) {
    const b = had.get(n.step);
    if (!b?.found) continue;
    const at = `step ${n.step} (${n.kind})`;
    if (!n.found) {
      out.push({ step: n.step, what: 'gone', says: `${at}: the ${b.tag} labelled ${q(b.label)}, named ${q(b.name)}, is not found` });
      continue;
    }
    if (b.name !== n.name) out.push({ step: n.step, what: 'renamed', says: `${at}: named ${q(b.name)} before, ${q(n.name)} now` });
    if (b.label !== n.label) out.push({ step: n.step, what: 'relabelled', says: `${at}: labelled ${q(b.label)} before, ${q(n.label)} now` });
    if (b.tag !== n.tag || b.type !== n.type) out.push({ step: n.step, what: 'retyped', says: `${at}: a ${b.tag}${b.type ? ` of type ${b.type}` : ''} before, a ${n.tag}${n.type ? ` of type ${n.type}` : ''} now` });
    if (b.index !== n.index) out.push({ step: n.step, what: 'moved', says: `${at}: field ${(b.index ?? -1) + 1} of its form before, field ${(n.index ?? -1) + 1} now` });
    if (JSON.stringify(b.options) !== JSON.stringify(n.options)) out.push({ step: n.step, what: 'options', says: `${at}: its options changed (${optionsDiff(b.options ?? [], n.options ?? [])})` });
  }
  const wasRequired = new Set(before.required);
  const first = String(before.fields[0]?.step ?? '');
  for (const r of now.required) if (!wasRequired.has(r)) out.push({ step: first, what: 'required-added', says: `a new required field named ${q(r)} is on the form` });
  const hadName = new Set(before.names ?? now.names);
  for (const n of now.names ?? []) if (!hadName.has(n) && !(now.required.includes(n) && !wasRequired.has(n))) out.push({ step: first, what: 'field-added', says: `a new field named ${q(n)} is on the form` });
  return out;
}

function optionsDiff(b: string[], n: string[]): string {
  const added = n.filter((o) => !b.includes(o));
  const gone = b.filter((o) => !n.includes(o));
  const parts = [];
  if (added.length) parts.push(`added ${added.map((o) => q(o)).join(', ')}`);
  if (gone.length) parts.push(`removed ${gone.map((o) => q(o)).join(', ')}`);
  if (!parts.length) parts.push('the same options in another order');
  return parts.join('; ');
}
