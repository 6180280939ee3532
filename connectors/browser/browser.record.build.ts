/**
 * Turns what the clerk did (the events the page reported, see
 * browser.record.page.ts) into browser steps: each action found by its
 * label, role and name, `name` attribute or CSS (the first that is unique
 * and holds no citizen data), actions inside frames gathered into `frame`
 * steps, a popup's actions into the `popup` step of the click that opened
 * it, a confirm answered as the `dialog` step before the action that
 * raised it, and every value through {@link ValueTemplater}: a field's
 * value becomes `{{FIELD}}`, and what could be citizen data is withheld
 * (`{{UNMAPPED_n}}`, which no mapping field is, so the steps do not
 * validate until a person maps it). Pure: no page, no I/O.
 */
import type { BrowserConfig, Locator, Step } from './browser.config.js';
import type { Candidate, PageEvent } from './browser.record.page.js';
import { ValueTemplater, type Templated, type Vocabulary } from './browser.record.values.js';

/** An event with where it happened: the page (0 the first, popups after) and the frames from the top document down, each by its selector. */
export interface RecordedEvent extends PageEvent {
  page: number;
  frames: string[];
}

/** A popup window: its page number, the page that opened it, and when (ms since the epoch, on the recorder's clock, which is the machine's). */
export interface RecordedPopup {
  page: number;
  opener: number;
  openedAt: number;
}

/** What a recording saw. */
export interface Recording {
  /** The path the form starts at (the first `goto`). */
  start: string;
  events: RecordedEvent[];
  popups: RecordedPopup[];
  /** The element showing the legacy reference, captured at the end as `ref`, in `frames` (selectors from the top document) when it showed in a frame. */
  reference?: { selector: string; regex?: string; frames?: string[] };
}

/** The steps and what a person must know about them (no values in them). */
export interface BuiltSteps {
  steps: Step[];
  /** One sentence per thing to look at: withheld values, dialogs, fields never typed. */
  notes: string[];
  /** Values withheld as `{{UNMAPPED_n}}`. */
  withheld: number;
  /** Dialog rules the steps need (a prompt's answer, which no step can give): for the target's `dialogs`. */
  dialogs: NonNullable<BrowserConfig['dialogs']>;
}

const ROLES = new Set(['button', 'link', 'textbox', 'checkbox', 'radio', 'combobox', 'option', 'tab', 'menuitem']);

/** Builds the steps of `rec` for the submission and mapped record in `vocab`; `required` names the mapping's required fields (the others' fills skip empty values). */
export function buildSteps(rec: Recording, vocab: Vocabulary, required: ReadonlySet<string>): BuiltSteps {
  return new Builder(rec, vocab, required).build();
}

class Builder {
  private readonly values: ValueTemplater;
  private readonly notes: string[] = [];
  private withheld = 0;
  private readonly dialogs: NonNullable<BrowserConfig['dialogs']> = [];
  private readonly prompts: Prompt[] = [];
  private readonly byPage = new Map<number, RecordedEvent[]>();
  private readonly opened = new Map<RecordedEvent, number>();

  constructor(
    private readonly rec: Recording,
    vocab: Vocabulary,
    private readonly required: ReadonlySet<string>,
  ) {
    this.values = new ValueTemplater(vocab);
    for (const e of [...rec.events].sort((a, b) => a.ts - b.ts || a.seq - b.seq)) {
      const list = this.byPage.get(e.page) ?? [];
      list.push(e);
      this.byPage.set(e.page, list);
    }
    for (const p of [...rec.popups].sort((a, b) => a.openedAt - b.openedAt)) {
      const click = (this.byPage.get(p.opener) ?? []).filter((e) => e.kind === 'click' && e.ts <= p.openedAt && !this.opened.has(e)).at(-1);
      if (click) this.opened.set(click, p.page);
      else this.notes.push(`a popup window opened without a click the recorder saw: its ${(this.byPage.get(p.page) ?? []).length} actions are left out`);
    }
  }

  build(): BuiltSteps {
    const steps: Step[] = [{ goto: this.rec.start }, ...this.page(0)];
    const ref = this.rec.reference;
    if (ref) append(steps, wrap(ref.frames ?? [], { capture: { selector: ref.selector, ...(ref.regex !== undefined && { regex: ref.regex }) } }));
    else this.notes.push('no reference is captured: add a capture step (or record with --until SELECTOR) so that rekey records the legacy reference');
    const unused = this.values.unused().filter((f) => !JSON.stringify(steps).includes(`{{${f}}}`));
    if (unused.length) this.notes.push(`fields of the mapped record no step keys: ${unused.join(', ')} (empty in this submission, or keyed on a screen the clerk did not fill)`);
    this.dialogs.push(...promptRules(this.prompts, this.notes));
    return { steps, notes: this.notes, withheld: this.withheld, dialogs: this.dialogs };
  }

  /** The steps of one page, in the order its actions happened. */
  private page(n: number): Step[] {
    const events = this.byPage.get(n) ?? [];
    const answer = new Map<RecordedEvent, 'accept' | 'dismiss'>();
    events.forEach((e, i) => {
      if (e.kind !== 'dialog') return;
      const before = events.slice(0, i).filter((x) => x.kind !== 'dialog').at(-1);
      const what = before ? this.describe(before) : 'the page opening';
      if (e.dialogType === 'alert') this.notes.push(`an alert was raised after ${what}; the steps accept alerts as they come`);
      else {
        // A prompt answered becomes a dialogs rule, which decides before any dialog: step.
        if (e.dialogType === 'prompt' && e.accepted && this.prompt(e, what)) return;
        if (before && !answer.has(before)) answer.set(before, e.accepted ? 'accept' : 'dismiss');
      }
    });
    const out: Step[] = [];
    let mode: 'accept' | 'dismiss' = 'dismiss';
    for (const e of events) {
      if (e.kind === 'dialog') continue;
      const a = answer.get(e);
      if (a && a !== mode) {
        append(out, wrap(e.frames, { dialog: a }));
        mode = a;
      }
      const step = this.step(e);
      if (step) append(out, wrap(e.frames, step));
    }
    return out;
  }

  /** A prompt answered: kept for a `dialogs` rule answering it with its answer (templated), told apart from other prompts by words of its message; true when a rule will answer it. */
  private prompt(e: RecordedEvent, what: string): boolean {
    if (e.answer === undefined) {
      this.notes.push(`a prompt was answered after ${what}, its answer unseen: it is accepted with its default text`);
      return false;
    }
    const answer = this.typed(e, e.answer, { label: 'a prompt' }).text;
    const message = e.message ?? '';
    const text = this.wordsOf(message);
    this.prompts.push({ what, answer, message, ...(text !== undefined && { text }) });
    return true;
  }

  /** The longest run of a dialog message's words that shows no citizen data (three characters or more), or undefined. */
  private wordsOf(message: string): string | undefined {
    const t = this.values.template(message, { typed: false });
    if (t.withheld) return undefined;
    return t.text
      .split(/\{\{[A-Za-z0-9_]+\}\}/)
      .map((s) => s.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, ''))
      .filter((s) => s.length >= 3)
      .sort((a, b) => b.length - a.length)[0];
  }

  private step(e: RecordedEvent): Step | undefined {
    const loc = this.locator(e.loc ?? []);
    const popup = this.opened.get(e);
    switch (e.kind) {
      case 'click':
        return popup === undefined ? { click: loc } : ({ popup: { open: loc, steps: this.nonEmpty(this.page(popup)) } }) as Step;
      case 'press':
        return { press: { ...loc, key: e.key ?? 'Enter' } };
      case 'check':
        return { check: e.checked === false ? { ...loc, checked: false } : loc };
      case 'fill': {
        const t = this.typed(e, e.value ?? '', loc);
        return { fill: { ...loc, value: t.text, ...this.skipEmpty(t) } };
      }
      case 'select': {
        const t = this.option(e, loc);
        return { select: { ...loc, value: t.text, ...this.skipEmpty(t) } };
      }
      case 'upload': {
        const fileName = this.typed(e, e.fileName ?? '', loc);
        if (e.content === undefined) {
          this.notes.push(`the file uploaded at ${describe(loc)} is not small text: the step names it by path, relative to the pipeline file; put the file there or template its content`);
          return { upload: { ...loc, path: fileName.text } };
        }
        return { upload: { ...loc, content: this.typed(e, e.content, loc).text, fileName: fileName.text } };
      }
      default:
        return undefined;
    }
  }

  private nonEmpty(steps: Step[]): Step[] {
    return steps.length ? steps : [{ waitFor: { selector: 'body' } }];
  }

  /** A typed value as a template; withheld values become `{{UNMAPPED_n}}` with a note. */
  private typed(e: RecordedEvent, value: string, loc: Locator): Templated {
    const t = this.values.template(value, { hint: e.hint ?? '', secret: e.secret === true });
    if (t.loose) this.notes.push(`at ${describe(loc)} the clerk typed ${t.loose} in another case or spacing; the steps type it as the record has it`);
    if (!t.withheld) return t;
    const name = `UNMAPPED_${++this.withheld}`;
    const why = e.secret ? 'a password field\'s value is never written' : 'the value matches no field of the mapped record and may be citizen data, so it is not written';
    this.notes.push(`{{${name}}} (${e.kind} at ${describe(loc)}): ${why}; map it to a field and write {{FIELD}}, or declare a constant with --literal`);
    return { text: `{{${name}}}`, fields: [], withheld: true };
  }

  /** A select's choice: by the option's value or its text, whichever is a field of the record, else whichever may be written. */
  private option(e: RecordedEvent, loc: Locator): Templated {
    const byValue = this.values.template(e.value ?? '', { hint: e.hint ?? '', typed: false });
    if (byValue.fields.length) return this.values.template(e.value ?? '', { hint: e.hint ?? '' });
    const byText = this.values.template(e.optionText ?? '', { hint: e.hint ?? '', typed: false });
    if (byText.fields.length) return this.values.template(e.optionText ?? '', { hint: e.hint ?? '' });
    return this.typed(e, e.value ?? '', loc);
  }

  private skipEmpty(t: Templated): { skipEmpty?: true } {
    const only = /^\{\{([A-Za-z0-9_]+)\}\}$/.exec(t.text)?.[1];
    return only !== undefined && !t.withheld && !this.required.has(only) ? { skipEmpty: true } : {};
  }

  /** The first candidate whose text may be written (templated where it shows a field); else the structural CSS, the last. */
  private locator(cands: Candidate[]): Locator {
    for (const c of cands) {
      if ('role' in c && !ROLES.has(c.role)) continue;
      const [key, text] = 'label' in c ? ['label', c.label] : 'role' in c ? ['text', c.text] : 'name' in c ? ['name', c.name] : ['selector', c.selector];
      const t = this.values.template(text, { typed: false });
      if (t.withheld || t.text === '') continue;
      return 'role' in c ? { role: c.role as NonNullable<Locator['role']>, text: t.text } : ({ [key]: t.text } as Locator);
    }
    const last = cands.at(-1);
    return { selector: last && 'selector' in last ? last.selector : 'body' };
  }

  private describe(e: RecordedEvent): string {
    return `${e.kind} at ${describe(this.locator(e.loc ?? []))}`;
  }
}

function describe(l: Locator): string {
  if (l.label !== undefined) return `label "${l.label}"`;
  if (l.role !== undefined) return `${l.role} "${l.text ?? ''}"`;
  if (l.name !== undefined) return `name "${l.name}"`;
  return `selector "${l.selector ?? ''}"`;
}

/** `step` inside the frames `frames` (outermost first). */
function wrap(frames: string[], step: Step): Step {
  return frames.reduceRight<Step>((inner, selector) => ({ frame: { selector, steps: [inner] } }) as Step, step);
}

/** Appends `step` to `steps`, into the last step when both are the same frame. */
function append(steps: Step[], step: Step): void {
  const last = steps.at(-1);
  if (last && 'frame' in last && 'frame' in step && last.frame.selector === step.frame.selector) {
    for (const s of step.frame.steps) append(last.frame.steps as Step[], s as Step);
    return;
  }
  steps.push(step);
}

/** A prompt the clerk answered: after what, the answer (templated), its message (in memory only) and the words that may name it in a rule. */
interface Prompt {
  what: string;
  answer: string;
  message: string;
  text?: string;
}

/**
 * The `dialogs` rules answering the prompts met: one prompt, one rule for
 * every prompt; several, one rule per message (by the longest words of it
 * that show no citizen data, the longest first, so that each message finds
 * its own rule first), then one rule without text for prompts whose message
 * has no such words. Whatever cannot be told apart is noted.
 */
function promptRules(prompts: Prompt[], notes: string[]): NonNullable<BrowserConfig['dialogs']> {
  const added = (p: Prompt) => `a prompt was answered after ${p.what}: a dialogs rule answers it (rekey record --pipeline-out adds it to the target's dialogs)`;
  if (prompts.length === 1) {
    notes.push(added(prompts[0]!));
    return [{ on: 'prompt', then: 'accept', answer: prompts[0]!.answer }];
  }
  const byText = new Map<string, Prompt>();
  let rest: Prompt | undefined;
  for (const p of prompts) {
    const first = p.text === undefined ? rest : byText.get(p.text.toLowerCase());
    if (!first) {
      if (p.text === undefined) rest = p;
      else byText.set(p.text.toLowerCase(), p);
      notes.push(p.text === undefined ? `${added(p)}; no words of its message may be written (it has none, or they may be citizen data), so the rule has no text: and answers every prompt no other rule answers` : added(p));
    } else if (first.answer !== p.answer) {
      notes.push(`another prompt was answered differently after ${p.what}, and its message cannot be told apart from the one after ${first.what}: the first answer is kept; add a match: to the target's dialogs to tell them apart`);
    }
  }
  const rules: NonNullable<BrowserConfig['dialogs']> = [...byText.values()]
    .sort((a, b) => b.text!.length - a.text!.length)
    .map((p) => ({ on: 'prompt' as const, text: p.text!, then: 'accept' as const, answer: p.answer }));
  if (rest) rules.push({ on: 'prompt', then: 'accept', answer: rest.answer });
  for (const p of prompts) {
    const rule = rules.find((r) => r.text === undefined || p.message.toLowerCase().includes(r.text.toLowerCase()));
    if (rule && rule.answer !== p.answer) notes.push(`the prompt after ${p.what} is answered by the rule for "${rule.text ?? 'any prompt'}", not with its own answer: add a match: to the target's dialogs to tell them apart`);
  }
  return rules;
}
