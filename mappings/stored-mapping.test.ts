import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../lib/canonical-json.js';
import { mappingVersion } from './version.js';
import { parseStoredMapping, storedMappingDiff, storedMappingYaml } from './stored-mapping.js';

const example = (name: string) => readFileSync(new URL(`../examples/mappings/${name}`, import.meta.url), 'utf8');
const stored = (document: unknown, related: Record<string, string> = {}, functions: string | null = null) => canonicalJson({ document, related, functions });

describe('storedMappingYaml', () => {
  it('renders the quick-start mapping in documented key order, and reads back to the same version', () => {
    const document = parseYaml(example('change-of-address.yaml')) as Record<string, unknown>;
    const text = stored(document);
    const yaml = storedMappingYaml(text, { version: mappingVersion(document, {}) });
    const lines = yaml.split('\n');
    expect(lines[0]).toBe(`# mapping change-of-address, version ${mappingVersion(document, {})}`);
    expect(lines.filter((l) => /^[a-z]/.test(l)).map((l) => l.split(':')[0])).toEqual(['mapping', 'description', 'key', 'tests', 'questions', 'lookups', 'fields', 'rules']);
    expect(yaml).toContain(
      [
        '  SURNAME:',
        '    answer: Fn3kQ8aZ.last_name',
        '    transform: [ trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 35 } ]',
        '    required: true',
        '    pii: true',
      ].join('\n'),
    );
    expect(yaml).toContain(['  WELSH_FLAG:', '    const: Y', '    when: { path: language, equals: cy }', '    default: N'].join('\n'));
    expect(mappingVersion(parseYaml(yaml), {})).toBe(mappingVersion(document, {}));
  });

  it('names each lookup file and the functions module, with their text', () => {
    const document = parseYaml(example('vehicle-keeper-change.yaml')) as Record<string, unknown>;
    const related = { './codes.csv': 'code,name\nA,Alpha\n' };
    const functions = 'export function registrationMark(v) {\n  return v;\n}\n';
    const docs = parseAllDocuments(storedMappingYaml(stored(document, related, functions)));
    expect(docs.map((d) => d.toJS() as unknown)).toEqual([document, { file: './codes.csv', text: related['./codes.csv'] }, { file: './vehicle-keeper-change.functions.ts', text: functions }]);
    const yaml = storedMappingYaml(stored(document, related, functions));
    expect(yaml).toContain('---\n# lookup file, as read for this version\n\nfile: ./codes.csv\ntext: |\n  code,name\n  A,Alpha\n');
    expect(yaml).toContain('---\n# functions module source, as read for this version\n\nfile: ./vehicle-keeper-change.functions.ts\ntext: |\n  export function registrationMark(v) {\n');
  });

  it('keeps group fields, group keys and rules in documented order', () => {
    const document = parseYaml(example('provisional-licence.yaml')) as Record<string, unknown>;
    const text = stored(JSON.parse(canonicalJson(document)));
    const back = parseYaml(storedMappingYaml(text)) as { groups: Record<string, Record<string, unknown>>; rules: Record<string, unknown>[] };
    for (const g of Object.values(back.groups)) expect(Object.keys(g)[0]).toBe('each');
    for (const r of back.rules) expect(Object.keys(r)[0]).toBe('rule');
    expect(back).toEqual(document);
  });
});

describe('storedMappingDiff', () => {
  it('shows exactly the changed rule, with three lines of context, and nothing for equal versions', () => {
    const yaml = example('change-of-address.yaml');
    const before = stored(parseYaml(yaml));
    const after = stored(parseYaml(yaml.replace("SURNAME:                             # CHAR(35)\n    answer: Fn3kQ8aZ.last_name\n    transform: [trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 35 }]", "SURNAME:\n    answer: Fn3kQ8aZ.last_name\n    transform: [trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 30 }]")));
    expect(after).not.toBe(before);
    const diff = storedMappingDiff(before, 'sha256:aaa', after, 'sha256:bbb');
    expect(diff.split('\n').slice(0, 2)).toEqual(['--- sha256:aaa', '+++ sha256:bbb']);
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-    transform: [ trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 35 } ]',
      '+    transform: [ trim, collapse, upper, { transliterate: { charset: latin1 } }, { truncate: 30 } ]',
    ]);
    expect(storedMappingDiff(before, 'sha256:aaa', before, 'sha256:aaa')).toBe('');
  });

  it('shows a changed lookup file under its name', () => {
    const document = parseYaml(example('provisional-licence.yaml'));
    const diff = storedMappingDiff(stored(document, { './n.csv': 'code,name\nGB,British\n' }), 'sha256:a', stored(document, { './n.csv': 'code,name\nGB,UK\n' }), 'sha256:b');
    expect(diff).toContain(' file: ./n.csv\n text: |\n   code,name\n-  GB,British\n+  GB,UK\n');
  });
});

describe('parseStoredMapping', () => {
  it('refuses texts that are not a stored mapping, naming the version and never the content', () => {
    const bad: [string, string][] = [
      ['mapping: x', 'sha256:ab is not JSON'],
      ['[1]', 'sha256:ab has no "document" object'],
      ['{"document":"x"}', 'sha256:ab has no "document" object'],
      ['{"document":{},"related":{"a.csv":3}}', 'sha256:ab has "related" that is not an object of file texts'],
      ['{"document":{},"related":{},"functions":{}}', 'sha256:ab has "functions" that is not text'],
    ];
    for (const [text, message] of bad) {
      expect(() => parseStoredMapping(text, 'sha256:ab')).toThrow(expect.objectContaining({ code: 'MAPPING_TEXT_INVALID', disposition: 'fatal', message }));
    }
    expect(parseStoredMapping('{"document":{"mapping":"t"}}')).toEqual({ document: { mapping: 't' }, related: {}, functions: null });
  });
});
