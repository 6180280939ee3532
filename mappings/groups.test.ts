import { describe, expect, it } from 'vitest';
import { formatProblem, loadMapping } from './index.js';

const compile = (...lines: string[]) => {
  const m = loadMapping('m.yaml', ['mapping: m', 'fields:', '  REF: { from: ref, required: true }', 'groups:', ...lines, ''].join('\n'));
  if (!m.compiled) throw new Error(m.problems.map(formatProblem).join('\n'));
  return m.compiled;
};
const problemsOf = (...lines: string[]) => loadMapping('m.yaml', ['mapping: m', 'fields:', '  REF: { from: ref }', 'groups:', ...lines, ''].join('\n')).problems.map(formatProblem);

/** A webhook that sends every question as one item of one list: applicants mixed with other blocks. */
const webhook = {
  ref: 'R1',
  questions: [
    { type: 'applicant', name: 'Ann', addresses: [{ line: '1 High St' }, { line: '2 Low Rd' }] },
    { type: 'address', line: 'elsewhere' },
    { type: 'applicant', name: 'Bob', addresses: [{ line: '3 Mill Ln' }] },
    { type: 'dob', value: '2000-01-01' },
  ],
  byId: { a7: { name: 'Cy' }, b9: { name: 'Di' } },
};

describe('groups over filtered, object and nested lists', () => {
  it('keeps only the items a where condition holds for', () => {
    const m = compile('  APPLICANTS:', '    each: { path: questions, where: { path: $item.type, equals: applicant } }', '    fields:', '      SEQ: { from: $position }', '      NAME: { from: $item.name }');
    const r = m.map(webhook);
    expect(r.errors).toEqual([]);
    expect(r.children.APPLICANTS).toEqual([
      { SEQ: 1, NAME: 'Ann' },
      { SEQ: 2, NAME: 'Bob' },
    ]);
  });

  it("takes an object's values in key order", () => {
    const m = compile('  PEOPLE:', '    each: { path: byId, values: true }', '    fields:', '      NAME: { from: $item.name }');
    expect(m.map(webhook).children.PEOPLE).toEqual([{ NAME: 'Cy' }, { NAME: 'Di' }]);
  });

  it("flattens each item's own list, $outer reading the item it came from, filtered first", () => {
    const m = compile(
      '  ADDRESSES:',
      '    each: { path: questions, where: { path: $outer.type, equals: applicant }, then: addresses }',
      '    fields:',
      '      SEQ: { from: $position }',
      '      WHO: { from: $outer.name }',
      '      LINE: { from: $item.line }',
    );
    const r = m.map(webhook);
    expect(r.errors).toEqual([]);
    expect(r.children.ADDRESSES).toEqual([
      { SEQ: 1, WHO: 'Ann', LINE: '1 High St' },
      { SEQ: 2, WHO: 'Ann', LINE: '2 Low Rd' },
      { SEQ: 3, WHO: 'Bob', LINE: '3 Mill Ln' },
    ]);
  });

  it('makes a list that is not a list an error of the record, naming the group and the path, never the value', () => {
    const m = compile('  PEOPLE:', '    each: byId', '    fields:', '      NAME: { from: $item.name }', '  ALL:', '    each: { path: ref, values: true }', '    fields:', '      X: { from: $item }');
    const r = m.map(webhook);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      { field: 'PEOPLE', source: 'byId', rule: 'group-each', message: 'byId is not a list (for the values of an object, write each: { path, values: true })' },
      { field: 'ALL', source: 'ref', rule: 'group-each', message: "ref is not an object: each: { values: true } takes an object's values" },
    ]);
    expect(r.record).toEqual({ REF: 'R1' });
    expect(JSON.stringify(r.errors)).not.toContain('Cy');
  });

  it('reports an item whose own list is not a list', () => {
    const m = compile('  ADDRESSES:', '    each: { path: questions, then: addresses }', '    fields:', '      LINE: { from: $item.line }');
    const r = m.map({ ref: 'R2', questions: [{ addresses: [{ line: 'a' }] }, { addresses: { line: 'b' } }] });
    expect(r.errors).toEqual([{ field: 'ADDRESSES', source: 'questions then addresses', rule: 'group-each', message: 'addresses of an item is not a list' }]);
    expect(r.children.ADDRESSES).toEqual([{ LINE: 'a' }]);
  });

  it('still reads an absent list as no items, and a list as it is', () => {
    const m = compile('  APPLICANTS:', '    each: { path: nowhere, where: { path: $item.type, equals: applicant } }', '    fields:', '      NAME: { from: $item.name }');
    expect(m.map(webhook)).toMatchObject({ ok: true, children: { APPLICANTS: [] } });
  });

  it('checks the each forms when loading', () => {
    expect(problemsOf('  A:', '    each: { where: { path: $item.t, equals: x } }', '    fields:', '      X: { from: $item }')).toEqual([
      'm.yaml:6:11 each needs exactly one of path (a list in the submission) or answer (a repeating question) (at groups.A.each)',
    ]);
    expect(problemsOf('  A:', '    each: { path: q, where: { path: $item.t, matches: "(" } }', '    fields:', '      X: { from: $item }')[0]).toMatch(/^m\.yaml:6:\d+ invalid regular expression: .* \(at groups\.A\.each\.where\.matches\)$/);
    expect(problemsOf('  A:', '    each: { path: q, then: "a..b" }', '    fields:', '      X: { from: $item }')[0]).toMatch(/bad path: unexpected "\." at character 3 \(at groups\.A\.each\.then\)/);
  });
});
