import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileSchema } from '../../lib/schema-check.js';
import { BUILTIN_CONNECTORS, SOURCES, TARGETS, type TargetDef } from '../../connectors/registry.js';
import { allowSecretRefs, buildPipelineSchema, pipelineSchema, pipelineSchemaText } from './pipeline.schema.js';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
type Branch = { if: { properties: { kind: { const: string } } }; then: { properties: { config: Record<string, unknown> } } };

describe('pipeline schema', () => {
  it('pipelines/definition/pipeline.schema.json is current (regenerate with pipelineSchemaText())', () => {
    expect(readFileSync(here('./pipeline.schema.json'), 'utf8')).toBe(pipelineSchemaText());
  });

  it('takes each connector’s config schema from its declaration, once, referred to from the top level and each route', () => {
    type Use = { properties: { kind: { enum: string[] } }; allOf: Branch[] };
    const schema = pipelineSchema() as { definitions: Record<string, Use>; properties: Record<string, unknown> & { routes: { items: { properties: { target: unknown } } } } };
    const ref = { $ref: '#/definitions/secretRef' };
    for (const [side, defs] of [['source', SOURCES], ['target', TARGETS]] as const) {
      expect(schema.properties[side]).toEqual({ $ref: `#/definitions/${side}` });
      const use = schema.definitions[side]!;
      expect(use.properties.kind.enum).toEqual([...defs.keys()]);
      for (const def of defs.values()) {
        const branch = use.allOf.find((b) => b.if.properties.kind.const === def.name)!;
        expect(branch.then.properties.config).toEqual({ ...(allowSecretRefs(def.configSchema, ref) as object), description: def.doc });
      }
    }
    expect(schema.properties.routes.items.properties.target).toEqual({ $ref: '#/definitions/target' });
    // Each connector's settings are written once: the published file stays well under a megabyte.
    expect(pipelineSchemaText().length).toBeLessThan(700_000);
  });

  it('accepts a pipeline with routes, and refuses mapping and target beside routes, as an editor would', () => {
    const validate = compileSchema(pipelineSchema());
    const route = (name: string) => ({ route: name, mapping: `${name}.yaml`, target: { kind: 'sqlite', config: { path: 'l.sqlite', table: 'T', keyColumn: 'K', password: { env: 'P' } } } });
    const doc = { pipeline: 'p', source: { kind: 'file', config: { path: 'x' } }, routes: [route('a'), { ...route('b'), after: ['a'], when: { answer: 'q', exists: true } }] };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(false);
    doc.routes.forEach((r) => delete (r.target.config as Record<string, unknown>).password);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...doc, mapping: 'm.yaml' })).toBe(false);
    expect(validate({ ...doc, routes: [{ ...route('a'), target: { kind: 'sqlite', config: { tabel: 'T' } } }] })).toBe(false);
  });

  it('grows with the catalog and needs no other edit for a new connector', () => {
    const ftp: TargetDef = { name: 'ftp-drop', kind: 'target', doc: 'FTP drop.', configSchema: { type: 'object', required: ['host'], properties: { host: { type: 'string' } } }, create: () => undefined as never };
    const schema = buildPipelineSchema({ ...BUILTIN_CONNECTORS, targets: new Map([...TARGETS, ['ftp-drop', ftp]]) }, { published: true });
    const validate = compileSchema(schema);
    const doc = { pipeline: 'p', mapping: 'm.yaml', source: { kind: 'file', config: { path: 'x' } }, target: { kind: 'ftp-drop', config: { host: 'legacy' } } };
    expect(validate(doc)).toBe(true);
    expect(validate({ ...doc, target: { kind: 'ftp-drop', config: {} } })).toBe(false);
  });

  it('accepts the example pipeline and refuses an unknown config key, as an editor would', () => {
    const validate = compileSchema(pipelineSchema());
    const doc = parse(readFileSync(here('../../examples/pipelines/change-of-address.yaml'), 'utf8')) as { target: { config: Record<string, unknown> } };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    doc.target.config.tabel = 'X';
    expect(validate(doc)).toBe(false);
    expect(validate.errors?.some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'tabel')).toBe(true);
  });

  it('lets free strings of a config be secret references, not enumerations', () => {
    const wrapped = allowSecretRefs({ type: 'object', properties: { url: { type: 'string', description: 'URL' }, mode: { type: 'string', enum: ['a'] }, n: { type: 'integer' } } }) as {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(wrapped.properties.url).toMatchObject({ description: 'URL', oneOf: [{ type: 'string' }, { type: 'object', properties: { env: {}, file: {} } }] });
    expect(wrapped.properties.mode).toEqual({ type: 'string', enum: ['a'] });
    expect(wrapped.properties.n).toEqual({ type: 'integer' });
  });
});
