/**
 * The corrections tests' fixture, shared by the flow's test
 * (corrections.test.ts) and the command's (`rekey dlq correct`): a mapping
 * whose fields carry rules a correction is checked against, and a form
 * submission for it.
 */

/** The citizen's surname as the form gave it (the legacy system wants upper case): a canary. */
export const ORIGINAL_SURNAME = 'Qwyxzelborne';
/** The operator's correction of it: a canary. */
export const CORRECTED_SURNAME = 'ZORVANDIQUEFIX';

/**
 * Mapping `corrections`: REF, SURNAME (PII, at most 20 characters), TITLE
 * (one of MR, MRS, MS, DR), and group PREV of postcodes (PII, a pattern).
 */
export const CORRECTIONS_MAPPING = [
  'mapping: corrections',
  'fields:',
  '  REF: { from: submission_reference, required: true }',
  '  SURNAME: { answer: nm.last_name, required: true, pii: true, validate: { length: { max: 20 } } }',
  '  TITLE: { answer: ttl, validate: { enum: [MR, MRS, MS, DR] } }',
  'groups:',
  '  PREV:',
  '    each: { answer: prev }',
  '    fields:',
  "      PC: { from: $item.postcode, pii: true, validate: { pattern: '^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$' } }",
  '',
].join('\n');

/** A submission of form F for `CORRECTIONS_MAPPING`: reference `ref`, surname `surname`, title MR, previous `postcodes`. */
export function correctionsSubmission(ref: string, surname: string, postcodes: string[] = ['LS1 1AA', 'YO1 7HH']): unknown {
  return {
    form_name: 'F',
    submission_reference: ref,
    answers: [
      { question_id: 'nm', question_text: 'Name', answer_text: surname, last_name: surname },
      { question_id: 'ttl', question_text: 'Title', answer_text: 'MR' },
      { question_id: 'prev', question_text: 'Previous', can_have_multiple_answers: true, answer_text: postcodes, postcode: postcodes },
    ],
  };
}
