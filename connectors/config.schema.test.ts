import { Type, type Static } from 'typebox';
import { describe, expect, it } from 'vitest';
import { compileSchema } from '../lib/schema-check.js';
import { closed, constant, defaultsOf, mapOf, oneOf, oneOfValues, withDefault } from './config.schema.js';
import { SOURCES, TARGETS } from './registry.js';

/** Every `default` in `schema` with the subschema that declares it and where. */
function defaultsIn(schema: unknown, at = ''): { at: string; schema: Record<string, unknown>; value: unknown }[] {
  if (Array.isArray(schema)) return schema.flatMap((s, i) => defaultsIn(s, `${at}[${i}]`));
  if (typeof schema !== 'object' || schema === null) return [];
  const s = schema as Record<string, unknown>;
  const here = 'default' in s ? [{ at, schema: s, value: s.default }] : [];
  return [...here, ...Object.entries(s).flatMap(([k, v]) => defaultsIn(v, `${at}/${k}`))];
}

describe('connector settings declared once', () => {
  const schema = closed({
    url: Type.String({ minLength: 1 }),
    poolSize: withDefault(Type.Integer({ minimum: 1, description: 'Pool size.' }), 5),
    mode: withDefault(oneOfValues(['insert', 'upsert']), 'insert'),
    kind: Type.Optional(constant('sql')),
    body: Type.Optional(oneOf([closed({ json: Type.String() }), closed({ columns: Type.Array(Type.String()) })])),
    columns: Type.Optional(mapOf(Type.String({ pattern: '^[A-Z]+$' }))),
  });

  it('gives a setting with a default its JSON Schema default, leaves it out of required, and hands it out by name', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', minLength: 1 },
        poolSize: { type: 'integer', minimum: 1, description: 'Pool size.', default: 5 },
        mode: { enum: ['insert', 'upsert'], default: 'insert' },
        kind: { const: 'sql' },
        body: {
          oneOf: [
            { type: 'object', additionalProperties: false, required: ['json'], properties: { json: { type: 'string' } } },
            { type: 'object', additionalProperties: false, required: ['columns'], properties: { columns: { type: 'array', items: { type: 'string' } } } },
          ],
        },
        columns: { type: 'object', additionalProperties: { type: 'string', pattern: '^[A-Z]+$' } },
      },
    });
    expect(defaultsOf(schema)).toEqual({ poolSize: 5, mode: 'insert' });
    const config: Static<typeof schema> = { url: 'x', body: { columns: ['A'] } };
    expect(config.poolSize ?? defaultsOf(schema).poolSize).toBe(5);
  });

  it('validates with Ajv as the plain JSON Schema it prints (no default is filled in)', () => {
    const validate = compileSchema(schema);
    const config = { url: 'x' };
    expect(validate(config)).toBe(true);
    expect(config).toEqual({ url: 'x' });
    expect(validate({ url: 'x', poolSize: 0 })).toBe(false);
    expect(validate({ url: 'x', mode: 'merge' })).toBe(false);
    expect(validate({ url: 'x', kind: 'sqlite' })).toBe(false);
    expect(validate({ url: 'x', body: { json: 'A', columns: ['B'] } })).toBe(false);
    expect(validate({ url: 'x', columns: { a: 'lower' } })).toBe(false);
  });

  it('has every built-in connector declare defaults that its own schema accepts', () => {
    let count = 0;
    for (const def of [...SOURCES.values(), ...TARGETS.values()]) {
      for (const d of defaultsIn(def.configSchema)) {
        const { default: _value, ...rule } = d.schema;
        expect(compileSchema(rule)(d.value), `${def.name}${d.at}: default ${JSON.stringify(d.value)}`).toBe(true);
        count++;
      }
    }
    expect(count).toBeGreaterThan(60);
  });

  it('has every built-in connector name each default in the description beside it, where there is one', () => {
    for (const def of [...SOURCES.values(), ...TARGETS.values()]) {
      for (const d of defaultsIn(def.configSchema)) {
        const description = d.schema.description;
        if (typeof description === 'string') expect(description, `${def.name}${d.at}`).toContain(String(d.value));
      }
    }
  });
});
