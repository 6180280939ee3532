/**
 * Fixture-shaped GOV.UK Forms submissions for benchmarks, made from a seed so
 * every run maps the same data.
 */

const SURNAMES = ["O'Connor", 'Ní Bhriain', 'Brontë-Smith', 'ap Gwilym', 'García', 'Okafor', 'Smith', 'Jones', 'Williams', 'Patel'];
const FIRST = ['Siân', 'Seán', 'Zoë', 'Dafydd', 'José', 'Amara', 'John', 'Mary', 'Priya', 'Tom'];
const TITLES = ['Mr', 'Mrs', 'Miss', 'Ms', 'Dr', 'Sir', ''];
const POSTCODES = ['m1 1ae', 'B33 8TH', 'W1A 0AX', 'cr2 6xh', 'DN55 1PT', 'EC1A1BB', 'SW1A 2AA', 'LS1 1UR', 'CF10 1EP', 'sa19 9ln'];
const TOWNS = ['Manchester', 'Birmingham', 'London', 'Croydon', 'Doncaster', 'Leeds', 'Cardiff', 'Llangadog'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `n` distinct submissions of the change-of-address shape, the same for the same seed; references count from `offset`. */
/** The columns of bench/mapping-12.yaml's record, in its order: every benchmark's legacy table has these (and the submission key). */
export const FIELDS = ['REF', 'SURNAME', 'FORENAMES', 'TITLE', 'DOB', 'LICENCE', 'ADDR1', 'TOWN', 'POSTCODE', 'MOVED', 'WELSH', 'RECEIVED'];

export function makeSubmissions(n: number, seed = 42, offset = 0): object[] {
  const r = rng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
  const out: object[] = [];
  for (let i = 0; i < n; i++) {
    const last = pick(SURNAMES);
    const first = pick(FIRST);
    const day = 1 + Math.floor(r() * 28);
    const month = 1 + Math.floor(r() * 12);
    const year = 1940 + Math.floor(r() * 65);
    const at = Date.UTC(2024, Math.floor(r() * 12), 1 + Math.floor(r() * 28), Math.floor(r() * 24), Math.floor(r() * 60));
    out.push({
      form_name: 'Change the address on your driving licence',
      submission_reference: `B${String(offset + i).padStart(7, '0')}`,
      submitted_at: new Date(at).toISOString(),
      language: r() < 0.1 ? 'cy' : 'en',
      answers: [
        { question_id: 'nm', question_text: 'What is your name?', answer_text: `${first} ${last}`, title: pick(TITLES), first_name: ` ${first}  `, last_name: last },
        { question_id: 'dob', question_text: 'What is your date of birth?', answer_text: `${pad(day)}/${pad(month)}/${year}` },
        { question_id: 'lic', question_text: 'What is your driving licence number?', answer_text: `MORGA 657054 SM9IJ` },
        {
          question_id: 'addr',
          question_text: 'What is your new address?',
          answer_text: '1 High Street, Town, M1 1AE',
          address1: `${1 + Math.floor(r() * 200)} High Street `,
          address2: '',
          town_or_city: pick(TOWNS),
          county: '',
          postcode: pick(POSTCODES),
        },
        { question_id: 'moved', question_text: 'When did you move?', answer_text: `${pad(day)}/${pad(month)}/2024` },
        { question_id: 'phone', question_text: 'What is your phone number?', answer_text: '07700 900123' },
        { question_id: 'email', question_text: 'What is your email address?', answer_text: 'someone@example.com' },
        { question_id: 'consent', question_text: 'Do you agree?', answer_text: 'Yes' },
      ],
    });
  }
  return out;
}
