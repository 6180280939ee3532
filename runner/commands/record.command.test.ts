/**
 * `rekey record` as a real process, where it refuses before any browser
 * starts: a pipeline whose target is not a browser (usage, exit 2), and a
 * submission the mapping rejects (exit 1, naming file, record, field and
 * rule, never a value).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekey, root } from '../cli.test-helpers.js';
import { textsOf } from '../../connectors/browser/browser.record.values.js';

const EXPORT = 'fixtures/submissions/govuk-forms/change-of-address.ndjson';
const ENV = { DCS_URL: 'http://127.0.0.1:9', DCS_USER: 'clerk', DCS_PASSWORD: 'unused-here' };

describe('rekey record, refusing before a browser starts', () => {
  it('refuses a pipeline whose target is not a browser', async () => {
    const r = await rekey(['record', 'examples/pipelines/change-of-address.yaml', '--submission', EXPORT]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rekey: examples/pipelines/change-of-address.yaml: the target is sqlite; only a browser target\'s steps can be recorded\n');
  });

  it('names the record, fields and rules of a submission the mapping rejects, and no value of it', async () => {
    const r = await rekey(['record', 'examples/pipelines/browser-change-of-address.yaml', '--submission', EXPORT, '--record', '5'], root, ENV);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`rekey: ${EXPORT}: record 5 is rejected by the mapping: POSTCODE (postcode)\n`);
    const body: unknown = JSON.parse(readFileSync(join(root, EXPORT), 'utf8').trim().split('\n')[4]!);
    const canaries = textsOf(body).filter((t) => t.length >= 4 && !t.startsWith('Change the address'));
    expect(canaries).toContain('SW1A 1ZZZ');
    for (const c of canaries) expect(r.stderr + r.stdout, 'a value of the submission is printed').not.toContain(c);
  });
});
