/**
 * The pure half of `rekey record`: values to templates (and what is
 * withheld as possible citizen data), events to nested steps (frames,
 * popups, dialogs), and no value of the submission in anything written.
 */
import { describe, expect, it } from 'vitest';
import { buildSteps, type RecordedEvent } from './browser.record.build.js';
import { ValueTemplater, textsOf, type Vocabulary } from './browser.record.values.js';
import { stepsYaml } from '../../runner/commands/record.command.js';

const record = { REF: 'QX7Y2ABC', SURNAME: 'OKONKWO-BRIGHT', FORENAMES: 'ADAEZE', DOB_DAY: '03', DOB_MONTH: '03', POSTCODE: 'M1 1AE', NOTE: '' };
const submission = {
  form_name: 'Change your name',
  reference: 'QX7Y2ABC',
  answers: [
    { question_text: 'What is your name?', answer_text: 'Adaeze Okonkwo-Bright' },
    { question_text: 'Middle name', answer_text: 'Chiamaka' },
    { question_text: 'Phone', answer_text: '07700 900123' },
  ],
};
const vocab = (literals: string[] = []): Vocabulary => ({ record, submissionTexts: textsOf(submission), literals });
const CANARIES = ['OKONKWO', 'Okonkwo', 'ADAEZE', 'Adaeze', 'Chiamaka', '07700', '900123', 'M1 1AE'];

let ts = 1000;
const ev = (e: Partial<RecordedEvent>): RecordedEvent => ({ kind: 'fill', ts: ts++, seq: 0, page: 0, frames: [], ...e });

describe('ValueTemplater', () => {
  it('writes a field\'s value as {{FIELD}}, telling fields of equal value apart by the element\'s words and by use', () => {
    const t = new ValueTemplater(vocab());
    expect(t.template('OKONKWO-BRIGHT')).toEqual({ text: '{{SURNAME}}', fields: ['SURNAME'], withheld: false });
    expect(t.template('03', { hint: 'Month of birth dob_month' }).text).toBe('{{DOB_MONTH}}');
    expect(t.template('03', { hint: 'Day of birth dob_day' }).text).toBe('{{DOB_DAY}}');
    expect(t.template('Okonkwo-Bright')).toMatchObject({ text: '{{SURNAME}}', loose: 'SURNAME' });
    expect(t.template('Change of address QX7Y2ABC').text).toBe('Change of address {{REF}}');
    expect(t.unused()).toEqual(['FORENAMES', 'POSTCODE', 'NOTE']);
  });

  it('withholds what matches no field and may be citizen data; keeps app vocabulary and declared constants', () => {
    const t = new ValueTemplater(vocab(['Chiamaka-free constant', 'PRIORITY 2024']));
    expect(t.template('Chiamaka').withheld).toBe(true); // in the submission, in no field
    expect(t.template('07700 900123').withheld).toBe(true); // in the submission
    expect(t.template('Okonkwo').withheld).toBe(true); // a word of an answer
    expect(t.template('Adaeze')).toMatchObject({ text: '{{FORENAMES}}', loose: 'FORENAMES' });
    expect(t.template('someone@example.org').withheld).toBe(true); // shaped like an email
    expect(t.template('SW1A 2AA').withheld).toBe(true); // shaped like a postcode
    expect(t.template('12/04/1987').withheld).toBe(true); // a date
    expect(t.template('hunter2', { secret: true }).withheld).toBe(true);
    expect(t.template('URGENT')).toEqual({ text: 'URGENT', fields: [], withheld: false });
    expect(t.template('PRIORITY 2024').withheld).toBe(false); // declared with --literal
    expect(t.template('Name', { typed: false }).withheld).toBe(false);
    expect(t.template('Change your name').withheld).toBe(false); // the form's own words
    expect(t.template('Your name', { typed: false }).withheld).toBe(false); // a label may repeat the question
  });
});

describe('buildSteps', () => {
  it('nests frames and popups, answers confirms, keys by label before role before name before CSS, and withholds unmatched values', () => {
    const events: RecordedEvent[] = [
      ev({ kind: 'fill', loc: [{ label: 'Surname' }, { name: 'surname' }], value: 'OKONKWO-BRIGHT' }),
      ev({ kind: 'fill', loc: [{ label: 'Middle name' }, { selector: '#mid' }], value: 'Chiamaka' }),
      ev({ kind: 'check', loc: [{ label: 'ADAEZE OKONKWO-BRIGHT' }, { selector: 'input[name="who"][value="1"]' }], checked: true }),
      ev({ kind: 'select', loc: [{ name: 'dob_day' }], hint: 'Day of birth dob_day', value: '03', optionText: '03' }),
      ev({ kind: 'fill', frames: ['frame[name="main"]', '#addr'], loc: [{ label: 'Postcode' }], value: 'M1 1AE' }),
      ev({ kind: 'click', frames: ['frame[name="main"]', '#addr'], loc: [{ role: 'button', text: 'Find' }] }),
      ev({ kind: 'click', page: 1, loc: [{ role: 'button', text: 'Use M1 1AE' }, { selector: 'body > button' }] }),
      ev({ kind: 'fill', frames: ['frame[name="main"]'], loc: [{ label: 'Notes' }], value: 'URGENT' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Save' }] }),
      ev({ kind: 'dialog', dialogType: 'confirm', accepted: true }),
    ];
    const built = buildSteps({ start: '/new', events, popups: [{ page: 1, opener: 0, openedAt: events[5]!.ts }], reference: { selector: '#ref' } }, vocab(), new Set(['SURNAME']));
    expect(built.steps).toEqual([
      { goto: '/new' },
      { fill: { label: 'Surname', value: '{{SURNAME}}' } },
      { fill: { label: 'Middle name', value: '{{UNMAPPED_1}}' } },
      { check: { label: '{{FORENAMES}} {{SURNAME}}' } },
      { select: { name: 'dob_day', value: '{{DOB_DAY}}', skipEmpty: true } },
      {
        frame: {
          selector: 'frame[name="main"]',
          steps: [
            { frame: { selector: '#addr', steps: [{ fill: { label: 'Postcode', value: '{{POSTCODE}}', skipEmpty: true } }, { popup: { open: { role: 'button', text: 'Find' }, steps: [{ click: { role: 'button', text: 'Use {{POSTCODE}}' } }] } }] } },
            { fill: { label: 'Notes', value: 'URGENT' } },
          ],
        },
      },
      { dialog: 'accept' },
      { click: { role: 'button', text: 'Save' } },
      { capture: { selector: '#ref' } },
    ]);
    expect(built.withheld).toBe(1);
    expect(built.notes.some((n) => n.startsWith('{{UNMAPPED_1}} (fill at label "Middle name")'))).toBe(true);
    const yaml = stepsYaml(built);
    for (const c of CANARIES) expect(yaml.includes(c), 'a citizen value is written in clear').toBe(false);
    expect(yaml).toContain('# - {{UNMAPPED_1}}');
  });

  it('answers a prompt by a dialogs rule (its answer templated), accepts a beforeunload before the action that raised it, and captures the reference in its frame', () => {
    const events = [
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Add note' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'OKONKWO-BRIGHT' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Add again' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'Chiamaka' }),
      ev({ kind: 'click', loc: [{ role: 'link', text: 'Leave' }] }),
      ev({ kind: 'dialog', dialogType: 'beforeunload', accepted: true }),
    ];
    const built = buildSteps({ start: '/', events, popups: [], reference: { selector: '#ref', frames: ['frame[name="main"]'] } }, vocab(), new Set());
    expect(built.dialogs).toEqual([{ on: 'prompt', then: 'accept', answer: '{{SURNAME}}' }]);
    expect(built.steps.slice(1)).toEqual([
      { click: { role: 'button', text: 'Add note' } },
      { click: { role: 'button', text: 'Add again' } },
      { dialog: 'accept' },
      { click: { role: 'link', text: 'Leave' } },
      { frame: { selector: 'frame[name="main"]', steps: [{ capture: { selector: '#ref' } }] } },
    ]);
    expect(built.notes).toContain('another prompt was answered differently after click at button "Add again", and its message cannot be told apart from the one after click at button "Add note": the first answer is kept; add a match: to the target\'s dialogs to tell them apart');
    const yaml = stepsYaml(built);
    expect(yaml).toContain('dialogs:\n  - on: prompt\n    then: accept\n    answer: "{{SURNAME}}"');
    for (const c of CANARIES) expect(yaml.includes(c), 'a citizen value is written in clear').toBe(false);
  });

  it('tells prompts apart by words of their messages that show no citizen data, the longest first, one rule per message', () => {
    const events = [
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Add note' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'OKONKWO-BRIGHT', message: 'Surname of OKONKWO-BRIGHT as on the licence?' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Add reason' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'ADAEZE', message: 'Reason for the change (M1 1AE)?' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Again' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'OKONKWO-BRIGHT', message: 'Surname of OKONKWO-BRIGHT as on the licence?' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Reference' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'QX7Y2ABC', message: 'OKONKWO-BRIGHT' }),
    ];
    const built = buildSteps({ start: '/', events, popups: [], reference: { selector: '#ref' } }, vocab(), new Set());
    expect(built.dialogs).toEqual([
      { on: 'prompt', text: 'Reason for the change', then: 'accept', answer: '{{FORENAMES}}' },
      { on: 'prompt', text: 'as on the licence', then: 'accept', answer: '{{SURNAME}}' },
      { on: 'prompt', then: 'accept', answer: '{{REF}}' },
    ]);
    expect(built.steps.slice(1, -1)).toEqual(['Add note', 'Add reason', 'Again', 'Reference'].map((text) => ({ click: { role: 'button', text } })));
    expect(built.notes.filter((n) => n.includes('prompt'))).toEqual([
      'a prompt was answered after click at button "Add note": a dialogs rule answers it (rekey record --pipeline-out adds it to the target\'s dialogs)',
      'a prompt was answered after click at button "Add reason": a dialogs rule answers it (rekey record --pipeline-out adds it to the target\'s dialogs)',
      'a prompt was answered after click at button "Reference": a dialogs rule answers it (rekey record --pipeline-out adds it to the target\'s dialogs); no words of its message may be written (it has none, or they may be citizen data), so the rule has no text: and answers every prompt no other rule answers',
    ]);
    const yaml = stepsYaml(built);
    for (const c of CANARIES) expect(yaml.includes(c), 'a citizen value is written in clear').toBe(false);
  });

  it('puts the longer of two overlapping prompt texts first, so that each message finds its own rule', () => {
    const events = [
      ev({ kind: 'click', loc: [{ role: 'button', text: 'One' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'ADAEZE', message: 'Reason for the change of name?' }),
      ev({ kind: 'click', loc: [{ role: 'button', text: 'Two' }] }),
      ev({ kind: 'dialog', dialogType: 'prompt', accepted: true, answer: 'OKONKWO-BRIGHT', message: 'Reason for the change of name? Give the name' }),
    ];
    const built = buildSteps({ start: '/', events, popups: [], reference: { selector: '#ref' } }, vocab(), new Set());
    expect(built.dialogs.map((r) => r.text)).toEqual(['Reason for the change of name? Give the name', 'Reason for the change of name']);
    expect(built.notes).not.toContain(expect.stringContaining('is answered by the rule for'));
  });

  it('finds an element by structure when its every name shows citizen data, and writes a password never', () => {
    const built = buildSteps(
      {
        start: '/',
        events: [
          ev({ kind: 'click', loc: [{ role: 'link', text: 'Chiamaka 07700 900123' }, { selector: 'table > tr:nth-of-type(2) > td > a' }] }),
          ev({ kind: 'fill', loc: [{ label: 'Password' }], value: 'dcs-pass-1', secret: true }),
        ],
        popups: [],
      },
      vocab(),
      new Set(),
    );
    expect(built.steps.slice(1)).toEqual([{ click: { selector: 'table > tr:nth-of-type(2) > td > a' } }, { fill: { label: 'Password', value: '{{UNMAPPED_1}}' } }]);
    expect(JSON.stringify(built)).not.toContain('dcs-pass-1');
    expect(built.notes).toContain('no reference is captured: add a capture step (or record with --until SELECTOR) so that rekey records the legacy reference');
  });
});
