import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rekeyCli as rekey } from '../runner/cli.test-helpers.js';

const mappings = ['change-of-address', 'vehicle-keeper-change', 'provisional-licence'];

describe('example mappings through the real CLI', () => {
  it('validate without a problem', async () => {
    const r = await rekey(['validate', ...mappings.map((m) => `examples/mappings/${m}.yaml`), ...mappings.map((m) => `examples/mappings/${m}.cases.yaml`)]);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);
  });

  it('pass every golden case', async () => {
    const r = await rekey(['test', '--json', ...mappings.map((m) => `examples/mappings/${m}.yaml`)]);
    const doc = JSON.parse(r.stdout) as { passed: number; failed: number };
    expect(doc.failed).toBe(0);
    expect(doc.passed).toBeGreaterThanOrEqual(30);
    expect(r.code).toBe(0);
  });

  it.each(mappings)('%s maps its CSV export to the same records as its JSON export', async (m) => {
    type Doc = { records: { key?: string; result: { record: Record<string, unknown>; errors: unknown[]; children: unknown } }[] };
    const fixture = `fixtures/submissions/govuk-forms/${m}`;
    const json = JSON.parse((await rekey(['preview', '--json', `examples/mappings/${m}.yaml`, `${fixture}.json`])).stdout) as Doc;
    const csv = JSON.parse((await rekey(['preview', '--json', '--csv-shape', 'govuk-forms', `examples/mappings/${m}.yaml`, `${fixture}.csv`])).stdout) as Doc;
    const byRef = (d: Doc) => d.records.map((r) => ({ record: r.result.record, errors: r.result.errors, children: r.result.children }));
    expect(csv.records.length).toBeGreaterThan(0);
    const english = new Set(csv.records.map((r) => String(r.result.record.WEB_REF ?? r.result.record.REF ?? r.result.record.APP_REF)));
    const jsonEnglish = byRef(json).filter((r) => english.has(String(r.record.WEB_REF ?? r.record.REF ?? r.record.APP_REF)));
    expect(byRef(csv)).toEqual(jsonEnglish);
  });

  it('maps the Welsh CSV export (Welsh part labels and question texts) like the Welsh JSON submissions', async () => {
    type Doc = { records: { result: { record: Record<string, unknown>; errors: unknown[] } }[] };
    const m = 'examples/mappings/change-of-address.yaml';
    const fixture = 'fixtures/submissions/govuk-forms/change-of-address';
    const json = JSON.parse((await rekey(['preview', '--json', m, `${fixture}.json`])).stdout) as Doc;
    const cy = JSON.parse((await rekey(['preview', '--json', '--csv-shape', 'govuk-forms', m, `${fixture}.cy.csv`])).stdout) as Doc;
    const welsh = json.records.filter((r) => r.result.record.WELSH_FLAG === 'Y').map((r) => r.result);
    expect(cy.records.length).toBe(welsh.length);
    const withoutLanguage = (r: { record: Record<string, unknown> }) => ({ ...r, notes: undefined, record: { ...r.record, WELSH_FLAG: undefined } });
    expect(cy.records.map((r) => withoutLanguage(r.result))).toEqual(welsh.map(withoutLanguage));
    // The CSV export carries no language column, so the flag that the JSON's `language: cy` sets cannot be known.
    expect(cy.records.map((r) => r.result.record.WELSH_FLAG)).toEqual(welsh.map(() => 'N'));
  });

    it('reads the XML gateway export through a mapping of its own shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-xml-'));
    const mapping = [
      'mapping: gateway-xml',
      'key: "{{form-name}}/{{@_reference}}"',
      'fields:',
      '  REF: { from: "@_reference", required: true }',
      '  SURNAME: { from: "answer[@_question-id=Fn3kQ8aZ].last-name", transform: [upper], required: true }',
      '  POSTCODE: { from: "answer[@_question-id=Ad2pW6yJ].postcode", transform: [postcode] }',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'gateway.yaml'), mapping);
    const fixture = 'fixtures/submissions/govuk-forms/change-of-address';
    const xml = await rekey(['preview', '--json', join(dir, 'gateway.yaml'), `${fixture}.xml`]);
    const json = JSON.parse((await rekey(['preview', '--json', 'examples/mappings/change-of-address.yaml', `${fixture}.json`])).stdout) as {
      records: { result: { record: Record<string, unknown> } }[];
    };
    const doc = JSON.parse(xml.stdout) as { summary: { unreadable: number }; records: { key: string; result: { record: Record<string, unknown> } }[] };
    expect(doc.summary.unreadable).toBe(0);
    expect(doc.records.map((r) => r.result.record.REF)).toEqual(json.records.map((r) => r.result.record.WEB_REF));
    expect(doc.records[0]!.key).toBe('Change the address on your driving licence/CA3HJ7WR');
    expect(doc.records[0]!.result.record).toEqual({ REF: 'CA3HJ7WR', SURNAME: "O'CONNOR", POSTCODE: 'M1 1AE' });
  });
});
