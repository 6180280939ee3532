import { readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../lib/canonical-json.js';
import { formatProblem, loadMapping, parseMapping, type CompiledMapping, type MappingSpec } from './index.js';
import { fieldLineage, flow, formatLineage, lineageFromCanonical, type FieldLineage } from './lineage.js';
import { TRANSFORMS } from './transforms/index.js';

const lines = (...l: string[]) => l.join('\n') + '\n';
const QUICK_START = new URL('../examples/mappings/change-of-address.yaml', import.meta.url);
const GOLDEN = new URL('../fixtures/lineage/change-of-address.lineage.txt', import.meta.url);
const WEBHOOK = new URL('../examples/mappings/webhook-applicants.yaml', import.meta.url);
const WEBHOOK_GOLDEN = new URL('../fixtures/lineage/webhook-applicants.lineage.txt', import.meta.url);

function spec(text: string): MappingSpec {
  const p = parseMapping('m.yaml', text);
  if (!p.spec) throw new Error(p.problems.map(formatProblem).join('\n'));
  return p.spec;
}

function compile(text: string, extra: Parameters<typeof loadMapping>[2] = {}): CompiledMapping {
  const loaded = loadMapping('m.yaml', text, extra);
  if (!loaded.compiled) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  return loaded.compiled;
}

const byField = (l: FieldLineage[]) => Object.fromEntries(l.map((f) => [f.field, f]));

describe('fieldLineage', () => {
  it('prints the quick-start mapping as the golden file says', () => {
    const text = readFileSync(QUICK_START, 'utf8');
    expect(formatLineage(fieldLineage(spec(text)))).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('prints the webhook example (groups filtered by where, flattened by then, reading $outer) as the golden file says', () => {
    expect(formatLineage(fieldLineage(spec(readFileSync(WEBHOOK, 'utf8'))))).toBe(readFileSync(WEBHOOK_GOLDEN, 'utf8'));
  });

  it('names answers by question id and part, with the question text', () => {
    const l = byField(
      fieldLineage(
        spec(
          lines(
            'mapping: t',
            'questions: { nm: ["What is your name?"] }',
            'fields:',
            '  LAST: { answer: nm.last_name }',
            '  WHOLE: { answer: dob }',
            '  BY_PATH: { from: "answers[question_id=nm].first_name" }',
            '  BY_TEXT: { from: "answers[question_id=dob].answer_text" }',
            '  DEEP: { from: "answers[question_id=nm].parts[0]" }',
          ),
        ),
      ),
    );
    expect(l.LAST!.sources).toEqual([{ kind: 'answer', question: 'nm', part: 'last_name', text: 'What is your name?' }]);
    expect(l.LAST!.reads).toBe('answer');
    expect(l.WHOLE!.sources).toEqual([{ kind: 'answer', question: 'dob' }]);
    expect(l.BY_PATH!.sources).toEqual([{ kind: 'answer', question: 'nm', part: 'first_name', text: 'What is your name?' }]);
    expect(l.BY_PATH!.reads).toBe('from');
    expect(l.BY_TEXT!.sources).toEqual([{ kind: 'answer', question: 'dob' }]);
    expect(l.DEEP!.sources).toEqual([{ kind: 'path', path: 'answers[question_id=nm].parts[0]' }]);
  });

  it('names submission metadata, constants, templates, functions and default-only fields', () => {
    const m = compile(
      lines(
        'mapping: t',
        'functions: ./t.functions.ts',
        'fields:',
        '  RECEIVED: { from: submitted_at }',
        '  SOURCE: { const: WEB }',
        '  REF: { template: "{{form_name}}-{{answer:nm.last_name}}" }',
        '  FULL: { function: fullName }',
        '  EMPTY: { default: "" }',
      ),
      { functions: { fullName: () => 'x' } },
    );
    const l = byField(fieldLineage(m));
    expect(l.RECEIVED!.sources).toEqual([{ kind: 'path', path: 'submitted_at' }]);
    expect(l.SOURCE!.sources).toEqual([{ kind: 'constant', value: 'WEB' }]);
    expect(l.REF!).toMatchObject({ reads: 'template', template: '{{form_name}}-{{answer:nm.last_name}}' });
    expect(l.REF!.sources).toEqual([
      { kind: 'path', path: 'form_name' },
      { kind: 'answer', question: 'nm', part: 'last_name' },
    ]);
    expect(l.FULL!.sources).toEqual([{ kind: 'function', name: 'fullName', module: './t.functions.ts' }]);
    expect(l.EMPTY!).toMatchObject({ reads: 'default', sources: [], default: '' });
    expect(formatLineage([l.REF!, l.FULL!, l.EMPTY!])).toBe(
      lines(
        'REF',
        '  template   "{{form_name}}-{{answer:nm.last_name}}"',
        '  reads      submission form_name',
        '  reads      answer nm.last_name',
        'FULL',
        '  reads      function fullName (./t.functions.ts)',
        'EMPTY',
        '  default    ""',
      ),
    );
  });

  it('lists transforms in order with their arguments, lookups and user functions', () => {
    const m = compile(
      lines(
        'mapping: t',
        'functions: ./t.functions.ts',
        'lookups:',
        '  TITLES: { values: { Mr: MR, Dr: DR }, missing: default, default: OTH, caseInsensitive: true }',
        '  NATIONS: { file: ./nations.csv, keyColumn: name, valueColumn: code, missing: error }',
        'fields:',
        '  TITLE: { answer: nm.title, transform: [trim, { lookup: TITLES }] }',
        '  NATION: { answer: nat, transform: [{ lookup: NATIONS }, { function: districtCode }, { pad: { length: 6, char: "0", side: left } }] }',
        '  REF: { from: ref, transform: [{ replace: { pattern: "[^A-Z ]", with: "" } }, { split: { separator: ",", index: 0 } }] }',
      ),
      { readRelated: () => 'name,code\nWales,W\n', functions: { districtCode: (v: unknown) => v } },
    );
    const l = byField(fieldLineage(m));
    expect(l.TITLE!.transforms).toEqual([
      { name: 'trim', text: 'trim' },
      { name: 'lookup', args: 'TITLES', text: 'lookup TITLES (2 values, any case; not listed: default OTH)' },
    ]);
    expect(l.TITLE!.sources.at(-1)).toEqual({ kind: 'lookup', name: 'TITLES', values: 2 });
    expect(l.NATION!.sources).toEqual([
      { kind: 'answer', question: 'nat' },
      { kind: 'lookup', name: 'NATIONS', file: './nations.csv' },
    ]);
    expect(l.NATION!.transforms.map((t) => t.text)).toEqual([
      'lookup NATIONS (file ./nations.csv, name to code; not listed: error)',
      'function districtCode (./t.functions.ts)',
      'pad {char: "0", length: 6, side: left}',
    ]);
    expect(l.REF!.transforms.map((t) => t.text)).toEqual(['replace {pattern: "[^A-Z ]", with: ""}', 'split {index: 0, separator: ","}']);
  });

  it('writes every built-in transform as its name and its arguments as written', () => {
    const defs = [...TRANSFORMS.values()].filter((d) => d.name !== 'lookup' && d.name !== 'function');
    const fields = Object.fromEntries(defs.map((d) => [`F_${d.name}`, { from: 'x', transform: [d.example === undefined ? d.name : { [d.name]: d.example }] }]));
    const l = byField(fieldLineage(spec(stringify({ mapping: 't', fields }))));
    for (const d of defs) {
      const expected = d.example === undefined ? d.name : `${d.name} ${flow(d.example)}`;
      expect(l[`F_${d.name}`]!.transforms).toEqual([d.example === undefined ? { name: d.name, text: expected } : { name: d.name, args: d.example, text: expected }]);
    }
    expect(l.F_date!.transforms[0]!.text).toBe('date {from: dd/MM/yyyy, to: dd.MM.yyyy}');
    expect(l.F_trim!.transforms[0]!.text).toBe('trim');
  });

  it('gives conditions, defaults, validation, rules and PII', () => {
    const l = byField(
      fieldLineage(
        spec(
          lines(
            'mapping: t',
            'fields:',
            '  ISSUE: { from: issued }',
            '  DOB:',
            '    from: dob',
            '    pii: true',
            '    required: true',
            '    validate: { pattern: "^[0-9]+$", length: { min: 8, max: 10 }, enum: ["19900101", "x y"], range: { min: 1 } }',
            '  WELSH:',
            '    when: { all: [{ path: language, equals: cy }, { not: { answer: opt, in: [No, Na] } }, { any: [{ field: ISSUE, exists: true }, { field: DOB, lt: { field: ISSUE } }] }] }',
            '    const: Y',
            '    default: N',
            'rules:',
            '  - rule: dob-before-issue',
            '    when: { field: ISSUE, exists: true }',
            '    assert: { field: DOB, lt: { field: ISSUE } }',
            '    message: date of birth must be before the issue date',
            '    fields: [DOB]',
          ),
        ),
      ),
    );
    expect(l.DOB!).toMatchObject({
      pii: true,
      required: true,
      validate: ['pattern ^[0-9]+$', 'length 8 to 10', 'enum ["19900101", "x y"]', 'range at least 1'],
      rules: ['dob-before-issue'],
    });
    expect(l.ISSUE!).toMatchObject({ pii: false, required: false, validate: [], rules: ['dob-before-issue'] });
    expect(l.WELSH!).toMatchObject({
      when: 'all of (path language equals cy; not (answer opt in [No, Na]); any of (field ISSUE exists true; field DOB lt field ISSUE))',
      default: 'N',
      rules: [],
    });
    expect(formatLineage([l.DOB!])).toBe(
      lines('DOB  [pii, required]', '  reads      submission dob', '  validate   pattern ^[0-9]+$; length 8 to 10; enum ["19900101", "x y"]; range at least 1', '  rules      dob-before-issue'),
    );
  });

  it('names group fields GROUP.FIELD with their item, position and parent sources', () => {
    const text = lines(
      'mapping: t',
      'fields:',
      '  REF: { from: submission_reference }',
      'groups:',
      '  PREV:',
      '    each: { answer: prev }',
      '    min: 1',
      '    max: 5',
      '    fields:',
      '      SEQ: { from: $position }',
      '      IDX: { from: $index }',
      '      LINE1: { from: $item.address1, transform: [trim, upper], pii: true }',
      '      PARENT_REF: { from: $parent.REF }',
      '  ITEMS:',
      '    each: items',
      '    fields:',
      '      NAME: { template: "{{$item.name}}/{{$parent.REF}}" }',
    );
    const l = fieldLineage(spec(text));
    expect(l.map((f) => f.field)).toEqual(['REF', 'PREV.SEQ', 'PREV.IDX', 'PREV.LINE1', 'PREV.PARENT_REF', 'ITEMS.NAME']);
    const f = byField(l);
    expect(f['PREV.SEQ']!.group).toEqual({ name: 'PREV', each: 'answer prev', min: 1, max: 5 });
    expect(f['PREV.SEQ']!.sources).toEqual([{ kind: 'item', path: '$position', each: 'answer prev' }]);
    expect(f['PREV.IDX']!.sources).toEqual([{ kind: 'item', path: '$index', each: 'answer prev' }]);
    expect(f['PREV.LINE1']!).toMatchObject({ pii: true, sources: [{ kind: 'item', path: '$item.address1', each: 'answer prev' }] });
    expect(f['PREV.PARENT_REF']!.sources).toEqual([{ kind: 'parent', field: 'REF' }]);
    expect(f['ITEMS.NAME']!.sources).toEqual([
      { kind: 'item', path: '$item.name', each: 'path items' },
      { kind: 'parent', field: 'REF' },
    ]);
    expect(formatLineage([f['PREV.LINE1']!])).toBe(
      lines('PREV.LINE1  [pii]', '  each       answer prev, min 1, max 5', '  reads      group item $item.address1', '  transform  trim -> upper'),
    );
  });

  it('shows the filtered, object and flattened group forms (each: { path, where, values, then }) and tells $outer from $item', () => {
    const text = lines(
      'mapping: t',
      'fields:',
      '  REF: { from: ref }',
      'groups:',
      '  APPLICANTS:',
      '    each: { path: questions, where: { path: $item.type, equals: applicant } }',
      '    fields:',
      '      NAME: { from: $item.name }',
      '  PEOPLE:',
      '    each: { path: byId, values: true }',
      '    fields:',
      '      NAME: { from: $item.name }',
      '  ADDRESSES:',
      '    each: { path: questions, then: addresses, where: { all: [{ path: $outer.type, equals: applicant }, { path: $item.line, exists: true }] } }',
      '    max: 9',
      '    fields:',
      '      WHO: { from: $outer.name, pii: true }',
      '      LINE: { template: "{{$item.line}} ({{$outer.name}})" }',
    );
    const f = byField(fieldLineage(spec(text)));
    expect(f['APPLICANTS.NAME']!.group).toEqual({ name: 'APPLICANTS', each: 'path questions, where path $item.type equals applicant', where: 'path $item.type equals applicant' });
    expect(f['PEOPLE.NAME']!.group).toEqual({ name: 'PEOPLE', each: 'the values of path byId', values: true });
    const where = 'all of (path $outer.type equals applicant; path $item.line exists true)';
    expect(f['ADDRESSES.WHO']!.group).toEqual({ name: 'ADDRESSES', each: `path questions, then each one's addresses, where ${where}`, then: 'addresses', where, max: 9 });
    expect(f['ADDRESSES.LINE']!.sources.map((x) => x.kind)).toEqual(['item', 'item']);
    expect(formatLineage([f['ADDRESSES.WHO']!, f['ADDRESSES.LINE']!])).toBe(
      lines(
        'ADDRESSES.WHO  [pii]',
        `  each       path questions, then each one's addresses, where ${where}, max 9`,
        '  reads      outer item $outer.name',
        'ADDRESSES.LINE',
        `  each       path questions, then each one's addresses, where ${where}, max 9`,
        '  template   "{{$item.line}} ({{$outer.name}})"',
        '  reads      group item $item.line',
        '  reads      outer item $outer.name',
      ),
    );
    const stored = canonicalJson({ document: parseYaml(text) as unknown, related: {}, functions: null });
    expect(byField(lineageFromCanonical(stored))).toEqual(f);
  });

  it('is the same from a compiled mapping as from its spec', () => {
    const text = readFileSync(QUICK_START, 'utf8');
    expect(fieldLineage(compile(text))).toEqual(fieldLineage(spec(text)));
  });
});

describe('lineageFromCanonical', () => {
  it('rebuilds the lineage of a stored version, fields in name order', () => {
    const text = readFileSync(QUICK_START, 'utf8');
    const stored = canonicalJson({ document: parseYaml(text) as unknown, related: {}, functions: null });
    const fromFile = fieldLineage(spec(text));
    const rebuilt = lineageFromCanonical(stored);
    expect(rebuilt.map((l) => l.field)).toEqual(fromFile.map((l) => l.field).sort());
    expect(byField(rebuilt)).toEqual(byField(fromFile));
  });

  it('refuses a text that is not a stored mapping, with a coded error', () => {
    expect(() => lineageFromCanonical('{"document"')).toThrow(expect.objectContaining({ code: 'MAPPING_TEXT_INVALID', message: 'stored mapping is not JSON' }));
    expect(() => lineageFromCanonical('{"related":{}}', 'mapping sha256:ab')).toThrow(
      expect.objectContaining({ code: 'MAPPING_TEXT_INVALID', message: 'mapping sha256:ab has no "document" object' }),
    );
    expect(() => lineageFromCanonical(canonicalJson({ document: { mapping: 't' }, related: {}, functions: null }))).toThrow(
      expect.objectContaining({ code: 'MAPPING_INVALID' }),
    );
  });
});
