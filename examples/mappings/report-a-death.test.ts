/**
 * The report-a-death worked example (issue 19): every report-a-death fixture
 * mapped by each office's mapping. Checks which submissions each office takes
 * and rejects (and why), that each office receives only its own fields and
 * never another office's or the informant's answers, that no error shows a
 * value, and that the route conditions written in the mappings' headers
 * select the same submissions as the mappings themselves, and that the
 * passport records fit the fixed-width layout its header describes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { fixedWidthFormat, type FixedWidthFormatConfig } from '../../connectors/file-drop/formats/fixed-width.format.js';
import { formatProblem, loadMapping, type CompiledMapping, type MapResult } from '../../mappings/index.js';

const HERE = new URL('./', import.meta.url);
const FIXTURES = new URL('../../fixtures/submissions/govuk-forms/report-a-death.ndjson', import.meta.url);

interface Answer {
  question_id: string;
  answer_text: string | string[];
  [part: string]: unknown;
}
interface Submission {
  submission_reference: string;
  answers: Answer[];
}

const submissions = readFileSync(FIXTURES, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Submission);

function load(name: string): { compiled: CompiledMapping; text: string } {
  const url = new URL(`./${name}.yaml`, HERE);
  const text = readFileSync(url, 'utf8');
  const readRelated = (rel: string): string | undefined => readFileSync(new URL(rel, url), 'utf8');
  const loaded = loadMapping(url.pathname, text, { readRelated });
  if (!loaded.compiled) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  return { compiled: loaded.compiled, text };
}

const answerOf = (s: Submission, id: string): Answer | undefined => s.answers.find((a) => a.question_id === id);
const textOf = (s: Submission, id: string): string => String(answerOf(s, id)?.answer_text ?? '');

/** Question ids of the form, by what they hold. */
const Q = {
  name: 'Dn4pR7aK',
  dob: 'Bd6tW3eM',
  dod: 'Dd8kL2vS',
  nino: 'Nn5hG9cP',
  address: 'La3mX6rT',
  licence: 'Dl7wC4nB',
  passport: 'Pp2yF8hU',
  councilTax: 'Ct9jK5sE',
  informantName: 'In6bV3mY',
  relationship: 'Rl4xN8dA',
  email: 'Ie2sH7kW',
  phone: 'Ip9fT4gR',
  consent: 'Ic5dM2pX',
} as const;
const INFORMANT = [Q.informantName, Q.relationship, Q.email, Q.phone, Q.consent];

/** Every spelling of a date answer (dd/mm/yyyy) a mapping could write. */
function dateSpellings(ddmmyyyy: string): string[] {
  const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(ddmmyyyy);
  return m ? [ddmmyyyy, `${m[3]}-${m[2]}-${m[1]}`, `${m[3]}${m[2]}${m[1]}`, `${m[1]}.${m[2]}.${m[3]}`] : [];
}

/**
 * The answers an office must not receive, in the spellings a mapping could
 * give them. A last name alone is left out: the informant often shares the
 * surname of the person who died.
 */
function forbiddenValues(s: Submission, ids: readonly string[], dates: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const id of ids) {
    const a = answerOf(s, id);
    if (!a) continue;
    for (const v of [a.answer_text, a.postcode, a.first_name].flat()) {
      if (typeof v === 'string' && v.trim() !== '') out.push(v);
    }
  }
  for (const id of dates) out.push(...dateSpellings(textOf(s, id)));
  return out;
}

const squash = (v: string): string => v.replace(/\s+/g, '').toUpperCase();

interface Office {
  mapping: string;
  /** The fields this office may receive, written here independently of the mapping. */
  fields: string[];
  /** Answers it must never receive (values compared without spaces and case). */
  forbidden: (s: Submission) => string[];
  ok: string[];
  rejected: Record<string, [field: string, rule: string]>;
}

const OFFICES: Office[] = [
  {
    mapping: 'report-a-death-driving-licence',
    fields: ['FORM_REF', 'LICENCE_NO', 'SURNAME', 'FORENAMES', 'DATE_OF_BIRTH', 'DATE_OF_DEATH', 'NOTIFIED_ON'],
    forbidden: (s) => forbiddenValues(s, [Q.nino, Q.address, Q.passport, Q.councilTax, ...INFORMANT]),
    ok: ['DT4KM8PA', 'RX6BW3HN', 'KJ5AT6RV', 'GE6RJ3XT'],
    rejected: {
      CF2LN9TE: ['LICENCE_NO', 'required'],
      MW7HS4YD: ['LICENCE_NO', 'required'],
      HP8EX2LC: ['DATE_OF_DEATH', 'required'],
      VN3GU5KS: ['DATE_OF_DEATH', 'death-not-before-birth'],
      BL9CR7MF: ['nino', 'nino'],
      YA4FP8WG: ['DATE_OF_DEATH', 'death-not-after-notice'],
    },
  },
  {
    mapping: 'report-a-death-passport',
    fields: ['CASE_REF', 'PASSPORT_NO', 'SURNAME', 'FORENAMES', 'DATE_OF_BIRTH', 'DATE_OF_DEATH', 'NOTIFIED_ON'],
    forbidden: (s) => forbiddenValues(s, [Q.nino, Q.address, Q.licence, Q.councilTax, ...INFORMANT]),
    ok: ['DT4KM8PA', 'CF2LN9TE', 'KJ5AT6RV', 'GE6RJ3XT'],
    rejected: {
      RX6BW3HN: ['PASSPORT_NO', 'required'],
      MW7HS4YD: ['PASSPORT_NO', 'required'],
      HP8EX2LC: ['DATE_OF_DEATH', 'required'],
      VN3GU5KS: ['DATE_OF_DEATH', 'death-not-before-birth'],
      BL9CR7MF: ['nino', 'nino'],
      YA4FP8WG: ['DATE_OF_DEATH', 'death-not-after-notice'],
    },
  },
  {
    mapping: 'report-a-death-council-tax',
    fields: ['CASE_REF', 'COUNCIL', 'ACCOUNT_NO', 'TITLE', 'FORENAMES', 'SURNAME', 'ADDRESS_LINE_1', 'ADDRESS_LINE_2', 'TOWN', 'POSTCODE', 'DATE_OF_DEATH', 'NOTIFIED_ON'],
    forbidden: (s) => forbiddenValues(s, [Q.nino, Q.licence, Q.passport, ...INFORMANT], [Q.dob]),
    // VN3GU5KS (death before birth) is taken: the council gets no date of
    // birth, and a rule can only compare fields the record carries.
    ok: ['DT4KM8PA', 'RX6BW3HN', 'CF2LN9TE', 'MW7HS4YD', 'GE6RJ3XT', 'VN3GU5KS'],
    rejected: {
      KJ5AT6RV: ['COUNCIL', 'lookup:COUNCILS'],
      HP8EX2LC: ['DATE_OF_DEATH', 'required'],
      BL9CR7MF: ['nino', 'nino'],
      YA4FP8WG: ['DATE_OF_DEATH', 'death-not-after-notice'],
    },
  },
];

describe.each(OFFICES)('$mapping over every report-a-death fixture', (office) => {
  const { compiled } = load(office.mapping);
  const results = new Map<string, MapResult>(submissions.map((s) => [s.submission_reference, compiled.map(s)]));

  it('takes and rejects exactly the expected submissions, each for its one reason', () => {
    expect(submissions).toHaveLength(10);
    const ok = [...results].filter(([, r]) => r.ok).map(([ref]) => ref);
    expect(ok.sort()).toEqual([...office.ok].sort());
    const rejected = Object.fromEntries(
      [...results].filter(([, r]) => !r.ok).map(([ref, r]) => [ref, r.errors.map((e) => [e.field, e.rule])]),
    );
    expect(rejected).toEqual(Object.fromEntries(Object.entries(office.rejected).map(([ref, e]) => [ref, [e]])));
  });

  it('declares only the fields this office needs, and outputs no others', () => {
    expect(compiled.spec.fields.map((f) => f.name)).toEqual(office.fields);
    expect(compiled.spec.groups).toEqual([]);
    for (const [ref, r] of results) {
      const present = Object.entries(r.record).filter(([, v]) => v !== undefined).map(([k]) => k);
      for (const k of present) expect(office.fields, `${ref}: ${k}`).toContain(k);
      expect(r.children, ref).toEqual({});
    }
  });

  it("never outputs another office's or the informant's answers", () => {
    for (const s of submissions) {
      const forbidden = new Set(office.forbidden(s).map(squash));
      expect(forbidden.size, s.submission_reference).toBeGreaterThan(5);
      const r = results.get(s.submission_reference);
      for (const [k, v] of Object.entries(r?.record ?? {})) {
        if (v === undefined) continue;
        expect(forbidden.has(squash(String(v))), `${s.submission_reference}: ${k}`).toBe(false);
      }
    }
  });

  it('marks every personal field pii and shows no answer in an error', () => {
    const pii = compiled.spec.fields.filter((f) => f.pii).map((f) => f.name);
    const notPii = office.fields.filter((f) => !pii.includes(f));
    for (const f of notPii) expect(['FORM_REF', 'CASE_REF', 'NOTIFIED_ON', 'TITLE'], f).toContain(f);
    for (const s of submissions) {
      const values = forbiddenValues(s, Object.values(Q)).filter((v) => v.length >= 3);
      for (const e of results.get(s.submission_reference)?.errors ?? []) {
        for (const v of values) expect(e.message, `${s.submission_reference}: ${e.field}`).not.toContain(v);
      }
    }
  });
});

/**
 * The condition a route will use, as written in the mapping's header
 * comment (`#   when: {...}`), compiled as a field's `when` so that it runs
 * exactly as the mapping language runs it.
 */
function routeCondition(name: string): (s: Submission) => boolean {
  const { compiled, text } = load(name);
  const line = /^#\s+when: (.+)$/m.exec(text)?.[1];
  if (line === undefined) throw new Error(`${name}: no route condition in the header`);
  const questions = Object.entries(compiled.spec.questions).map(([id, texts]) => `  ${id}: ${JSON.stringify(texts)}`);
  const probe = ['mapping: route-probe', 'questions:', ...questions, 'fields:', `  APPLIES: { when: ${line}, const: Y, default: N }`, ''].join('\n');
  const loaded = loadMapping('route-probe.yaml', probe);
  if (!loaded.compiled) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const probeMapping = loaded.compiled;
  return (s) => probeMapping.map(s).record.APPLIES === 'Y';
}

describe('route conditions in the mappings\' headers', () => {
  it('apply the licence and passport offices exactly when their number was given', () => {
    const licence = routeCondition('report-a-death-driving-licence');
    const passport = routeCondition('report-a-death-passport');
    for (const s of submissions) {
      expect(licence(s), s.submission_reference).toBe(textOf(s, Q.licence).trim() !== '');
      expect(passport(s), s.submission_reference).toBe(textOf(s, Q.passport).trim() !== '');
    }
  });

  it('apply the council office exactly for the districts of report-a-death-councils.csv', () => {
    const council = routeCondition('report-a-death-council-tax');
    const rows = parseCsv(readFileSync(new URL('./report-a-death-councils.csv', HERE), 'utf8'), { columns: true }) as { district: string }[];
    const districts = rows.map((r) => r.district);
    expect(districts.length).toBeGreaterThan(5);
    const withPostcode = (postcode: string): Submission => ({
      submission_reference: 'PROBE',
      answers: [{ question_id: Q.address, answer_text: postcode, postcode }],
    });
    for (const d of districts) {
      expect(council(withPostcode(`${d} 4AB`)), d).toBe(true);
      expect(council(withPostcode(`${d.toLowerCase()}4ab`)), d).toBe(true);
    }
    for (const other of ['WX4 2JP', 'BC5 1AA', 'FP4 1AA', 'FP11 1AA', 'MM3 1AA', 'ABC1 1AA']) expect(council(withPostcode(other)), other).toBe(false);
    const { compiled } = load('report-a-death-council-tax');
    for (const s of submissions) {
      const lookupFailed = compiled.map(s).errors.some((e) => e.rule === 'lookup:COUNCILS');
      expect(council(s), s.submission_reference).toBe(!lookupFailed);
    }
  });

  it("apply the informant's email exactly when they asked for it, and say yes for exactly the offices whose routes apply", () => {
    const informant = routeCondition('report-a-death-notify');
    const { compiled } = load('report-a-death-notify');
    const offices = { TOLD_DVLA: 'report-a-death-driving-licence', TOLD_PASSPORT_OFFICE: 'report-a-death-passport', TOLD_COUNCIL: 'report-a-death-council-tax' };
    const conditions = Object.fromEntries(Object.entries(offices).map(([f, m]) => [f, routeCondition(m)]));
    const asked = submissions.filter((s) => informant(s)).map((s) => s.submission_reference);
    expect(asked.sort()).toEqual(submissions.filter((s) => ['Yes', 'Ydw'].includes(textOf(s, Q.consent))).map((s) => s.submission_reference).sort());
    expect(asked.length).toBeGreaterThan(5);
    expect(asked.length).toBeLessThan(submissions.length);
    for (const s of submissions) {
      const r = compiled.map(s);
      for (const [field, applies] of Object.entries(conditions)) expect(r.record[field], `${s.submission_reference}: ${field}`).toBe(applies(s) ? 'yes' : 'no');
    }
  });

  it('send every valid report to at least one office, and the WX report to licence and passport only', () => {
    const routes = OFFICES.map((o) => ({ name: o.mapping, applies: routeCondition(o.mapping), mapping: load(o.mapping).compiled }));
    const invalid = new Set(['HP8EX2LC', 'VN3GU5KS', 'BL9CR7MF', 'YA4FP8WG']);
    for (const s of submissions.filter((x) => !invalid.has(x.submission_reference))) {
      const applying = routes.filter((r) => r.applies(s));
      expect(applying.length, s.submission_reference).toBeGreaterThan(0);
      for (const r of applying) expect(r.mapping.map(s).ok, `${s.submission_reference} → ${r.name}`).toBe(true);
    }
    const wx = submissions.find((s) => s.submission_reference === 'KJ5AT6RV');
    expect(routes.filter((r) => wx && r.applies(wx)).map((r) => r.name)).toEqual(['report-a-death-driving-licence', 'report-a-death-passport']);
  });
});

/** The passport batch layout described in report-a-death-passport.yaml's header. */
const PASSPORT_LAYOUT: FixedWidthFormatConfig = {
  kind: 'fixed-width',
  encoding: 'latin1',
  lineEnding: 'crlf',
  timezone: 'Europe/London',
  header: {
    length: 120,
    fields: [
      { name: 'RECORD_TYPE', length: 1, value: 'H' },
      { name: 'FILE_ID', length: 8, value: 'HMPODTH' },
      { name: 'FILE_DATE', length: 8, date: 'yyyyMMdd' },
      { name: 'FILE_SEQ', length: 6, sequence: true },
    ],
  },
  detail: {
    length: 120,
    fields: [
      { name: 'RECORD_TYPE', length: 1, value: 'D' },
      { name: 'CASE_REF', length: 8 },
      { name: 'PASSPORT_NO', length: 9, type: 'numeric' },
      { name: 'SURNAME', length: 30 },
      { name: 'FORENAMES', length: 30 },
      { name: 'DATE_OF_BIRTH', length: 8, type: 'numeric' },
      { name: 'DATE_OF_DEATH', length: 8, type: 'numeric' },
      { name: 'NOTIFIED_ON', length: 8, type: 'numeric' },
    ],
  },
  trailer: {
    length: 120,
    fields: [
      { name: 'RECORD_TYPE', length: 1, value: 'T' },
      { name: 'RECORD_COUNT', length: 7, count: 'records' },
    ],
  },
};

describe('the passport batch file', () => {
  it('holds every record the passport mapping takes, byte for byte as the mainframe layout says', () => {
    const golden = new URL('./report-a-death-passport.golden.dat', HERE);
    const { compiled } = load('report-a-death-passport');
    const format = fixedWidthFormat(PASSPORT_LAYOUT);
    const facts = { name: 'HMPODTH_20250402_000007.dat', sequence: 7, createdAt: new Date('2025-04-02T01:00:00Z'), pipeline: 'report-a-death' };
    const lines: string[] = [];
    for (const s of submissions) {
      const r = compiled.map(s);
      if (!r.ok) continue;
      const out = format.format({ record: r.record, children: {} });
      if (!out.ok) throw new Error(`${s.submission_reference}: ${out.error.message}`);
      lines.push(out.text);
    }
    expect(lines).toHaveLength(4);
    const end = format.end(facts, { records: lines.length, lines: lines.length + 2, sums: {} });
    const file = Buffer.from((end.head ?? format.begin(facts)) + lines.join('') + end.tail, 'latin1');
    if (process.env.REKEY_UPDATE_GOLDEN === '1') writeFileSync(golden, file);
    expect(existsSync(golden), 'golden file missing (REKEY_UPDATE_GOLDEN=1 writes it)').toBe(true);
    expect(file.toString('latin1')).toBe(readFileSync(golden).toString('latin1'));
    for (const line of file.toString('latin1').split('\r\n').slice(0, -1)) expect(line).toHaveLength(120);
  });
});
