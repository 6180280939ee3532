/**
 * Regenerates the published artefacts that derive from code: the mapping and
 * pipeline JSON Schemas for editors, the transform reference in the
 * language page and the error reference (docs/errors.md, from the error
 * catalogues). `npm run docs` runs it; a test fails when any is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mappingSchema } from '../mappings/index.js';
import { renderTransformReference } from '../mappings/transforms/reference.js';
import { pipelineSchemaText } from '../pipelines/definition/pipeline.schema.js';
import { errorsDocText } from './errors.catalogue.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Paths of the generated files, relative to the repository root. */
export const GENERATED = { schema: 'mappings/mapping.schema.json', reference: 'docs/mapping-language.md', pipelineSchema: 'pipelines/definition/pipeline.schema.json', errors: 'docs/errors.md' } as const;

const START = '<!-- transforms:start -->';
const END = '<!-- transforms:end -->';

/** The schema file's content as it should be. */
export function schemaText(): string {
  return `${JSON.stringify(mappingSchema(), null, 2)}\n`;
}

/** The language page with its transform section regenerated. */
export function referenceText(current: string): string {
  const a = current.indexOf(START);
  const b = current.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${GENERATED.reference} lacks the ${START} ... ${END} markers`);
  return `${current.slice(0, a + START.length)}\n${renderTransformReference().trim()}\n${current.slice(b)}`;
}

/** Writes every generated file under `base`. */
export function generate(base: string): void {
  writeFileSync(`${base}/${GENERATED.schema}`, schemaText());
  writeFileSync(`${base}/${GENERATED.errors}`, errorsDocText());
  writeFileSync(`${base}/${GENERATED.pipelineSchema}`, pipelineSchemaText());
  const page = `${base}/${GENERATED.reference}`;
  writeFileSync(page, referenceText(readFileSync(page, 'utf8')));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) generate(root);
