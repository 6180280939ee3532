import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatProblem, loadMapping, TransformFailure, type CompiledMapping } from './index.js';

const lines = (...l: string[]) => l.join('\n') + '\n';

function compile(text: string, extra: Parameters<typeof loadMapping>[2] = {}): CompiledMapping {
  const loaded = loadMapping('m.yaml', text, extra);
  if (!loaded.compiled) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  return loaded.compiled;
}

const submission = {
  form_name: 'Change your address',
  submission_reference: 'AB2CD3EF',
  submitted_at: '2024-06-30T23:30:00.000Z',
  language: 'en',
  answers: [
    { question_id: 'nm', question_text: 'What is your name?', answer_text: 'Siân O’Connor', first_name: ' Siân ', last_name: "o'connor" },
    { question_id: 'dob', question_text: 'Date of birth', answer_text: '01/02/1990' },
    { question_id: 'phone', question_text: 'Phone', answer_text: '' },
    {
      question_id: 'prev',
      question_text: 'Previous addresses',
      can_have_multiple_answers: true,
      answer_text: ['1 High St, Leeds, LS1 1AA', '2 Low Rd, York, YO1 7HH'],
      address1: ['1 High St', '2 Low Rd'],
      postcode: ['LS1 1AA', 'YO1 7HH'],
    },
  ],
};

describe('compiled mapping', () => {
  it('reads paths, answers, constants, templates and defaults', () => {
    const m = compile(
      lines(
        'mapping: t',
        'fields:',
        '  FIRST: { answer: nm.first_name, transform: [trim, upper] }',
        '  LAST: { from: "answers[question_id=nm].last_name" }',
        '  DOB: { answer: dob }',
        '  SRC: { const: WEB }',
        '  REF: { template: "{{form_name}}#{{submission_reference}}" }',
        '  PHONE: { answer: phone, default: NONE }',
        '  MISSING: { from: nothing.here }',
        '  SECOND: { from: "answers[1].question_id" }',
        '  LASTQ: { from: "answers[-1].question_id" }',
      ),
    );
    const r = m.map(submission);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.record).toEqual({
      FIRST: 'SIÂN',
      LAST: "o'connor",
      DOB: '01/02/1990',
      SRC: 'WEB',
      REF: 'Change your address#AB2CD3EF',
      PHONE: 'NONE',
      MISSING: undefined,
      SECOND: 'dob',
      LASTQ: 'prev',
    });
    expect(m.keyOf(submission)).toBe('Change your address/AB2CD3EF');
    expect(m.version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('finds answers by question text when the export has no question ids', () => {
    const m = compile(lines('mapping: t', 'questions:', '  nm: [What is your name?, Beth yw eich enw?]', 'fields:', '  LAST: { answer: nm.last_name }'));
    const csvShaped = { answers: [{ question_text: 'Beth yw eich enw?', answer_text: 'x', last_name: 'Jones' }] };
    expect(m.map(csvShaped).record.LAST).toBe('Jones');
  });

  it('collects every error of a record with field, source and rule', () => {
    const m = compile(
      lines(
        'mapping: t',
        'fields:',
        '  PHONE: { answer: phone, required: true }',
        '  LAST: { answer: nm.last_name, validate: { pattern: "^[A-Z]+$", length: { max: 3 } } }',
        '  LANG: { from: language, validate: { enum: [cy] } }',
        '  N: { const: 150, validate: { range: { min: 0, max: 120 }, message: too old } }',
      ),
    );
    const r = m.map(submission);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      { field: 'PHONE', source: 'answer:phone', rule: 'required', message: 'is required but was not given' },
      { field: 'LAST', source: 'answer:nm.last_name', rule: 'pattern', message: 'must match ^[A-Z]+$' },
      { field: 'LAST', source: 'answer:nm.last_name', rule: 'length', message: 'must be at most 3 characters (got 8)' },
      { field: 'LANG', source: 'language', rule: 'enum', message: 'must be one of cy' },
      { field: 'N', rule: 'range', message: 'too old' },
    ]);
  });

  it('applies when conditions on paths, answers and earlier fields', () => {
    const m = compile(
      lines(
        'mapping: t',
        'fields:',
        '  WELSH: { when: { path: language, equals: cy }, const: Y, default: N }',
        '  HAS_PHONE: { when: { answer: phone, exists: true }, const: Y, default: N }',
        '  CHECK: { when: { all: [{ field: WELSH, equals: N }, { not: { field: HAS_PHONE, in: [Y] } }] }, const: ok }',
        '  LATE: { when: { from_: 1 }, const: 1 }',
      ).replace("  LATE: { when: { from_: 1 }, const: 1 }\n", ''),
    );
    expect(m.map(submission).record).toEqual({ WELSH: 'N', HAS_PHONE: 'N', CHECK: 'ok' });
    expect(m.map({ ...submission, language: 'cy' }).record).toEqual({ WELSH: 'Y', HAS_PHONE: 'N', CHECK: undefined });
  });

  it('negates a matches condition as a whole, in a rule assert and under not', () => {
    const m = compile(
      lines(
        'mapping: t',
        'fields:',
        '  PLAIN: { when: { not: { answer: dob, matches: "^99" } }, const: Y, default: N }',
        'rules:',
        '  - { rule: dob-shape, assert: { answer: dob, matches: "^\\\\d{2}/\\\\d{2}/\\\\d{4}$" }, message: bad date }',
      ),
    );
    expect(m.map(submission)).toMatchObject({ ok: true, record: { PLAIN: 'Y' }, errors: [] });
    const bad = { ...submission, answers: submission.answers.map((a) => (a.question_id === 'dob' ? { ...a, answer_text: '99/1/1990' } : a)) };
    expect(m.map(bad)).toMatchObject({ ok: false, record: { PLAIN: 'N' }, errors: [{ field: 'dob-shape', rule: 'dob-shape', message: 'bad date' }] });
  });

  it('makes child records from a repeating answer, linked to the parent', () => {
    const m = compile(
      lines(
        'mapping: t',
        'fields:',
        '  REF: { from: submission_reference }',
        'groups:',
        '  PREV:',
        '    each: { answer: prev }',
        '    max: 1',
        '    fields:',
        '      SEQ: { from: $position }',
        '      LINE1: { from: $item.address1, transform: [upper] }',
        '      PC: { from: $item.postcode, validate: { pattern: "^LS" } }',
        '      PARENT: { from: $parent.REF }',
      ),
    );
    const r = m.map(submission);
    expect(r.children.PREV).toEqual([
      { SEQ: 1, LINE1: '1 HIGH ST', PC: 'LS1 1AA', PARENT: 'AB2CD3EF' },
      { SEQ: 2, LINE1: '2 LOW RD', PC: 'YO1 7HH', PARENT: 'AB2CD3EF' },
    ]);
    expect(r.errors).toEqual([
      { field: 'PREV', rule: 'group-max', message: 'allows at most 1 item(s)' },
      { field: 'PREV[2].PC', source: '$item.postcode', rule: 'pattern', message: 'must match ^LS' },
    ]);
  });

  it('makes no child records from a repeating answer left blank', () => {
    const m = compile(lines('mapping: t', 'fields:', '  R: { const: 1 }', 'groups:', '  PREV:', '    each: { answer: prev }', '    fields:', '      L: { from: $item.address1 }'));
    const blank = { answers: [{ question_id: 'prev', question_text: 'Previous addresses', answer_text: '', address1: '' }] };
    expect(m.map(blank).children.PREV).toEqual([]);
    expect(m.map({ answers: [] }).children.PREV).toEqual([]);
    const single = { answers: [{ question_id: 'prev', question_text: 'P', answer_text: '1 High St', address1: '1 High St' }] };
    expect(m.map(single).children.PREV).toEqual([{ L: '1 High St' }]);
  });

    it('checks cross-field rules, once the fields they name are valid', () => {
    const text = lines(
      'mapping: t',
      'fields:',
      '  A: { from: a, validate: { range: { max: 100 } } }',
      '  B: { from: b }',
      'rules:',
      '  - rule: a-before-b',
      '    when: { field: B, exists: true }',
      '    assert: { field: A, lt: { field: B } }',
      '    message: A must be before B',
      '    fields: [A, B]',
    );
    const m = compile(text);
    expect(m.map({ a: 1, b: 2 }).errors).toEqual([]);
    expect(m.map({ a: 3 }).errors).toEqual([]);
    expect(m.map({ a: 3, b: 2 }).errors).toEqual([{ field: 'A, B', rule: 'a-before-b', message: 'A must be before B' }]);
    expect(m.map({ a: 300, b: 2 }).errors.map((e) => e.rule)).toEqual(['range']);
  });

  it('uses inline and CSV lookups with each missing behaviour', () => {
    const text = lines(
      'mapping: t',
      'lookups:',
      '  T: { values: { Mr: MR, Dr: DR }, missing: default, default: OTH, caseInsensitive: true }',
      '  N: { file: codes.csv, keyColumn: name, valueColumn: code }',
      '  K: { values: { a: A }, missing: keep }',
      '  Z: { values: { a: A }, missing: "null" }',
      'fields:',
      '  T1: { from: t, transform: [{ lookup: T }] }',
      '  N1: { from: n, transform: [{ lookup: N }] }',
      '  K1: { from: k, transform: [{ lookup: K }] }',
      '  Z1: { from: z, transform: [{ lookup: Z }], default: none }',
    );
    const csv = 'name,code\nBritish,GBR\nIrish,IRL\n';
    const m = compile(text, { readRelated: (p) => (p === 'codes.csv' ? csv : undefined) });
    expect(m.map({ t: 'dr', n: 'Irish', k: 'b', z: 'b' })).toMatchObject({ ok: true, record: { T1: 'DR', N1: 'IRL', K1: 'b', Z1: 'none' } });
    expect(m.map({ t: 'Lord', n: 'Martian' }).errors).toEqual([
      { field: 'N1', source: 'n', rule: 'lookup:N', message: '"Martian" is not in the N list' },
    ]);
    const changed = compile(text, { readRelated: () => csv + 'French,FRA\n' });
    expect(changed.version).not.toBe(m.version);
    const missing = loadMapping('m.yaml', text, { readRelated: () => undefined });
    expect(missing.problems.map(formatProblem)).toEqual(['m.yaml:4:3 cannot read lookup file "codes.csv" (at lookups.N.file)']);
  });

  it('calls user functions as transforms and as whole fields', () => {
    const functions = {
      shout: (v: unknown) => `${String(v)}!`,
      strict: (v: unknown) => {
        if (v !== 'ok') throw new TransformFailure('vrm', `"${String(v)}" is not a registration mark`);
        return v;
      },
      crash: () => {
        throw new Error('boom');
      },
      whole: (s: { submission_reference: string }, r: Record<string, unknown>) => `${s.submission_reference}/${String(r.A)}`,
    };
    const text = lines(
      'mapping: t',
      'functions: ./f.ts',
      'fields:',
      '  A: { from: a, transform: [{ function: shout }] }',
      '  B: { from: b, transform: [{ function: strict }], pii: true }',
      '  C: { from: c, transform: [{ function: crash }] }',
      '  D: { function: whole }',
    );
    const m = compile(text, { functions });
    const r = m.map({ a: 'x', b: 'AB12 CDE', c: 1, submission_reference: 'R' });
    expect(r.record).toEqual({ A: 'x!', B: undefined, C: undefined, D: 'R/x!' });
    expect(r.errors).toEqual([
      { field: 'B', source: 'b', rule: 'vrm', message: '"***" is not a registration mark' },
      { field: 'C', source: 'c', rule: 'function', message: 'boom' },
    ]);
    const problems = loadMapping('m.yaml', text, { functions: { shout: functions.shout } }).problems.map(formatProblem);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^m\.yaml:5:29 function: .*strict.* \(at fields\.B\.transform\[0\]\)$/);
    expect(problems[1]).toMatch(/^m\.yaml:6:29 function: .*crash.* \(at fields\.C\.transform\[0\]\)$/);
    expect(problems[2]).toBe('m.yaml:7:3 function "whole" is not a function exported by ./f.ts (at fields.D.function)');
  });

  it('gives the same version however the file is formatted, and a new one when a rule changes', () => {
    const a = compile(lines('mapping: t', 'fields:', '  A: { from: a, transform: [upper] }'));
    const b = compile(lines('# comment', 'mapping: t', 'fields:', '  A:', '    transform:', '      - upper', '    from: a'));
    const c = compile(lines('mapping: t', 'fields:', '  A: { from: a, transform: [lower] }'));
    expect(b.version).toBe(a.version);
    expect(c.version).not.toBe(a.version);
  });
});

describe('hostile mappings and submissions', () => {
  it('never splices user strings into generated code', () => {
    const evil = '"); globalThis.__pwned = true; ("';
    const weirdKey = "';globalThis.__pwned=2;//";
    const text = stringify({
      mapping: 't',
      fields: {
        A: { const: evil },
        B: { template: '`${globalThis.__pwned = 1}` {{a}} */ //' },
        C: { from: `[${JSON.stringify(weirdKey)}]`, validate: { pattern: '^/*x*/$' } },
        D: { from: 'a', when: { path: 'a', equals: evil } },
        E: { from: "a[k='\u2028x']", default: '\u2028' },
      },
    });
    const m = compile(text);
    const r = m.map({ a: evil, [weirdKey]: 'x' });
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
    expect(r.record.A).toBe(evil);
    expect(r.record.B).toBe(`\`\${globalThis.__pwned = 1}\` ${evil} */ //`);
    expect(r.record.C).toBe('x');
    expect(r.record.D).toBe(evil);
    expect(r.record.E).toBe('\u2028');
    expect(m.source).not.toContain('__pwned');
    expect(m.source).not.toContain(evil);
  });

  it('never reads through or writes to the prototype', () => {
    const m = compile(lines('mapping: t', 'fields:', '  A: { from: a.polluted }', '  B: { from: toString }', '  C: { from: "answers[question_id=x].answer_text" }'));
    const hostile = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {"__proto__": {"polluted": "yes"}}, "answers": [{"__proto__": {"question_id": "x", "answer_text": "leak"}}]}') as unknown;
    const r = m.map(hostile);
    expect(r.record).toEqual({ A: undefined, B: undefined, C: undefined });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(r.record)).toBe(Object.prototype);
    expect(Object.keys(r.record)).toEqual(['A', 'B', 'C']);
  });

  it('is not fooled by a submission that is not an object', () => {
    const m = compile(lines('mapping: t', 'fields:', '  A: { from: a.b, required: true }', '  K: { answer: x }'));
    for (const s of [null, 42, 'text', [], undefined]) {
      expect(m.map(s).errors).toEqual([{ field: 'A', source: 'a.b', rule: 'required', message: 'is required but was not given' }]);
    }
  });
});
