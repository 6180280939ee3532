/**
 * Dialogs as outcomes: `dialogs:` rules in a browser target's config match
 * a dialog (alert, confirm, prompt, beforeunload) by its kind and text and
 * decide what it means: `accept`, `dismiss`, `reject` (the legacy app
 * refused the record: a business rejection, never retried, its text the
 * reason) or `retry`. A dialog no rule matches is accepted or dismissed
 * only when a `dialog:` step said so; otherwise it is unexpected and ends
 * the attempt. The dialog's text is the legacy app's own and may quote a
 * citizen's values: it travels only as the error's `legacyText` (sealed
 * with its submission by the flow, hashed on the ledger row and the audit
 * log) and in a sealed evidence file, never in a message or a log.
 */
import { Type, type Static } from 'typebox';
import { closed } from '../config.schema.js';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';

const KINDS = ['alert', 'confirm', 'prompt', 'beforeunload'] as const;

/** A dialog's kind, as Playwright names it. */
export type DialogKind = (typeof KINDS)[number];

const kind = Type.Unsafe<DialogKind>({ enum: [...KINDS], description: 'alert, confirm, prompt or beforeunload.' });

/** JSON Schema (draft-07) of one dialog rule. */
export const dialogRuleSchema = closed(
  {
    on: Type.Optional(Type.Unsafe<DialogKind | DialogKind[]>({ oneOf: [kind, { type: 'array', items: kind, minItems: 1 }], description: 'Kinds of dialog the rule matches; default every kind.' })),
    text: Type.Optional(Type.String({ minLength: 1, description: 'Text the dialog\'s message contains (case-insensitive).' })),
    match: Type.Optional(Type.String({ minLength: 1, description: 'Regular expression the dialog\'s message matches.' })),
    then: Type.Unsafe<'accept' | 'dismiss' | 'reject' | 'retry'>({
      enum: ['accept', 'dismiss', 'reject', 'retry'],
      description: 'accept or dismiss it and go on; reject the record with its text as the reason (never retried); or retry the record later.',
    }),
    answer: Type.Optional(Type.String({ description: 'Text typed into a prompt before accepting it; a template.' })),
  },
  { description: 'What a dialog whose kind and text match means.' },
);

/** One dialog rule; the first rule that matches a dialog decides. */
export type DialogRule = Static<typeof dialogRuleSchema>;

/** What to do with one dialog: answer it so, and end the attempt with `fault` when set. */
export interface DialogDecision {
  action: 'accept' | 'dismiss';
  answer?: string;
  fault?: ConnectorFailure;
}

/** Rules compiled once per target: regular expressions built, texts lower-cased. */
export class DialogRules {
  private readonly rules: { on?: DialogKind[]; text?: string; match?: RegExp; then: DialogRule['then']; answer?: string }[];

  /** Throws an Error naming the rule for a regular expression that does not compile (checked first by `checkDialogRules`). */
  constructor(rules: readonly DialogRule[] = []) {
    this.rules = rules.map((r) => ({
      then: r.then,
      ...(r.on !== undefined && { on: Array.isArray(r.on) ? r.on : [r.on] }),
      ...(r.text !== undefined && { text: r.text.toLowerCase() }),
      ...(r.match !== undefined && { match: new RegExp(r.match) }),
      ...(r.answer !== undefined && { answer: r.answer }),
    }));
  }

  /**
   * Decides on a dialog of `type` showing `message`: the first matching
   * rule's choice; else `declared` (a `dialog:` step's accept or dismiss);
   * else it is unexpected and is dismissed with a `BROWSER_DIALOG` fault.
   * `render` renders a prompt's `answer` template. A fault carries the
   * dialog's text as `data.legacyText` and `data.dialog`.
   */
  decide(type: string, message: string, declared: 'accept' | 'dismiss' | undefined, render: (template: string) => string): DialogDecision {
    const data = { legacyText: message, dialog: { type, text: message } };
    const rule = this.rules.find((r) => (!r.on || r.on.includes(type as DialogKind)) && (r.text === undefined || message.toLowerCase().includes(r.text)) && (!r.match || r.match.test(message)));
    if (rule?.then === 'accept') return { action: 'accept', ...(rule.answer !== undefined && type === 'prompt' && { answer: render(rule.answer) }) };
    if (rule?.then === 'dismiss') return { action: 'dismiss' };
    if (rule?.then === 'reject') return { action: 'dismiss', fault: new ConnectorFailure(BrowserErrors.REJECTED, `the legacy app refused the record in ${article(type)} dialog`, { data }) };
    if (rule?.then === 'retry') return { action: 'dismiss', fault: new ConnectorFailure(BrowserErrors.DIALOG, `${article(type)} dialog asked for the record to be tried again`, { data }) };
    if (declared) return { action: declared };
    return { action: 'dismiss', fault: new ConnectorFailure(BrowserErrors.DIALOG, `an unexpected ${type} dialog ended the attempt (no dialogs: rule matched it)`, { data }) };
  }
}

const article = (type: string) => `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

/** Problems of `rules` (a regular expression that does not compile, a rule matching nothing in particular), each naming the rule. */
export function checkDialogRules(rules: readonly DialogRule[] | undefined): string[] {
  const problems: string[] = [];
  (rules ?? []).forEach((r, i) => {
    if (r.match !== undefined) {
      try {
        new RegExp(r.match);
      } catch (e) {
        problems.push(`dialogs[${i}].match: ${(e as Error).message}`);
      }
    }
    if (r.answer !== undefined && r.then !== 'accept') problems.push(`dialogs[${i}].answer: only a rule that accepts answers a prompt`);
  });
  return problems;
}
