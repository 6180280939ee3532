import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { TRANSFORMS, TRANSFORM_GROUPS } from './index.js';
import { renderTransformReference } from './reference.js';
import type { TransformEnv } from './transform.types.js';

const ENV: TransformEnv = {
  lookup: (name) => (name === 'TITLES' ? (v) => v : undefined),
  userFunction: (name) => (name === 'districtCode' ? (v) => v : undefined),
};

const NAMES = [
  'trim', 'collapse', 'upper', 'lower', 'truncate', 'pad', 'toString', 'title', 'transliterate',
  'replace', 'extract', 'split', 'join', 'first', 'last', 'count',
  'number', 'formatNumber', 'impliedDecimals', 'date',
  'postcode', 'nino', 'phone', 'drivingLicence', 'bool', 'lookup', 'function',
];

function objectSchemas(schema: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(schema)) schema.forEach((s) => objectSchemas(s, out));
  else if (typeof schema === 'object' && schema !== null) {
    const s = schema as Record<string, unknown>;
    if (s.type === 'object') out.push(s);
    Object.values(s).forEach((v) => objectSchemas(v, out));
  }
  return out;
}

describe('TRANSFORMS', () => {
  it('lists every built-in once, by its own name, in reference order', () => {
    expect([...TRANSFORMS.keys()]).toEqual(NAMES);
    for (const [name, def] of TRANSFORMS) expect(def.name).toBe(name);
    expect(TRANSFORM_GROUPS.flatMap((g) => g.transforms)).toHaveLength(TRANSFORMS.size);
  });

  it.each(NAMES)('%s has a one-sentence doc', (name) => {
    const doc = TRANSFORMS.get(name)?.doc ?? '';
    expect(doc.length).toBeGreaterThan(10);
    expect(doc).toMatch(/[.)]$/);
  });

  it.each(NAMES.filter((n) => TRANSFORMS.get(n)?.args !== undefined))('%s has a strict draft 2020-12 schema its example meets', (name) => {
    const def = TRANSFORMS.get(name)!;
    const ajv = new Ajv2020({ strict: true, strictTypes: true, strictTuples: true, strictRequired: true });
    const validate = ajv.compile(def.args!);
    expect(def.example).not.toBeUndefined();
    expect(validate(def.example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ surely: 'not an argument' })).toBe(false);
    for (const o of objectSchemas(def.args)) expect(o.additionalProperties).toBe(false);
  });

  it.each(NAMES.filter((n) => TRANSFORMS.get(n)?.args !== undefined))('%s has a schema that also works in draft-07', (name) => {
    const def = TRANSFORMS.get(name)!;
    const validate = new Ajv({ strict: true, strictTypes: true }).compile(def.args!);
    expect(validate(def.example)).toBe(true);
  });

  it.each(NAMES)('%s builds from its example (or bare) and the function runs', (name) => {
    const def = TRANSFORMS.get(name)!;
    const fn = def.create(def.args === undefined ? undefined : def.example, ENV);
    expect(typeof fn).toBe('function');
  });

  it('builds bare exactly the transforms that take no arguments or optional ones', () => {
    const bare = NAMES.filter((name) => {
      try {
        TRANSFORMS.get(name)!.create(undefined, ENV);
        return true;
      } catch {
        return false;
      }
    });
    const expected = NAMES.filter((n) => TRANSFORMS.get(n)!.args === undefined || TRANSFORMS.get(n)!.argsOptional === true);
    expect(bare).toEqual(expected);
  });
});

describe('renderTransformReference', () => {
  const text = renderTransformReference();

  it('is pure', () => {
    expect(renderTransformReference()).toBe(text);
  });

  it('has a summary row and a section for every transform', () => {
    for (const name of NAMES) {
      expect(text).toContain(`\n| \`${name}\` | `);
      expect(text).toContain(`\n#### \`${name}\`\n`);
    }
    for (const g of TRANSFORM_GROUPS) expect(text).toContain(`\n### ${g.title}\n`);
  });

  it('renders a transform without arguments', () => {
    expect(text).toContain(
      [
        '#### `trim`',
        '',
        'Removes leading and trailing whitespace, including non-breaking and other Unicode spaces.',
        '',
        'No arguments: write it as a bare name, `trim`.',
        '',
        '```yaml',
        'transform: [ trim ]',
        '```',
      ].join('\n'),
    );
  });

  it('renders a shorthand, an argument table with defaults, and the example', () => {
    expect(text).toContain(
      [
        'Argument: integer ≥ 1 (length, padding with spaces on the right); or an object:',
        '',
        '| argument | type | default | meaning |',
        '|---|---|---|---|',
        '| `length` | integer ≥ 1 | required | width of the result in characters |',
        '| `char` | text | `" "` | the padding character |',
        '| `side` | `left` or `right` | `right` | where the padding goes (`left` right-aligns the text) |',
        '| `truncate` | true or false | `false` | cut a longer value to `length` instead of failing |',
        '',
        '```yaml',
        'transform: [ { pad: { length: 6, char: "0", side: left } } ]',
        '```',
      ].join('\n'),
    );
  });

  it('says when arguments are optional', () => {
    expect(text).toContain('The arguments are optional: a bare `date` uses the defaults.');
    expect(text).not.toContain('a bare `pad`');
  });

  it('escapes pipes in table cells', () => {
    expect(text).not.toMatch(/\| [^|\n]*[^\\]\|[^ \n]/);
  });
});
