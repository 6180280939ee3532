/**
 * The report-a-death example mappings through the real CLI (`npm run build`
 * first): they validate, pass their golden cases, and map the GOV.UK Forms
 * CSV export (question texts, no ids) to the same records as the JSON.
 */
import { describe, expect, it } from 'vitest';
import { rekeyCli as rekey } from '../runner/cli.test-helpers.js';

const offices = ['driving-licence', 'passport', 'council-tax', 'notify'].map((o) => `examples/mappings/report-a-death-${o}`);
const fixture = 'fixtures/submissions/govuk-forms/report-a-death';

describe('report-a-death example mappings through the real CLI', () => {
  it('validate without a problem', async () => {
    const r = await rekey(['validate', ...offices.flatMap((m) => [`${m}.yaml`, `${m}.cases.yaml`])]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('pass every golden case', async () => {
    const r = await rekey(['test', '--json', ...offices.map((m) => `${m}.yaml`)]);
    const doc = JSON.parse(r.stdout) as { passed: number; failed: number };
    expect(doc).toMatchObject({ passed: 38, failed: 0 });
    expect(r.code).toBe(0);
  });

  it.each(offices)('%s maps the CSV export to the same records and errors as the JSON', async (m) => {
    type Doc = { records: { result: { record: Record<string, unknown>; errors: unknown[] } }[] };
    const preview = async (file: string) => (JSON.parse((await rekey(['preview', '--json', '--csv-shape', 'govuk-forms', `${m}.yaml`, file])).stdout) as Doc).records.map((r) => r.result);
    const json = await preview(`${fixture}.json`);
    const csv = await preview(`${fixture}.csv`);
    const ref = (r: { record: Record<string, unknown> }) => String(r.record.FORM_REF ?? r.record.CASE_REF);
    const english = new Set(csv.map(ref));
    expect(csv).toHaveLength(9);
    expect(csv.map(({ record, errors }) => ({ record, errors }))).toEqual(
      json.filter((r) => english.has(ref(r))).map(({ record, errors }) => ({ record, errors })),
    );
  });
});
