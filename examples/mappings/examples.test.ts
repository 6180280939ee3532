/**
 * Keeps the example mappings, their golden cases and the fixtures consistent
 * without compiling anything: question texts match the fixtures, cases name
 * real files and real fields, and every expected record lists every field.
 * The cases themselves are run by `rekey test`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { provisionalLicence } from '../../fixtures/submissions/generator/provisional-licence.data.js';
import { TransformFailure } from '../../mappings/transforms/transform.types.js';
import { registrationMark } from './vehicle-keeper-change.functions.js';

const HERE = new URL('./', import.meta.url);
const MAPPINGS = ['change-of-address', 'vehicle-keeper-change', 'provisional-licence'] as const;
const MODELINE = '# yaml-language-server: $schema=../../mappings/mapping.schema.json';

type Obj = Record<string, unknown>;
interface Mapping {
  mapping: string;
  questions: Record<string, string[]>;
  fields: Record<string, Obj>;
  groups?: Record<string, { each: string | { answer: string }; fields: Record<string, Obj> }>;
  rules?: { rule: string; when?: Obj; assert: Obj; fields?: string[] }[];
  lookups?: Record<string, Obj>;
}
interface Case {
  name: string;
  input?: string;
  submission?: unknown;
  expect: { record?: Obj; children?: Record<string, Obj[]>; errors?: { field: string; rule: string }[] };
}
interface FixtureAnswer {
  question_id: string;
  question_text: string;
}

const readText = (url: URL): string => readFileSync(url, 'utf8');
const ctx = { note: () => undefined };

/** Every `answer:` question id a condition tree refers to. */
function conditionAnswers(c: unknown, out: Set<string>): void {
  if (c === null || typeof c !== 'object') return;
  for (const [k, v] of Object.entries(c as Obj)) {
    if (k === 'answer' && typeof v === 'string') out.add(v.split('.')[0] ?? v);
    else conditionAnswers(v, out);
  }
}

/** question_id -> the texts it has in the fixtures of `form`. */
function fixtureTexts(form: string): Map<string, Set<string>> {
  const texts = new Map<string, Set<string>>();
  const dir = new URL(`../../fixtures/submissions/govuk-forms/json/${form}/`, import.meta.url);
  for (const f of readdirSync(dir)) {
    const s = JSON.parse(readText(new URL(f, dir))) as { answers: FixtureAnswer[] };
    for (const a of s.answers) texts.set(a.question_id, (texts.get(a.question_id) ?? new Set()).add(a.question_text));
  }
  return texts;
}

describe.each(MAPPINGS)('example mapping %s', (name) => {
  const url = new URL(`./${name}.yaml`, HERE);
  const text = readText(url);
  const m = parseYaml(text) as Mapping;
  const cases = (parseYaml(readText(new URL(`./${name}.cases.yaml`, HERE))) as { cases: Case[] }).cases;
  const fields = Object.keys(m.fields);
  const groups = m.groups ?? {};

  it('starts with the editor modeline and is named after its file', () => {
    expect(text.split('\n')[0]).toBe(MODELINE);
    expect(m.mapping).toBe(name);
  });

  it('lists, for each question id, exactly the English and Welsh texts of the fixtures', () => {
    const texts = fixtureTexts(name);
    expect(Object.keys(m.questions).sort()).toEqual([...texts.keys()].sort());
    for (const [id, list] of Object.entries(m.questions)) expect([...list].sort(), id).toEqual([...(texts.get(id) ?? [])].sort());
  });

  it('refers only to question ids it lists', () => {
    const used = new Set<string>();
    const all = [...Object.values(m.fields), ...Object.values(groups).flatMap((g) => Object.values(g.fields))];
    for (const f of all) {
      if (typeof f.answer === 'string') used.add(f.answer.split('.')[0] ?? f.answer);
      for (const hit of String(f.template ?? '').matchAll(/question_id=([A-Za-z0-9]+)/g)) used.add(hit[1] ?? '');
      conditionAnswers(f.when, used);
    }
    for (const g of Object.values(groups)) if (typeof g.each === 'object') used.add(g.each.answer);
    for (const r of m.rules ?? []) conditionAnswers([r.when, r.assert], used);
    for (const id of used) expect(Object.keys(m.questions), id).toContain(id);
  });

  it('has at least 4 golden cases, among them a Welsh one and some rejections', () => {
    expect(cases.length).toBeGreaterThanOrEqual(4);
    expect(cases.some((c) => c.expect.record?.WELSH_FLAG === 'Y')).toBe(true);
    expect(cases.filter((c) => (c.expect.errors ?? []).length > 0).length).toBeGreaterThanOrEqual(3);
  });

  it('names existing inputs, every field in each expected record, and known error fields', () => {
    const ruleFields = (m.rules ?? []).map((r) => (r.fields?.length ? r.fields.join(', ') : r.rule));
    for (const c of cases) {
      expect(c.input === undefined, c.name).not.toBe(c.submission === undefined);
      if (c.input !== undefined) expect(existsSync(new URL(c.input, HERE)), `${c.name}: ${c.input}`).toBe(true);
      if (c.expect.record) expect(Object.keys(c.expect.record).sort(), c.name).toEqual([...fields].sort());
      for (const [g, rows] of Object.entries(c.expect.children ?? {})) {
        const names = Object.keys(groups[g]?.fields ?? {});
        expect(names.length, `${c.name}: group ${g}`).toBeGreaterThan(0);
        for (const row of rows) for (const k of Object.keys(row)) expect(names, `${c.name}: ${g}.${k}`).toContain(k);
      }
      for (const e of c.expect.errors ?? []) {
        const inGroup = /^([A-Za-z_]\w*)\[\d+\]\.([A-Za-z_]\w*)$/.exec(e.field);
        const known = fields.includes(e.field) || e.field in groups || ruleFields.includes(e.field) || (inGroup !== null && inGroup[2]! in (groups[inGroup[1]!]?.fields ?? {}));
        expect(known, `${c.name}: error field ${e.field}`).toBe(true);
      }
    }
  });
});

describe('nationality-codes.csv', () => {
  it('codes every nationality the provisional-licence form offers except stateless', () => {
    const rows = parseCsv(readText(new URL('./nationality-codes.csv', HERE)), { columns: true }) as { name: string; code: string }[];
    const names = new Set(rows.map((r) => r.name));
    expect(rows.every((r) => /^[A-Z]{3}$/.test(r.code))).toBe(true);
    expect(names.size).toBe(rows.length);
    const question = provisionalLicence.questions.find((q) => q.id === 'Kt4nY9bE');
    const offered = [...(question?.options?.en ?? []), ...(question?.options?.cy ?? [])];
    expect(offered.length).toBeGreaterThan(20);
    for (const o of offered) if (o !== 'Stateless' && o !== 'Di-wladwriaeth') expect(names, o).toContain(o);
  });
});

describe('registrationMark', () => {
  it.each([
    ['LD68 XKP', 'LD68XKP'],
    ['p492hlm', 'P492HLM'],
    ['HNT 547D', 'HNT547D'],
    ['1 ABC', '1ABC'],
    ['ABC 1234', 'ABC1234'],
    [' wx21  abc ', 'WX21ABC'],
    ['K1 ABC', 'K1ABC'],
  ])('normalises %j to %j', (input, want) => {
    expect(registrationMark(input, ctx)).toBe(want);
  });

  it.each(['AB123 CDE', 'AB12 CDEF', 'Q12 ABC4', 'I012 ABC', '', '12345 A', 'AB-12-CDE'])('refuses %j with rule registration-mark', (input) => {
    let caught: unknown;
    try {
      registrationMark(input, ctx);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TransformFailure);
    expect((caught as TransformFailure).rule).toBe('registration-mark');
    if (input !== '') expect((caught as TransformFailure).message).not.toContain(input);
  });

  it('refuses a value that is not text', () => {
    expect(() => registrationMark(12, ctx)).toThrow(TransformFailure);
  });
});
