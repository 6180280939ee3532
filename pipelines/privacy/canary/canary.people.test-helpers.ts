/**
 * Citizens made of canaries for the canary suite: every answer the
 * change-of-address mappings mark `pii: true` is a value found nowhere
 * else, registered with a label that says whose field it is; and the
 * GOV.UK Forms submission that carries them.
 */
import { randomInt } from 'node:crypto';
import { Canaries, digits, letters } from './canary.test-helpers.js';

/** The form name of the example submissions (first part of their keys). */
export const FORM = 'Change the address on your driving licence';

/** One citizen's answers. */
export interface Person {
  tag: string;
  ref: string;
  key: string;
  title: string;
  first: string;
  middle: string;
  surname: string;
  /** dd/MM/yyyy as answered. */
  dob: string;
  licence: string;
  nino: string;
  address1: string;
  address2: string;
  town: string;
  county: string;
  /** As answered: lower case, no space. */
  postcode: string;
  phone: string;
  email: string;
}

const INWARD = 'ABDEFGHJLNPQRSTUWXYZ';
const used = new Set<string>();

/** Parts from `make` that no earlier citizen of this run has had: two people sharing a birth date must not look like one leaking into the other's evidence. */
function fresh(make: () => string[]): string[] {
  for (;;) {
    const parts = make();
    const id = parts.join('/');
    if (!used.has(id)) {
      used.add(id);
      return parts;
    }
  }
}
/** What a GOV.UK Forms reference is made of (the webhook example's schema checks it). */
const REF_CHARS = 'ABCDEFGHJKLMNPRSTUVWXY23456789';

function inwardLetters(): string {
  return Array.from(letters(2), (c) => INWARD[c.charCodeAt(0) % INWARD.length]).join('');
}

/**
 * A citizen tagged `tag` whose personal answers are canaries (a marker such
 * as `RETRYME` may follow the second address line; `licence` or `email`
 * may be replaced by a canary the mapping refuses).
 */
export function person(canaries: Canaries, tag: string, opts: { marker?: string; licence?: string; email?: string } = {}): Person {
  const add = (field: string, value: string) => canaries.add(`${field} of ${tag}`, value);
  const [day = '', month = '', year = ''] = fresh(() => [String(randomInt(10, 28)), String(randomInt(10, 13)), String(randomInt(1930, 1950))]);
  const dob = `${day}/${month}/${year}`;
  add('DOB', dob);
  add('DOB (mapped)', `${day}.${month}.${year}`);
  const postcode = `CR${randomInt(10, 100)}${randomInt(10)}${inwardLetters()}`;
  add('POSTCODE', postcode);
  add('POSTCODE (mapped)', `${postcode.slice(0, 4)} ${postcode.slice(4)}`);
  const ninoDigits = digits(6);
  add('NINO', `JH${ninoDigits}C`);
  add('NINO (spaced)', `JH ${ninoDigits.slice(0, 2)} ${ninoDigits.slice(2, 4)} ${ninoDigits.slice(4)} C`);
  const [phoneEnd = ''] = fresh(() => [digits(3)]);
  add('PHONE', `07700 900${phoneEnd}`);
  add('PHONE (mapped)', `7700900${phoneEnd}`);
  const licence = opts.licence ?? `${letters(5)}${year.charAt(2)}${month}${day}${year.charAt(3)}${letters(2)}${digits(1)}${letters(2)}`;
  const ref = Array.from({ length: 8 }, () => REF_CHARS[randomInt(REF_CHARS.length)]).join('');
  return {
    tag,
    ref,
    key: `${FORM}/${ref}`,
    title: 'Mr',
    first: add('first name', `CANARY-FN-${letters(6)}`),
    middle: add('middle names', `CANARY-MN-${letters(6)}`),
    surname: add('SURNAME', `CANARY-SUR-${letters(10)}`),
    dob,
    licence: add('DRIVER_NO', licence),
    nino: `JH ${ninoDigits.slice(0, 2)} ${ninoDigits.slice(2, 4)} ${ninoDigits.slice(4)} C`,
    address1: add('ADDR_1', `CANARY-A1-${letters(8)}`),
    address2: `${add('ADDR_2', `CANARY-A2-${letters(8)}`)}${opts.marker ? ` ${opts.marker}` : ''}`,
    town: add('town', `CANARY-TN-${letters(8)}`),
    county: add('county', `CANARY-CO-${letters(8)}`),
    postcode: postcode.toLowerCase(),
    phone: `07700 900${phoneEnd}`,
    email: add('EMAIL', opts.email ?? `canary.${letters(10).toLowerCase()}@example.com`),
  };
}

/** `p` as a GOV.UK Forms submission (the shape of fixtures/submissions/govuk-forms/*.ndjson). */
export function submission(p: Person): Record<string, unknown> {
  return {
    form_name: FORM,
    submission_reference: p.ref,
    submitted_at: '2024-03-14T10:22:31.418Z',
    language: 'en',
    answers: [
      { question_id: 'Fn3kQ8aZ', question_text: 'What is your name?', title: p.title, first_name: p.first, middle_names: p.middle, last_name: p.surname, answer_text: `${p.title} ${p.first} ${p.middle} ${p.surname}` },
      { question_id: 'Db7mR2xP', question_text: 'What is your date of birth?', answer_text: p.dob },
      { question_id: 'Lc4vT9wN', question_text: 'What is your driving licence number?', answer_text: p.licence },
      { question_id: 'Ni8sK3hB', question_text: 'What is your National Insurance number?', answer_text: p.nino },
      {
        question_id: 'Ad2pW6yJ',
        question_text: 'What is your new address?',
        address1: p.address1,
        address2: p.address2,
        town_or_city: p.town,
        county: p.county,
        postcode: p.postcode,
        answer_text: [p.address1, p.address2, p.town, p.county, p.postcode].join(', '),
      },
      { question_id: 'Mv5gH7cE', question_text: 'When did you move to your new address?', answer_text: '03/03/2024' },
      { question_id: 'Ph6tL4nR', question_text: 'What is your phone number?', answer_text: p.phone },
      { question_id: 'Em9bX2dS', question_text: 'What is your email address?', answer_text: p.email },
      { question_id: 'Cn3yU8fM', question_text: 'Do you agree to DVLA checking your details with other government departments?', answer_text: 'Yes' },
    ],
  };
}

/** `people` as NDJSON. */
export function ndjson(people: readonly Person[]): string {
  return `${people.map((p) => JSON.stringify(submission(p))).join('\n')}\n`;
}
