/** `rekey preview` as a process: hints for misspelt paths, and its output when piped. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekey } from '../cli.test-helpers.js';

function tmp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-preview-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const mapping = [
  'mapping: people',
  'fields:',
  '  REF: { from: submision_reference, required: true }',
  '  SURNAME: { from: applicant.surnmae, required: true, pii: true }',
  '  PHONE: { from: phone, required: true }',
  '  AGE: { from: age }',
  '',
].join('\n');

const submissions = JSON.stringify([{ submission_reference: 'R1', applicant: { surname: 'Lee', forename: 'Ann' }, phone: '', agee: 4 }]);

describe('rekey preview: a required path that is not in the submission', () => {
  it('names the closest path the submission has', async () => {
    const dir = tmp({ 'm.yaml': mapping, 's.json': submissions });
    const r = await rekey(['preview', join(dir, 'm.yaml'), join(dir, 's.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  error REF (from submision_reference): required: is required but was not given\n');
    expect(r.stdout).toContain('  hint  REF: this submission has no "submision_reference", did you mean "submission_reference"?\n');
    expect(r.stdout).toContain('  hint  SURNAME: this submission has no "applicant.surnmae", did you mean "applicant.surname"?\n');
    // Present but blank: no hint. Not required: no hint.
    expect(r.stdout).not.toContain('hint  PHONE');
    expect(r.stdout).not.toContain('hint  AGE');
  });

  it('gives the hints in --json too', async () => {
    const dir = tmp({ 'm.yaml': mapping, 's.json': submissions });
    const r = await rekey(['preview', '--json', join(dir, 'm.yaml'), join(dir, 's.json')]);
    const doc = JSON.parse(r.stdout) as { records: { hints?: { field: string; path: string; closest: string }[] }[] };
    expect(doc.records[0]!.hints).toEqual([
      { field: 'REF', path: 'submision_reference', closest: 'submission_reference', message: 'this submission has no "submision_reference", did you mean "submission_reference"?' },
      { field: 'SURNAME', path: 'applicant.surnmae', closest: 'applicant.surname', message: 'this submission has no "applicant.surnmae", did you mean "applicant.surname"?' },
    ]);
  });
});
