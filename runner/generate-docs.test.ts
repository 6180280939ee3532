import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GENERATED, referenceText, schemaText } from './generate-docs.js';
import { pipelineSchemaText } from '../pipelines/definition/pipeline.schema.js';
import { ERROR_CATALOGUES, errorsDocText } from './errors.catalogue.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (rel: string) => readFileSync(`${root}/${rel}`, 'utf8');

describe('generated documentation', () => {
  it('mappings/mapping.schema.json is current (run npm run docs)', () => {
    expect(read(GENERATED.schema)).toBe(schemaText());
  });

  it('pipelines/definition/pipeline.schema.json is current (run npm run docs)', () => {
    expect(read(GENERATED.pipelineSchema)).toBe(pipelineSchemaText());
  });

  it('the transform reference in docs/mapping-language.md is current (run npm run docs)', () => {
    const page = read(GENERATED.reference);
    expect(page).toBe(referenceText(page));
  });

  it('docs/errors.md is current (run npm run docs)', () => {
    expect(read(GENERATED.errors)).toBe(errorsDocText());
  });

  it('lists every catalogued code in docs/errors.md with its disposition and what to do', () => {
    const page = read(GENERATED.errors);
    for (const e of ERROR_CATALOGUES.flatMap((s) => s.entries)) {
      const line = page.split('\n').find((l) => l.startsWith(`| \`${e.code}\` |`));
      expect(line, e.code).toContain(`| ${e.disposition}`);
      expect(line, e.code).toContain(`| ${e.means} |`);
      expect(line, e.code).toContain(`| ${e.hint} |`);
    }
  });

  it('names every transform in the reference', () => {
    const schema = JSON.parse(schemaText()) as { definitions: { transformStep: { oneOf: { enum?: string[]; required?: string[] }[] } } };
    const names = schema.definitions.transformStep.oneOf.flatMap((b) => b.enum ?? b.required ?? []);
    const page = read(GENERATED.reference);
    for (const n of names) expect(page).toContain(`| \`${n}\` |`);
  });
});
