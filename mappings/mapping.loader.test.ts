import { describe, expect, it } from 'vitest';
import { formatProblem, loadMapping } from './index.js';

function problemsOf(text: string): string[] {
  return loadMapping('m.yaml', text).problems.map(formatProblem);
}

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('mapping loader: every problem, located', () => {
  it('suggests the key a misspelt key was meant to be, at the key', () => {
    const text = lines('mapping: t', 'fields:', '  SURNAME:', '    answer: name.last_name', '    transfrom: [upper]');
    expect(problemsOf(text)).toEqual([
      'm.yaml:5:5 unknown key "transfrom" under fields.SURNAME, did you mean "transform"? (at fields.SURNAME.transfrom)',
    ]);
  });

  it('suggests a transform name, at the step', () => {
    const text = lines('mapping: t', 'fields:', '  SURNAME:', '    answer: name.last_name', '    transform: [trim, uper]');
    expect(problemsOf(text)).toEqual(['m.yaml:5:23 unknown transform "uper", did you mean "upper"? (at fields.SURNAME.transform[1])']);
  });

  it('suggests a transform by its synonyms too (uppercase is upper)', () => {
    const text = lines('mapping: t', 'fields:', '  A:', '    from: a', '    transform: [strip, uppercase, { toUpper: 1 }, downcase, capitalize, frobnicate]');
    expect(problemsOf(text)).toEqual([
      'm.yaml:5:17 unknown transform "strip", did you mean "trim"? (at fields.A.transform[0])',
      'm.yaml:5:24 unknown transform "uppercase", did you mean "upper"? (at fields.A.transform[1])',
      'm.yaml:5:37 unknown transform "toUpper", did you mean "upper"? (at fields.A.transform[2].toUpper)',
      'm.yaml:5:51 unknown transform "downcase", did you mean "lower"? (at fields.A.transform[3])',
      'm.yaml:5:61 unknown transform "capitalize", did you mean "title"? (at fields.A.transform[4])',
      'm.yaml:5:73 unknown transform "frobnicate" (at fields.A.transform[5])',
    ]);
  });

  it("reports a transform's invalid regular expression alongside the schema's problems", () => {
    const text = lines(
      'mapping: t',
      'fields:',
      '  A: { from: a, transform: [{ replace: { pattern: "(", with: "" } }] }',
      '  B: { from: b, transform: [{ extract: "[" }, { split: { pattern: "\\\\-", flags: u } }] }',
      '  C: { form: c }',
    );
    expect(problemsOf(text)).toEqual([
      'm.yaml:3:29 replace: argument "pattern" is not a valid regular expression: Invalid regular expression: /(/g: Unterminated group (at fields.A.transform[0])',
      'm.yaml:4:29 extract: argument "pattern" is not a valid regular expression: Invalid regular expression: /[/: Unterminated character class (at fields.B.transform[0])',
      'm.yaml:4:47 split: argument "pattern" is not a valid regular expression: Invalid regular expression: /\\-/gu: Invalid escape (at fields.B.transform[1])',
      'm.yaml:5:3 field C needs one of from, answer, const, template, function (or a default) (at fields.C)',
      'm.yaml:5:8 unknown key "form" under fields.C, did you mean "from"? (at fields.C.form)',
    ]);
  });

  it('reports wrong types with what was expected and what was found', () => {
    const text = lines('mapping: t', 'fields:', '  A:', '    const: x', '    required: yes', '    pii: 1');
    expect(problemsOf(text)).toEqual([
      'm.yaml:5:15 "required" must be boolean, got string "yes" (at fields.A.required)',
      'm.yaml:6:10 "pii" must be boolean, got number 1 (at fields.A.pii)',
    ]);
  });

  it('collects every problem of the file in one pass', () => {
    const text = lines(
      'mapping: t',
      'fields:',
      '  A:',
      '    colums: x',
      '  B:',
      '    from: a..b',
      '  C:',
      '    from: x',
      '    const: 1',
      '  D:',
      '    from: y',
      '    validate: { pattern: "[" }',
      '  E:',
      '    when: { field: Z, equals: 1 }',
      '    const: 2',
    );
    const problems = problemsOf(text);
    expect(problems).toEqual([
      'm.yaml:3:3 field A needs one of from, answer, const, template, function (or a default) (at fields.A)',
      'm.yaml:4:5 unknown key "colums" under fields.A (at fields.A.colums)',
      'm.yaml:6:13 bad path: unexpected "." at character 3 (at fields.B.from)',
      'm.yaml:7:3 field C has from and const; give exactly one of from, answer, const, template, function (at fields.C)',
      'm.yaml:12:26 invalid regular expression: /[/u: Unterminated character class (at fields.D.validate.pattern)',
      'm.yaml:14:20 field "Z" is not defined before this point (conditions see fields mapped above them) (at fields.E.when.field)',
    ]);
  });

  it('points inside a quoted path at the bad character', () => {
    const text = lines('mapping: t', 'fields:', '  A:', '    from: "answers[question_id=x]..last"');
    expect(problemsOf(text)).toEqual(['m.yaml:4:35 bad path: unexpected "." at character 24 (at fields.A.from)']);
  });

  it('reports YAML syntax errors with their position', () => {
    const text = lines('mapping: t', 'fields:', '  A:', '    const: [1, 2', '  B: x');
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^m\.yaml:\d+:\d+ /);
  });

  it('reports duplicate keys', () => {
    const problems = problemsOf(lines('mapping: t', 'fields:', '  A: { const: 1 }', '  A: { const: 2 }'));
    expect(problems).toEqual([expect.stringMatching(/^m\.yaml:4:3 Map keys must be unique/)]);
  });

  it('refuses prototype names for fields, groups and lookups', () => {
    const text = lines('mapping: t', 'fields:', '  __proto__: { const: 1 }', '  constructor: { const: 2 }');
    expect(problemsOf(text)).toEqual([
      'm.yaml:3:3 "__proto__" may not be used as a name (at fields.__proto__)',
      'm.yaml:4:3 "constructor" may not be used as a name (at fields.constructor)',
    ]);
  });

  it('refuses paths through the prototype', () => {
    const text = lines('mapping: t', 'fields:', '  A: { from: "a.__proto__.b" }', '  B: { answer: "x.constructor" }');
    expect(problemsOf(text)).toEqual([
      'm.yaml:3:17 bad path: "__proto__" may not appear in a path (at fields.A.from)',
      'm.yaml:4:19 bad answer reference: "constructor" may not appear in a path (at fields.B.answer)',
    ]);
  });

  it('checks transform arguments and names unknown lookups with a suggestion', () => {
    const text = lines(
      'mapping: t',
      'lookups:',
      '  TITLES: { values: { Mr: MR } }',
      'fields:',
      '  A:',
      '    from: a',
      '    transform: [{ lookup: TITELS }, { truncate: { lenght: 3 } }, upper: 1]',
    );
    expect(problemsOf(text)).toEqual([
      'm.yaml:7:27 unknown lookup "TITELS", did you mean "TITLES"? (at fields.A.transform[0].lookup)',
      'm.yaml:7:49 missing key "length" under fields.A.transform[1].truncate (at fields.A.transform[1].truncate)',
      'm.yaml:7:51 unknown key "lenght" under fields.A.transform[1].truncate, did you mean "length"? (at fields.A.transform[1].truncate.lenght)',
      'm.yaml:7:66 transform "upper" takes no arguments; write it as a bare name: upper (at fields.A.transform[2])',
    ]);
  });

  it('needs arguments where a transform takes them', () => {
    expect(problemsOf(lines('mapping: t', 'fields:', '  A: { from: a, transform: [truncate] }'))).toEqual([
      expect.stringMatching(/^m\.yaml:3:29 transform "truncate" needs arguments, e\.g\. \{"truncate":35\}/),
    ]);
  });

  it('accepts a bare name for a transform whose arguments are optional', () => {
    expect(problemsOf(lines('mapping: t', 'fields:', '  A: { from: a, transform: [postcode, nino, { date: { to: yyyyMMdd } }, date] }'))).toEqual([]);
  });

  it('checks lookups and group variables', () => {
    const text = lines(
      'mapping: t',
      'lookups:',
      '  L: { missing: default }',
      'fields:',
      '  A: { from: $item.x }',
    );
    expect(problemsOf(text)).toEqual([
      'm.yaml:3:3 lookup L needs exactly one of values or file (at lookups.L)',
      'm.yaml:3:17 missing: default needs a default value (at lookups.L.missing)',
      "m.yaml:5:14 $item can only be used inside a group's fields (at fields.A.from)",
    ]);
  });

  it('needs mapping and fields', () => {
    expect(problemsOf('description: x\n')).toEqual([
      'm.yaml:1:1 missing key "mapping" under the top level',
      'm.yaml:1:1 missing key "fields" under the top level',
    ]);
    expect(problemsOf('- a\n')).toEqual(['m.yaml:1:1 a mapping must be a YAML mapping with "mapping" and "fields" keys']);
  });
});
