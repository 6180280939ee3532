/**
 * Transforms between text and lists: `split`, `join`, `first`, `last`, `count`.
 * Values that are not lists pass through `join`, `first` and `last` unchanged.
 */
import { Args, compileRegex } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, kindOf } from './values.js';

function splitLiteral(s: string, sep: string, limit: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < limit - 1) {
    const i = s.indexOf(sep, start);
    if (i < 0) break;
    out.push(s.slice(start, i));
    start = i + sep.length;
  }
  out.push(s.slice(start));
  return out;
}

function splitRegex(s: string, re: RegExp, limit: number): string[] {
  const out: string[] = [];
  let start = 0;
  re.lastIndex = 0;
  while (out.length < limit - 1) {
    const m = re.exec(s);
    if (m === null) break;
    if (m[0] === '') {
      re.lastIndex++;
      if (re.lastIndex > s.length) break;
      continue;
    }
    out.push(s.slice(start, m.index));
    start = re.lastIndex;
  }
  out.push(s.slice(start));
  return out;
}

/**
 * `split`: splits text on a literal `separator` or a regex `pattern` into a
 * list (separators dropped). `limit` caps the number of parts, the last
 * holding the rest; `trim` trims each part; `skipEmpty` drops empty parts;
 * `index` returns one part (negative counts from the end; out of range gives
 * an absent value).
 */
export const split: TransformDef = {
  name: 'split',
  doc: 'Splits text into a list on a literal `separator` or a regular expression `pattern`; `index` picks one part (-1 is the last), `limit` caps the number of parts (the last keeps the rest).',
  args: {
    oneOf: [
      { type: 'string', minLength: 1, description: 'the literal separator' },
      {
        type: 'object',
        properties: {
          separator: { type: 'string', minLength: 1, description: 'literal separator' },
          pattern: { type: 'string', minLength: 1, description: 'regular expression separator (instead of `separator`)' },
          flags: { type: 'string', pattern: '^[imsu]*$', description: 'regular expression flags' },
          index: { type: 'integer', description: 'return only this part (0-based; negative counts from the end)' },
          limit: { type: 'integer', minimum: 1, description: 'at most this many parts; the last holds the rest of the text' },
          trim: { type: 'boolean', default: false, description: 'trim whitespace around each part' },
          skipEmpty: { type: 'boolean', default: false, description: 'drop empty parts (after trimming)' },
        },
        additionalProperties: false,
      },
    ],
  },
  example: { separator: ',', trim: true, index: 0 },
  create(args) {
    const a = Args.of(args, ['separator', 'pattern', 'flags', 'index', 'limit', 'trim', 'skipEmpty'], 'separator');
    if (!a.has('separator') && !a.has('pattern')) a.fail('separator', 'is required (or give "pattern")');
    if (a.has('separator') && a.has('pattern')) a.fail('pattern', 'cannot be combined with "separator"');
    if (a.has('flags') && !a.has('pattern')) a.fail('flags', 'only applies to "pattern"');
    const limit = a.has('limit') ? a.int('limit', { min: 1 }) : Infinity;
    const index = a.has('index') ? a.int('index') : undefined;
    const trimParts = a.bool('trim', false);
    const skipEmpty = a.bool('skipEmpty', false);
    let cut: (s: string) => string[];
    if (a.has('separator')) {
      const sep = a.string('separator');
      if (sep === '') a.fail('separator', 'must not be empty');
      cut = (s) => splitLiteral(s, sep, limit);
    } else {
      const flags = a.string('flags', '');
      if (!/^[imsu]*$/.test(flags)) a.fail('flags', `must be letters among i, m, s, u (got "${flags}")`);
      const re = compileRegex(a, 'pattern', flags + 'g');
      cut = (s) => splitRegex(s, re, limit);
    }
    return (v) => {
      let parts = cut(asText(v, 'split'));
      if (trimParts) parts = parts.map((p) => p.trim());
      if (skipEmpty) parts = parts.filter((p) => p !== '');
      if (index === undefined) return parts;
      return parts[index < 0 ? parts.length + index : index];
    };
  },
};

/**
 * `join`: joins a list into text with `separator`. Numbers and booleans are
 * stringified; absent items are skipped unless `skipEmpty: false`; an object
 * or nested list fails with rule `join`. A value that is not a list passes
 * through unchanged.
 */
export const join: TransformDef = {
  name: 'join',
  doc: 'Joins a list into text with `separator`, skipping absent items (unless `skipEmpty: false`); a value that is not a list passes through.',
  args: {
    oneOf: [
      { type: 'string', description: 'the separator' },
      {
        type: 'object',
        properties: {
          separator: { type: 'string', description: 'text put between items' },
          skipEmpty: { type: 'boolean', default: true, description: 'leave out null, missing and empty items' },
        },
        required: ['separator'],
        additionalProperties: false,
      },
    ],
  },
  example: ', ',
  create(args) {
    const a = Args.of(args, ['separator', 'skipEmpty'], 'separator');
    const sep = a.string('separator');
    const skipEmpty = a.bool('skipEmpty', true);
    return (v) => {
      if (!Array.isArray(v)) return v;
      let out = '';
      let first = true;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        let text: string;
        if (item === undefined || item === null) text = '';
        else if (typeof item === 'object') {
          throw new TransformFailure('join', `expected a list of text but item ${i + 1} is ${kindOf(item)}`);
        } else text = asText(item, 'join');
        if (skipEmpty && text === '') continue;
        out = first ? text : out + sep + text;
        first = false;
      }
      return out;
    };
  },
};

/** `first`: the first item of a list; a value that is not a list passes through. */
export const first: TransformDef = {
  name: 'first',
  doc: 'Keeps the first item of a list; a value that is not a list passes through.',
  create: () => (v) => (Array.isArray(v) ? v[0] : v),
};

/** `last`: the last item of a list; a value that is not a list passes through. */
export const last: TransformDef = {
  name: 'last',
  doc: 'Keeps the last item of a list; a value that is not a list passes through.',
  create: () => (v) => (Array.isArray(v) ? v[v.length - 1] : v),
};

/** `count`: the number of items of a list; any other (present) value counts as 1. */
export const count: TransformDef = {
  name: 'count',
  doc: 'The number of items in a list (a single value counts as 1).',
  create: () => (v) => (Array.isArray(v) ? v.length : 1),
};

/** The list transforms, in reference order. */
export const LIST_TRANSFORMS: readonly TransformDef[] = [split, join, first, last, count];
