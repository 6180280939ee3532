import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekeyCli as rekey, root } from './cli.test-helpers.js';
import { COMMAND_NAMES, commandsFor } from './cli.js';
import { TEST_DATA_KEY } from '../lib/envelope.test-helpers.js';

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const goodMapping = [
  'mapping: people',
  'fields:',
  '  REF: { from: submission_reference, required: true }',
  '  NAME: { answer: nm.last_name, transform: [trim, upper], pii: true, required: true }',
  '  AGE: { from: age, validate: { range: { min: 17 } } }',
  '',
].join('\n');

/** The warning `validate` gives for a pipeline run with a generated data key (state store in the repository's .rekey/). */
const generated = (file: string) =>
  `${file}: this pipeline would run with a data key rekey generated beside the state store (${join(root, '.rekey', 'data.keys')}); anyone who copies that folder can read the citizens' data in it. Set REKEY_DATA_KEY or REKEY_DATA_KEY_FILE to a key kept elsewhere (docs/privacy.md)`;

describe('rekey validate (the built CLI)', () => {
  it('exits 0 for a valid mapping', async () => {
    const dir = tmp({ 'm.yaml': goodMapping });
    const r = await rekey(['validate', join(dir, 'm.yaml')]);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toBe('1 file(s) valid\n');
  });

  it('prints every problem of every file and exits 1', async () => {
    const dir = tmp({
      'a.yaml': 'mapping: a\nfields:\n  X: { from: x, transfrom: [upper] }\n',
      'b.yaml': 'mapping: b\nfields:\n  Y: { from: y, transform: [uper] }\n',
      'ok.yaml': goodMapping,
    });
    const r = await rekey(['validate', join(dir, 'a.yaml'), join(dir, 'b.yaml'), join(dir, 'ok.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      `${join(dir, 'a.yaml')}:3:17 unknown key "transfrom" under fields.X, did you mean "transform"? (at fields.X.transfrom)`,
      `${join(dir, 'b.yaml')}:3:29 unknown transform "uper", did you mean "upper"? (at fields.Y.transform[0])`,
      '',
    ]);
    expect(r.stderr).toBe('2 problem(s) in 2 of 3 file(s)\n');
  });

  it('reports a missing file as a problem, and no file as a usage error', async () => {
    const r = await rekey(['validate', '/nonexistent/m.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('/nonexistent/m.yaml:1:1 cannot read the file: ENOENT\n');
    const usage = await rekey(['validate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'files'");
    expect((await rekey(['frobnicate'])).code).toBe(2);
  });

  it('prints JSON with --json', async () => {
    const dir = tmp({ 'a.yaml': 'mapping: a\nfields: {}\n' });
    const r = await rekey(['validate', '--json', join(dir, 'a.yaml')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      files: 1,
      problems: [{ file: join(dir, 'a.yaml'), line: 2, col: 9, path: 'fields', message: '"fields" must NOT have fewer than 1 properties' }],
    });
  });

  it('checks a pipeline whose secrets are not set with --without-secrets, saying which checks that skipped', async () => {
    for (const v of ['DCS_URL', 'DCS_USER', 'DCS_PASSWORD']) delete process.env[v];
    const file = 'examples/pipelines/browser-change-of-address.yaml';
    const strict = await rekey(['validate', file]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain(`${file}:23:14 environment variable DCS_URL is not set (at target.config.baseUrl)`);
    const r = await rekey(['validate', '--without-secrets', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`note: ${file}: the browser target was not built, so its own checks were skipped: secrets not given (DCS_URL, DCS_USER, DCS_PASSWORD)\n1 file(s) valid\n`);
    const json = await rekey(['validate', '--json', '--without-secrets', '--connect', file]);
    expect(JSON.parse(json.stdout)).toEqual({
      files: 1,
      problems: [],
      skipped: [`${file}: the browser target was not built, so its own checks and --connect were skipped: secrets not given (DCS_URL, DCS_USER, DCS_PASSWORD)`],
    });
  });

  it('warns when a pipeline would run with a generated data key, and not once a key is given', async () => {
    const file = 'examples/pipelines/change-of-address.yaml';
    const bare = await rekey(['validate', file], root, { REKEY_DATA_KEY: '', REKEY_DATA_KEY_FILE: '' });
    expect(bare.code).toBe(0);
    expect(bare.stderr).toBe(`warning: ${generated(file)}\n1 file(s) valid\n`);
    const json = await rekey(['validate', '--json', file], root, { REKEY_DATA_KEY: '', REKEY_DATA_KEY_FILE: '' });
    expect(JSON.parse(json.stdout)).toEqual({ files: 1, problems: [], warnings: [generated(file)] });
    const keyed = await rekey(['validate', file], root, { REKEY_DATA_KEY: TEST_DATA_KEY });
    expect(keyed.stderr).toBe('1 file(s) valid\n');
  });
});

describe('rekey preview (the built CLI)', () => {
  const submissions = [
    { form_name: 'F', submission_reference: 'AB2CD3EF', age: 30, answers: [{ question_id: 'nm', question_text: 'Name', answer_text: 'x', last_name: ' jones ' }] },
    { form_name: 'F', submission_reference: 'GH4JK5LM', age: 12, answers: [] },
  ];

  it('shows each record and each error, and a summary', async () => {
    const dir = tmp({ 'm.yaml': goodMapping, 's.json': JSON.stringify(submissions) });
    const r = await rekey(['preview', join(dir, 'm.yaml'), join(dir, 's.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`✓ ${join(dir, 's.json')} record 1 (line 1)  key F/AB2CD3EF`);
    expect(r.stdout).toContain('    NAME  "JONES"');
    expect(r.stdout).toContain(`✗ ${join(dir, 's.json')} record 2`);
    expect(r.stdout).toContain('  error NAME (from answer:nm.last_name): required: is required but was not given');
    expect(r.stdout).toContain('  error AGE (from age): range: must be at least 17');
    expect(r.stdout).toMatch(/people \(sha256:[0-9a-f]{12}\): 1 mapped, 1 rejected, 0 unreadable\n$/);
    expect((await rekey(['preview', '--strict', join(dir, 'm.yaml'), join(dir, 's.json')])).code).toBe(1);
  });

  it('gives machine-readable output and masks PII on request', async () => {
    const dir = tmp({ 'm.yaml': goodMapping, 's.ndjson': submissions.map((s) => JSON.stringify(s)).join('\n') + '\n' });
    const r = await rekey(['preview', '--json', '--mask-pii', join(dir, 'm.yaml'), join(dir, 's.ndjson')]);
    const doc = JSON.parse(r.stdout) as { summary: unknown; records: { key: string; result: { record: Record<string, unknown> } }[] };
    expect(doc.summary).toEqual({ mapped: 1, rejected: 1, unreadable: 0 });
    expect(doc.records[0]!.key).toBe('F/AB2CD3EF');
    expect(doc.records[0]!.result.record).toEqual({ REF: 'AB2CD3EF', NAME: '***', AGE: 30 });
    expect(r.stdout).not.toContain('JONES');
  });

  it('reports an unreadable record and goes on with the rest', async () => {
    const lines = [JSON.stringify(submissions[0]), '{"form_name": "F", "submission_reference": ', JSON.stringify(submissions[1])];
    const dir = tmp({ 'm.yaml': goodMapping, 's.ndjson': lines.join('\n') + '\n' });
    const r = await rekey(['preview', '--json', join(dir, 'm.yaml'), join(dir, 's.ndjson')]);
    const doc = JSON.parse(r.stdout) as { summary: unknown; records: { at: { record: number; line: number }; unreadable?: { code: string } }[] };
    expect(doc.summary).toEqual({ mapped: 1, rejected: 1, unreadable: 1 });
    expect(doc.records.map((x) => x.at.line)).toEqual([1, 2, 3]);
    expect(doc.records[1]!.unreadable?.code).toBe('INPUT_MALFORMED_RECORD');
  });

  it('reads a CSV as plain rows by default, as the file source does; --csv-shape govuk-forms for an export; --relax-quotes as csv.relaxQuotes', async () => {
    const plain = 'mapping: plain\nkey: "{{ref}}"\nfields:\n  REF: { from: ref, required: true }\n  TOWN: { from: town }\n';
    const dir = tmp({ 'm.yaml': plain, 's.csv': 'ref,town\nR1,Leeds\nR2,Ba"th\n' });
    type Doc = { summary: unknown; records: { key?: string; result?: { record: unknown }; unreadable?: { code: string; message: string } }[] };
    const preview = async (...flags: string[]) => JSON.parse((await rekey(['preview', '--json', ...flags, join(dir, 'm.yaml'), join(dir, 's.csv')])).stdout) as Doc;
    const rows = await preview();
    expect(rows.summary).toEqual({ mapped: 1, rejected: 0, unreadable: 1 });
    expect(rows.records[0]).toMatchObject({ key: 'R1', result: { record: { REF: 'R1', TOWN: 'Leeds' } } });
    expect(rows.records[1]!.unreadable).toEqual({ code: 'INPUT_MALFORMED_RECORD', message: 'a quote appears inside an unquoted field in field 2 at line 3' });
    const relaxed = await preview('--relax-quotes');
    expect(relaxed.summary).toEqual({ mapped: 2, rejected: 0, unreadable: 0 });
    expect(relaxed.records[1]).toMatchObject({ key: 'R2', result: { record: { REF: 'R2', TOWN: 'Ba"th' } } });
    const asExport = await preview('--csv-shape', 'govuk-forms');
    expect(asExport.records[0]!.unreadable?.code).toBe('INPUT_MALFORMED_FILE');
  });

  it('refuses an invalid mapping with its problems', async () => {
    const dir = tmp({ 'm.yaml': 'mapping: x\nfields:\n  A: { form: a }\n', 's.json': '[]' });
    const r = await rekey(['preview', join(dir, 'm.yaml'), join(dir, 's.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'm.yaml')}:3:8 unknown key "form" under fields.A, did you mean "from"?`);
  });
});

describe('rekey test (the built CLI)', () => {
  it('passes matching cases and reports each difference field by field', async () => {
    const cases = [
      'cases:',
      '  - name: good',
      '    submission: { form_name: F, submission_reference: R1, age: 40, answers: [{ question_id: nm, question_text: N, answer_text: x, last_name: smith }] }',
      '    expect:',
      '      record: { REF: R1, NAME: SMITH, AGE: 40 }',
      '  - name: wrong expectation',
      '    submission: { submission_reference: R2, age: 40, answers: [{ question_id: nm, question_text: N, answer_text: x, last_name: lee }] }',
      '    expect:',
      '      record: { REF: R2, NAME: LI, AGE: 41 }',
      '  - name: expected errors',
      '    submission: { age: 3 }',
      '    expect:',
      '      errors:',
      '        - { field: REF, rule: required }',
      '        - { field: NAME, rule: required }',
      '        - { field: AGE, rule: range, message: must be at least 17 }',
      '',
    ].join('\n');
    const dir = tmp({ 'people.yaml': goodMapping, 'people.cases.yaml': cases });
    const r = await rekey(['test', join(dir, 'people.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        join(dir, 'people.yaml'),
        '  ✓ good',
        '  ✗ wrong expectation',
        '      record.NAME: expected "LI", got "LEE"',
        '      record.AGE: expected 41, got 40',
        '  ✓ expected errors',
        '2 passed, 1 failed',
        '',
      ].join('\n'),
    );
  });

  it('says when a mapping has no cases', async () => {
    const dir = tmp({ 'm.yaml': goodMapping });
    const r = await rekey(['test', join(dir, 'm.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${join(dir, 'm.yaml')}: no golden cases (looked for ${join(dir, 'm.cases.yaml')})\n`);
  });
});

describe('rekey loads the command it is asked for', () => {
  it('names the one subcommand a command line needs, or every one for help, a misspelling or none', () => {
    const all = commandsFor([]);
    expect(all).toEqual(COMMAND_NAMES);
    expect(commandsFor(['show', 'change-of-address', 'CA3HJ7WR'])).toEqual(['show']);
    expect(commandsFor(['--debug', 'run', 'p.yaml'])).toEqual(['run']);
    expect(commandsFor(['resume', 'p'])).toEqual(['pause', 'resume', 'passes']);
    expect(commandsFor(['--help'])).toEqual(all);
    expect(commandsFor(['help', 'run'])).toEqual(all);
    expect(commandsFor(['shwo'])).toEqual(all);
    expect(commandsFor(['constructor'])).toEqual(all);
  });

  it('lists every command in its help, and suggests the command meant by a misspelling', async () => {
    const help = await rekey(['--help']);
    expect(help.code).toBe(0);
    const listed = help.stdout.split('\n').map((l) => /^ {2}([a-z]+)\b/.exec(l)?.[1]).filter((n): n is string => n !== undefined && n !== 'help');
    expect(listed).toEqual(commandsFor([]));
    const misspelt = await rekey(['shwo']);
    expect(misspelt.code).toBe(2);
    expect(misspelt.stderr).toContain("(Did you mean show?)");
    const one = await rekey(['status', '--help']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^Usage: rekey status /);
  });
});
