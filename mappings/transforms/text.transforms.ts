/**
 * Text transforms: whitespace, case, length. Each takes text (numbers are
 * stringified) and fails with its own name as rule on lists and objects.
 */
import { Args } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, codePointLength, quote, sliceCodePoints } from './values.js';

const ODD_WHITESPACE = /\s{2,}|[^\S ]/;
const WHITESPACE_RUNS = /\s+/g;

/** `trim`: removes leading and trailing whitespace (including NBSP and other Unicode spaces). */
export const trim: TransformDef = {
  name: 'trim',
  doc: 'Removes leading and trailing whitespace, including non-breaking and other Unicode spaces.',
  create: () => (v) => asText(v, 'trim').trim(),
};

/** `collapse`: every run of whitespace (tabs, newlines, NBSP, ...) becomes one space; the ends are trimmed. */
export const collapse: TransformDef = {
  name: 'collapse',
  doc: 'Turns every run of whitespace (spaces, tabs, newlines, non-breaking spaces) into one space and trims the ends.',
  create: () => (v) => {
    const s = asText(v, 'collapse');
    return ODD_WHITESPACE.test(s) ? s.replace(WHITESPACE_RUNS, ' ').trim() : s.trim();
  },
};

/** `upper`: Unicode upper case, locale-independent (`ß` becomes `SS`). */
export const upper: TransformDef = {
  name: 'upper',
  doc: 'Upper-cases the text (Unicode rules, so "ß" becomes "SS").',
  create: () => (v) => asText(v, 'upper').toUpperCase(),
};

/** `lower`: Unicode lower case, locale-independent. */
export const lower: TransformDef = {
  name: 'lower',
  doc: 'Lower-cases the text.',
  create: () => (v) => asText(v, 'lower').toLowerCase(),
};

/** `toString`: numbers and booleans become text; text is unchanged; lists and objects fail. */
export const toText: TransformDef = {
  name: 'toString',
  doc: 'Turns a number or boolean into text (12.5 becomes "12.5"); text is unchanged.',
  create: () => (v) => asText(v, 'toString'),
};

/** `truncate`: keeps the first `length` code points (a surrogate pair counts as one character). */
export const truncate: TransformDef = {
  name: 'truncate',
  doc: 'Cuts the text to at most `length` characters (Unicode code points, so an emoji or astral character counts once).',
  args: {
    oneOf: [
      { type: 'integer', minimum: 1, description: 'maximum number of characters' },
      {
        type: 'object',
        properties: { length: { type: 'integer', minimum: 1, description: 'maximum number of characters' } },
        required: ['length'],
        additionalProperties: false,
      },
    ],
  },
  example: 35,
  create(args) {
    const length = Args.of(args, ['length'], 'length').int('length', { min: 1 });
    return (v) => sliceCodePoints(asText(v, 'truncate'), length);
  },
};

/**
 * `pad`: pads to exactly `length` code points with `char` on `side`. A longer
 * value fails with rule `length` unless `truncate: true`.
 */
export const pad: TransformDef = {
  name: 'pad',
  doc: 'Pads the text to `length` characters with `char` on the `side` given; a longer value fails (rule `length`) unless `truncate: true`.',
  args: {
    oneOf: [
      { type: 'integer', minimum: 1, description: 'length, padding with spaces on the right' },
      {
        type: 'object',
        properties: {
          length: { type: 'integer', minimum: 1, description: 'width of the result in characters' },
          char: { type: 'string', minLength: 1, maxLength: 1, default: ' ', description: 'the padding character' },
          side: { enum: ['left', 'right'], default: 'right', description: 'where the padding goes (`left` right-aligns the text)' },
          truncate: { type: 'boolean', default: false, description: 'cut a longer value to `length` instead of failing' },
        },
        required: ['length'],
        additionalProperties: false,
      },
    ],
  },
  example: { length: 6, char: '0', side: 'left' },
  create(args) {
    const a = Args.of(args, ['length', 'char', 'side', 'truncate'], 'length');
    const length = a.int('length', { min: 1 });
    const char = a.string('char', ' ');
    if (codePointLength(char) !== 1) a.fail('char', 'must be exactly one character');
    const left = a.choice('side', ['left', 'right'] as const, 'right') === 'left';
    const cut = a.bool('truncate', false);
    return (v) => {
      const s = asText(v, 'pad');
      const n = codePointLength(s);
      if (n === length) return s;
      if (n > length) {
        if (cut) return sliceCodePoints(s, length);
        throw new TransformFailure('length', `${quote(s)} has ${n} characters, more than the ${length} allowed`);
      }
      const fill = char.repeat(length - n);
      return left ? fill + s : s + fill;
    };
  },
};

/** The text transforms, in reference order (`title` lives in its own file). */
export const TEXT_TRANSFORMS: readonly TransformDef[] = [trim, collapse, upper, lower, truncate, pad, toText];
