/**
 * Regular-expression transforms. Patterns are JavaScript regular expressions,
 * compiled once when the mapping is loaded; a bad pattern is an argument error.
 */
import { Args, compileRegex } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, quote } from './values.js';

const FLAGS = { type: 'string', pattern: '^[gimsu]*$', default: '', description: 'regular expression flags: i (ignore case), m, s, u' };

function regexFlags(a: Args, extra: string): string {
  const given = a.string('flags', '').replace(/g/g, '');
  if (!/^[imsu]*$/.test(given)) a.fail('flags', `must be letters among i, m, s, u (got "${given}")`);
  return [...new Set(given + extra)].join('');
}

/** `replace`: replaces every match of a regex `pattern` (with `$1` references) or every occurrence of a literal `find`. */
export const replace: TransformDef = {
  name: 'replace',
  doc: 'Replaces every match of the regular expression `pattern` (the replacement may use `$1`, `$<name>`), or every occurrence of the literal text `find`, by `with`.',
  args: {
    oneOf: [
      {
        type: 'object',
        properties: {
          pattern: { type: 'string', minLength: 1, description: 'JavaScript regular expression' },
          with: { type: 'string', default: '', description: 'replacement; `$1`, `$<name>` and `$&` refer to the match' },
          flags: FLAGS,
        },
        required: ['pattern'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: {
          find: { type: 'string', minLength: 1, description: 'literal text to find' },
          with: { type: 'string', default: '', description: 'literal replacement' },
        },
        required: ['find'],
        additionalProperties: false,
      },
    ],
  },
  example: { pattern: '[^A-Za-z0-9 ]', with: '' },
  create(args) {
    const a = Args.of(args, ['pattern', 'find', 'with', 'flags']);
    const by = a.string('with', '');
    if (a.has('find')) {
      if (a.has('pattern') || a.has('flags')) a.fail('find', 'cannot be combined with "pattern" or "flags"');
      const find = a.string('find');
      if (find === '') a.fail('find', 'must not be empty');
      return (v) => asText(v, 'replace').split(find).join(by);
    }
    const re = compileRegex(a, 'pattern', regexFlags(a, 'g'));
    return (v) => asText(v, 'replace').replace(re, by);
  },
};

function groupCount(re: RegExp): { count: number; names: string[] } {
  const m = new RegExp(`(?:${re.source})|`, re.flags).exec('');
  return { count: (m?.length ?? 1) - 1, names: Object.keys(m?.groups ?? {}) };
}

/**
 * `extract`: the text of capture `group` (default 1, or the whole match when
 * the pattern has no groups) of the first match of `pattern`. No match fails
 * with rule `regex`, or gives an absent value when `optional: true`.
 */
export const extract: TransformDef = {
  name: 'extract',
  doc: 'Keeps the part of the text captured by `group` (default: the first group, or the whole match if the pattern has none); no match fails with rule `regex` unless `optional: true`, which gives an absent value.',
  args: {
    oneOf: [
      { type: 'string', minLength: 1, description: 'the pattern' },
      {
        type: 'object',
        properties: {
          pattern: { type: 'string', minLength: 1, description: 'JavaScript regular expression' },
          group: {
            oneOf: [{ type: 'integer', minimum: 0 }, { type: 'string', minLength: 1 }],
            description: 'capture group number (0 is the whole match) or name',
          },
          flags: FLAGS,
          optional: { type: 'boolean', default: false, description: 'no match gives an absent value instead of failing' },
        },
        required: ['pattern'],
        additionalProperties: false,
      },
    ],
  },
  example: { pattern: '^(\\d{4})', group: 1 },
  create(args) {
    const a = Args.of(args, ['pattern', 'group', 'flags', 'optional'], 'pattern');
    const re = compileRegex(a, 'pattern', regexFlags(a, ''));
    const { count, names } = groupCount(re);
    const g = a.raw('group');
    let group: number | string = count > 0 ? 1 : 0;
    if (typeof g === 'string') {
      if (!names.includes(g)) a.fail('group', `names no group of the pattern (it has: ${names.join(', ') || 'none'})`);
      group = g;
    } else if (g !== undefined) {
      group = a.int('group', { min: 0, max: count });
    }
    const optional = a.bool('optional', false);
    const shown = `/${re.source}/${re.flags}`;
    return (v) => {
      const s = asText(v, 'extract');
      const m = re.exec(s);
      const got = m === null ? undefined : typeof group === 'number' ? m[group] : m.groups?.[group];
      if (got !== undefined) return got;
      if (optional) return undefined;
      throw new TransformFailure('regex', `${quote(s)} does not match the pattern ${shown}`);
    };
  },
};

/** The regular-expression transforms, in reference order. */
export const PATTERN_TRANSFORMS: readonly TransformDef[] = [replace, extract];
