import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { govukFormsPlan, londonTimeToUtc } from './govuk-forms-csv.js';
import { failures, readAll, tempDir, values, writeInput } from './test-support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

function csvLine(fields: string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

const header = [
  'Reference',
  'Submitted at',
  'What is your name? - Title',
  'What is your name? - First name',
  'What is your name? - Last name',
  'What is your address? - Address line 1',
  'What is your address? - Address line 2 (optional)',
  'What is your address? - Town or City',
  'What is your address? - County (optional)',
  'What is your address? - Postcode',
  'Where do you live abroad? - Street address',
  'Where do you live abroad? - Country',
  'What is your date of birth?',
  'Your pets - cats or dogs?',
  'Which vehicles do you own?',
];

describe('GOV.UK Forms CSV to JSON submissions', () => {
  it('converts rows, grouping name and address parts and reading Answer: cells', async () => {
    const rows = [
      header,
      ['H7K2M9P4', '2022-09-14T08:00:00+01:00', 'Dr', 'Jane', 'Smith', '1 High Street', '', 'London', '', 'SW1A 1AA', '', '', '01/02/1980', 'cats', 'Answer: AB12 CDE\nAnswer: XY34 ZZZ'],
      ['R3T5V7W9', '2022-12-14T08:00:00+00:00', '', 'Ann', 'Jones', '', '', '', '', '', '5 Rue X', 'France', '31/12/1999', '', 'Answer: CD56 EFG'],
    ];
    const path = await writeInput(dir, 'form_submission.csv', `${rows.map(csvLine).join('\r\n')}\r\n`);
    const items = await readAll(path, { csv: { shape: 'govuk-forms', formName: 'Apply for a permit' } });
    expect(items.map((i) => i.at)).toEqual([
      { file: path, record: 1, line: 2 },
      { file: path, record: 2, line: 4 },
    ]);
    expect(values(items)).toEqual([
      {
        form_name: 'Apply for a permit',
        submission_reference: 'H7K2M9P4',
        submitted_at: '2022-09-14T07:00:00.000Z',
        answers: [
          { question_text: 'What is your name?', answer_text: 'Dr Jane Smith', title: 'Dr', first_name: 'Jane', last_name: 'Smith' },
          {
            question_text: 'What is your address?',
            answer_text: '1 High Street, London, SW1A 1AA',
            address1: '1 High Street',
            address2: '',
            town_or_city: 'London',
            county: '',
            postcode: 'SW1A 1AA',
          },
          { question_text: 'Where do you live abroad?', answer_text: '', street_address: '', country: '' },
          { question_text: 'What is your date of birth?', answer_text: '01/02/1980' },
          { question_text: 'Your pets - cats or dogs?', answer_text: 'cats' },
          { question_text: 'Which vehicles do you own?', answer_text: ['AB12 CDE', 'XY34 ZZZ'], can_have_multiple_answers: true },
        ],
      },
      {
        form_name: 'Apply for a permit',
        submission_reference: 'R3T5V7W9',
        submitted_at: '2022-12-14T08:00:00.000Z',
        answers: [
          { question_text: 'What is your name?', answer_text: 'Ann Jones', title: '', first_name: 'Ann', last_name: 'Jones' },
          { question_text: 'What is your address?', answer_text: '', address1: '', address2: '', town_or_city: '', county: '', postcode: '' },
          { question_text: 'Where do you live abroad?', answer_text: '5 Rue X, France', street_address: '5 Rue X', country: 'France' },
          { question_text: 'What is your date of birth?', answer_text: '31/12/1999' },
          { question_text: 'Your pets - cats or dogs?', answer_text: '' },
          { question_text: 'Which vehicles do you own?', answer_text: ['CD56 EFG'], can_have_multiple_answers: true },
        ],
      },
    ]);
  });

  it('reads repeating multi-part answers, in Answer: cells or in "- Answer N" columns', async () => {
    const rows = [
      ['Reference', 'Submitted at', 'Who lives with you? - First name', 'Who lives with you? - Last name', 'Pet - First name - Answer 1', 'Pet - First name - Answer 2', 'Language'],
      ['ABC2DEF3', '2024-07-01T12:30:00+01:00', 'Answer: Tom\nAnswer: Ann', 'Answer: Li\nAnswer: Wu', 'Rex', 'Tib', 'cy'],
    ];
    const path = await writeInput(dir, 'repeat.csv', rows.map(csvLine).join('\n'));
    expect(values(await readAll(path, { csv: { shape: 'govuk-forms' } }))).toEqual([
      {
        submission_reference: 'ABC2DEF3',
        submitted_at: '2024-07-01T11:30:00.000Z',
        language: 'cy',
        answers: [
          {
            question_text: 'Who lives with you?',
            answer_text: ['Tom Li', 'Ann Wu'],
            first_name: ['Tom', 'Ann'],
            last_name: ['Li', 'Wu'],
            can_have_multiple_answers: true,
          },
          { question_text: 'Pet', answer_text: ['Rex', 'Tib'], first_name: ['Rex', 'Tib'], can_have_multiple_answers: true },
        ],
      },
    ]);
  });

  it('splits only on the last " - " and only beside a known part label; unknown labels get slug keys', () => {
    const plan = govukFormsPlan([
      'Reference',
      'Submitted at',
      'Name - as on your passport - First name',
      'Name - as on your passport - Preferred name',
      'Name - as on your passport - Last name',
      'Rate us - Speed',
      'Rate us - Quality',
      'Contact - Postcode',
      'Contact - Postcode',
    ]);
    expect('error' in plan ? plan.error : plan.answers).toEqual([
      {
        question: 'Name - as on your passport',
        multiPart: true,
        columns: [
          { index: 2, question: 'Name - as on your passport', part: 'first_name' },
          { index: 3, question: 'Name - as on your passport', part: 'preferred_name' },
          { index: 4, question: 'Name - as on your passport', part: 'last_name' },
        ],
      },
      { question: 'Rate us - Speed', multiPart: false, columns: [{ index: 5, question: 'Rate us - Speed' }] },
      { question: 'Rate us - Quality', multiPart: false, columns: [{ index: 6, question: 'Rate us - Quality' }] },
      { question: 'Contact', multiPart: true, columns: [{ index: 7, question: 'Contact', part: 'postcode' }] },
      { question: 'Contact', multiPart: true, columns: [{ index: 8, question: 'Contact', part: 'postcode' }] },
    ]);
  });

  it('converts London time to UTC across GMT and BST, with or without an offset', () => {
    expect(londonTimeToUtc('2022-09-14T08:00:00+01:00')).toBe('2022-09-14T07:00:00.000Z');
    expect(londonTimeToUtc('2023-01-10T09:15:30+00:00')).toBe('2023-01-10T09:15:30.000Z');
    expect(londonTimeToUtc('2023-01-10T09:15:30Z')).toBe('2023-01-10T09:15:30.000Z');
    expect(londonTimeToUtc('2024-03-31 00:30:00')).toBe('2024-03-31T00:30:00.000Z');
    expect(londonTimeToUtc('2024-03-31 02:30:00')).toBe('2024-03-31T01:30:00.000Z');
    expect(londonTimeToUtc('2024-10-27T00:30:00')).toBe('2024-10-26T23:30:00.000Z');
    expect(londonTimeToUtc('2024-10-27T02:30:00')).toBe('2024-10-27T02:30:00.000Z');
    expect(londonTimeToUtc('14/09/2022 08:00')).toBe('2022-09-14T07:00:00.000Z');
    expect(londonTimeToUtc('2022-02-30T08:00:00+00:00')).toBeUndefined();
    expect(londonTimeToUtc('soon')).toBeUndefined();
  });

  it('fails a row with a bad Submitted at alone, and a file that is not an export as a whole', async () => {
    const rows = [['Reference', 'Submitted at', 'Q'], ['A', 'not a time', 'x'], ['B', '2024-01-01T00:00:00+00:00', 'y']];
    const path = await writeInput(dir, 'badtime.csv', rows.map(csvLine).join('\n'));
    const items = await readAll(path, { csv: { shape: 'govuk-forms' } });
    expect(failures(items)).toEqual([
      { ok: false, error: { code: 'INPUT_MALFORMED_RECORD', message: '"Submitted at" is not a date and time like 2022-09-14T08:00:00+01:00' }, at: { file: path, record: 1, line: 2 } },
    ]);
    expect(values(items)).toHaveLength(1);
    const other = await writeInput(dir, 'other.csv', 'ref,when\n1,2\n');
    expect(await readAll(other, { csv: { shape: 'govuk-forms' } })).toEqual([
      {
        ok: false,
        error: { code: 'INPUT_MALFORMED_FILE', message: 'header row: not a GOV.UK Forms CSV export: no Reference or Submitted at column' },
        at: { file: other, record: 1, line: 1 },
      },
    ]);
  });
});
