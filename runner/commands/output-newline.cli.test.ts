/**
 * Issue 21's papercut "validate and preview output lacks a final newline":
 * every output of `rekey validate` and `rekey preview`, on stdout and on
 * stderr, piped as a script reads it, ends with a line break (a shell
 * prompt after it then starts on a line of its own).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekey, root } from '../cli.test-helpers.js';

const MAPPING = join(root, 'examples/mappings/change-of-address.yaml');
const PIPELINE = join(root, 'examples/pipelines/change-of-address.yaml');
const JSON_IN = join(root, 'fixtures/submissions/govuk-forms/change-of-address.json');
const CSV_IN = join(root, 'fixtures/submissions/govuk-forms/change-of-address.csv');

function broken(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-newline-'));
  writeFileSync(join(dir, 'bad.yaml'), 'mapping: bad\nfields:\n  A: { from: x, transform: [uppercase] }\n  B: { from: [\n');
  return join(dir, 'bad.yaml');
}

describe('validate and preview end their output with a line break', () => {
  const bad = broken();
  it.each([
    ['validate, a valid mapping', ['validate', MAPPING]],
    ['validate --json', ['validate', '--json', MAPPING]],
    ['validate, a pipeline', ['validate', PIPELINE]],
    ['validate, a broken mapping', ['validate', bad]],
    ['validate, no such file', ['validate', join(root, 'no-such-mapping.yaml')]],
    ['preview, JSON', ['preview', MAPPING, JSON_IN]],
    ['preview --json', ['preview', '--json', MAPPING, JSON_IN]],
    ['preview, CSV', ['preview', MAPPING, CSV_IN]],
    ['preview, a broken mapping', ['preview', bad, JSON_IN]],
  ])('%s', async (_, args) => {
    const r = await rekey(args, root, { REKEY_LOG_LEVEL: 'warn' });
    expect(r.stdout + r.stderr, 'some output').not.toBe('');
    for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) if (text !== '') expect(text.endsWith('\n'), `${name} ends with a line break: ${JSON.stringify(text.slice(-80))}`).toBe(true);
  });
});
