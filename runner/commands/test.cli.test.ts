/** `rekey test`, the built CLI: which cases file it runs, and what it makes of a faulty one. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekeyCli as rekey, root } from '../cli.test-helpers.js';

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-test-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const mapping = ['mapping: people', 'tests: ./people.cases.yaml', 'fields:', '  REF: { from: ref, required: true }', '  NAME: { from: name, transform: [upper] }', ''].join('\n');

const goodCases = ['mapping: ./people.yaml', 'cases:', '  - name: good', '    submission: { ref: R1, name: lee }', '    expect:', '      record: { REF: R1, NAME: LEE }', ''].join('\n');

/** Two cases whose `expect` is misspelt: nothing in them is checked. */
const badCases = [
  'mapping: ./people.yaml',
  'cases:',
  '  - name: first',
  '    submission: { ref: R1, name: lee }',
  '    expct:',
  '      record: { REF: R1, NAME: WRONG }',
  '  - name: second',
  '    submission: { ref: R2, name: li }',
  '    expct:',
  '      record: { REF: R2, NAME: WRONG }',
  '',
].join('\n');

describe('rekey test CASES-FILE', () => {
  it('runs the cases file it is given, not the one the mapping names', async () => {
    const wrong = ['mapping: ./people.yaml', 'cases:', '  - name: other file', '    submission: { ref: R9, name: x }', '    expect:', '      record: { NAME: NOT-X }', ''].join('\n');
    const dir = tmp({ 'people.yaml': mapping, 'people.cases.yaml': goodCases, 'other.cases.yaml': wrong });
    const r = await rekey(['test', join(dir, 'other.cases.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ other file');
    expect(r.stdout).not.toContain('✓ good');
    expect(r.stdout.endsWith('0 passed, 1 failed\n')).toBe(true);
  });

  it('refuses a case with an unknown key (a misspelt expect), located, with a suggestion', async () => {
    const dir = tmp({ 'people.yaml': mapping, 'people.cases.yaml': goodCases, 'bad.cases.yaml': badCases });
    const r = await rekey(['test', join(dir, 'bad.cases.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'bad.cases.yaml')}:5:5 unknown key "expct" under cases[0], did you mean "expect"?`);
    expect(r.stderr).toContain(`${join(dir, 'bad.cases.yaml')}:9:5 unknown key "expct" under cases[1], did you mean "expect"?`);
    expect(r.stdout).not.toMatch(/[1-9]\d* passed/);
  });

  it('runs both a mapping (its own cases) and a second cases file of the same mapping', async () => {
    const more = goodCases.replace('name: good', 'name: more');
    const dir = tmp({ 'people.yaml': mapping, 'people.cases.yaml': goodCases, 'more.cases.yaml': more });
    const r = await rekey(['test', join(dir, 'people.yaml'), join(dir, 'more.cases.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ good');
    expect(r.stdout).toContain('✓ more');
    expect(r.stdout.endsWith('2 passed, 0 failed\n')).toBe(true);
  });
});

describe('rekey test: case inputs in YAML', () => {
  it('reads an input file written as YAML (.yaml or .yml) as well as JSON', async () => {
    const cases = [
      'cases:',
      '  - name: yaml input',
      '    input: ./r1.yaml',
      '    expect:',
      '      record: { REF: R1, NAME: LEE }',
      '  - name: yml input',
      '    input: ./r2.yml',
      '    expect:',
      '      record: { REF: R2, NAME: LI }',
      '  - name: json input',
      '    input: ./r3.json',
      '    expect:',
      '      record: { REF: R3, NAME: LO }',
      '',
    ].join('\n');
    const dir = tmp({ 'people.yaml': mapping, 'people.cases.yaml': cases, 'r1.yaml': '# a sample\nref: R1\nname: lee\n', 'r2.yml': 'ref: R2\nname: li\n', 'r3.json': '{"ref":"R3","name":"lo"}' });
    const r = await rekey(['test', join(dir, 'people.yaml')]);
    expect(r.stdout).toBe([join(dir, 'people.yaml'), '  ✓ yaml input', '  ✓ yml input', '  ✓ json input', '3 passed, 0 failed', ''].join('\n'));
    expect(r.code).toBe(0);
  });

  it('fails a case whose YAML input cannot be read, saying where', async () => {
    const cases = ['cases:', '  - name: broken', '    input: ./r1.yaml', '    expect:', '      record: { REF: R1 }', ''].join('\n');
    const dir = tmp({ 'people.yaml': mapping, 'people.cases.yaml': cases, 'r1.yaml': 'ref: R1\nname: [lee\n' });
    const r = await rekey(['test', join(dir, 'people.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  ✗ broken');
    expect(r.stdout).toMatch(new RegExp(`people\\.cases\\.yaml:2:5 input ${join(dir, 'r1.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+ `));
  });
});

describe('the golden cases of docs/mapping-language.md', () => {
  it('run as the document shows', async () => {
    const doc = readFileSync(join(root, 'docs/mapping-language.md'), 'utf8');
    const start = doc.indexOf('\n## Golden cases\n');
    expect(start).toBeGreaterThan(0);
    const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
    const files: Record<string, string> = {};
    for (const [, body] of section.matchAll(/```yaml\n(# (\S+)\n[\s\S]*?)```/g)) files[/^# (\S+)/.exec(body!)![1]!] = body!;
    expect(Object.keys(files)).toEqual(['people.yaml', 'people.cases.yaml', 'too-young.yaml']);
    const [, command, output] = /```console\n\$ (.*)\n([\s\S]*?)```/.exec(section)!;
    const dir = tmp(files);
    const r = await rekey(command!.split(' ').slice(1), dir);
    expect(r.stdout).toBe(output);
    expect(r.code).toBe(0);
  });
});
