/**
 * Dialog rules decide in order; an unmatched dialog is unexpected unless a
 * dialog: step said what to do; a fault carries the dialog's text only as
 * legacy text, never in its message. And the yes/no reading of check boxes.
 */
import { describe, expect, it } from 'vitest';
import { checkDialogRules, DialogRules } from './browser.dialogs.js';
import { yesNo } from './browser.choices.js';

const rules = new DialogRules([
  { on: 'confirm', text: 'save the application', then: 'accept' },
  { on: ['alert', 'confirm'], match: '^Postcode .* is not valid$', then: 'reject' },
  { on: 'prompt', then: 'accept', answer: 'Reason: {{R}}' },
  { text: 'try later', then: 'retry' },
  { on: 'beforeunload', then: 'dismiss' },
]);
const render = (t: string) => t.replace('{{R}}', 'moved');

describe('dialog rules', () => {
  it('takes the first rule that matches kind and text (case-insensitive text, regular expression match)', () => {
    expect(rules.decide('confirm', 'Save the application for AB12?', undefined, render)).toEqual({ action: 'accept' });
    expect(rules.decide('prompt', 'Why?', undefined, render)).toEqual({ action: 'accept', answer: 'Reason: moved' });
    expect(rules.decide('beforeunload', '', undefined, render)).toEqual({ action: 'dismiss' });
  });

  it('rejects with the dialog text as legacy text only; retries; ends the attempt on an unexpected dialog', () => {
    const reject = rules.decide('alert', 'Postcode QQ1 is not valid', undefined, render);
    expect(reject.action).toBe('dismiss');
    expect(reject.fault).toMatchObject({ code: 'BROWSER_REJECTED', disposition: 'reject', message: 'the legacy app refused the record in an alert dialog', data: { legacyText: 'Postcode QQ1 is not valid', dialog: { type: 'alert', text: 'Postcode QQ1 is not valid' } } });
    expect(rules.decide('alert', 'Please try later', undefined, render).fault).toMatchObject({ code: 'BROWSER_DIALOG', disposition: 'retry', message: 'an alert dialog asked for the record to be tried again' });
    const unexpected = rules.decide('alert', 'Vehicle AB12 taxed?', undefined, render);
    expect(unexpected.fault).toMatchObject({ code: 'BROWSER_DIALOG', message: 'an unexpected alert dialog ended the attempt (no dialogs: rule matched it)', data: { legacyText: 'Vehicle AB12 taxed?' } });
    expect(unexpected.fault!.message).not.toContain('AB12');
  });

  it('follows a dialog: step for dialogs no rule matches', () => {
    expect(rules.decide('alert', 'Saved', 'accept', render)).toEqual({ action: 'accept' });
    expect(rules.decide('confirm', 'Leave?', 'dismiss', render)).toEqual({ action: 'dismiss' });
  });

  it('reports a bad regular expression and an answer on a rule that does not accept', () => {
    expect(checkDialogRules([{ match: '[', then: 'reject' }, { then: 'retry', answer: 'x' }])).toEqual(['dialogs[0].match: Invalid regular expression: /[/: Unterminated character class', 'dialogs[1].answer: only a rule that accepts answers a prompt']);
  });
});

describe('check box values', () => {
  it('reads yes/no words and booleans; anything else rejects the record without quoting the value', () => {
    for (const v of ['true', 'Yes', 'y', '1', 'on', 'X', true]) expect(yesNo(v, 'a check box')).toBe(true);
    for (const v of ['false', 'No', 'n', '0', 'off', '', ' ', false]) expect(yesNo(v, 'a check box')).toBe(false);
    expect(() => yesNo('maybe', 'a check box')).toThrow(expect.objectContaining({ code: 'BROWSER_STEP', disposition: 'reject', message: 'the value for a check box is not yes or no (true, yes, 1, false, no, 0 or empty)' }) as Error);
  });
});
