/** `rekey preview` as a process: hints for misspelt paths, and its output when piped. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekey, root } from '../cli.test-helpers.js';

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

/** Runs `rekey ARGS`, reads its standard output until `enough` characters, then closes the pipe (as `| head` does). */
function readThenClose(args: string[], enough: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.length;
      if (seen >= enough) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('rekey preview | head', () => {
  it('ends quietly, exit 0, when the reader of its output goes away', async () => {
    const many = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ submission_reference: `R${i}`, applicant: { surname: 'Lee' }, phone: '1' })));
    const dir = tmp({ 'm.yaml': mapping.replace('submision_reference', 'submission_reference').replace('surnmae', 'surname'), 's.json': many });
    const r = await readThenClose(['preview', join(dir, 'm.yaml'), join(dir, 's.json')], 200);
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0, signal: null });
  });
});
