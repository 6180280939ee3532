/**
 * The webhook-applicants example (a webhook whose questions arrive as one
 * list, issue 21) through the real CLI (`npm run build` first): it
 * validates and passes its golden cases.
 */
import { describe, expect, it } from 'vitest';
import { rekey } from '../runner/cli.test-helpers.js';

const mapping = 'examples/mappings/webhook-applicants';

describe('webhook-applicants example mapping through the real CLI', () => {
  it('validates, and passes every golden case', async () => {
    const v = await rekey(['validate', `${mapping}.yaml`, `${mapping}.cases.yaml`]);
    expect([v.code, v.stdout]).toEqual([0, '']);
    const t = await rekey(['test', '--json', `${mapping}.yaml`]);
    expect(JSON.parse(t.stdout)).toMatchObject({ passed: 3, failed: 0 });
    expect(t.code).toBe(0);
  });
});
