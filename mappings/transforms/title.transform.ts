/**
 * Name-aware title case. Every word, and every part of a hyphenated word, gets
 * an initial capital; a one-letter prefix before an apostrophe keeps the next
 * letter capital (O'Connor, D'Arcy); "Mc" names capitalise the letter after
 * it. Anything riskier ("Mac" names, lower-case particles) is opt-in.
 */
import { Args } from './args.js';
import type { TransformDef } from './transform.types.js';
import { asText } from './values.js';

const DEFAULT_PARTICLES = ['da', 'das', 'de', 'del', 'della', 'den', 'der', 'di', 'do', 'dos', 'du', 'la', 'le', 'ten', 'ter', 'van', 'von', 'zu'];
const WELSH_PARTICLES = ['ap', 'ab', 'ferch', 'verch'];
const WORDS = /(\s+)/;
const HYPHENS = /([-\u2010\u2011])/;
const APOSTROPHES = /(['\u2018\u2019\u02bc])/;
const SPECIAL = /[-\u2010\u2011'\u2018\u2019\u02bc]/;
const LETTER = /\p{L}/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

interface TitleOptions {
  mac: boolean;
  particles: ReadonlySet<string>;
}

function capitalise(part: string): string {
  const c = part.charCodeAt(0);
  if (c >= 97 && c <= 122) return String.fromCharCode(c - 32) + part.slice(1);
  const i = part.search(LETTER_OR_DIGIT);
  if (i < 0 || !LETTER.test(part[i] ?? '')) return part;
  const cp = part.codePointAt(i) ?? 0;
  const width = cp > 0xffff ? 2 : 1;
  return part.slice(0, i) + String.fromCodePoint(cp).toUpperCase() + part.slice(i + width);
}

function capitaliseName(part: string, mac: boolean): string {
  if (part.startsWith('mc') && part.length >= 4 && LETTER.test(part[2] ?? '')) {
    return 'Mc' + capitalise(part.slice(2));
  }
  if (mac && part.startsWith('mac') && part.length >= 6 && LETTER.test(part[3] ?? '')) {
    return 'Mac' + capitalise(part.slice(3));
  }
  return capitalise(part);
}

function titleSegment(segment: string, mac: boolean): string {
  const parts = segment.split(APOSTROPHES);
  let out = capitaliseName(parts[0] ?? '', mac);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const before = parts[i - 1] ?? '';
    const after = parts[i + 1] ?? '';
    const capital = before.length === 1 && LETTER.test(before) && after.length >= 2;
    out += (parts[i] ?? '') + (capital ? capitaliseName(after, mac) : after);
  }
  return out;
}

function titleWord(word: string, opts: TitleOptions): string {
  if (!SPECIAL.test(word)) return capitaliseName(word, opts.mac);
  return word
    .split(HYPHENS)
    .map((segment, i) => (i % 2 === 1 ? segment : titleSegment(segment, opts.mac)))
    .join('');
}

/** Title-cases `text` the way names are written; see the module comment for the rules. */
export function titleCase(text: string, opts: TitleOptions): string {
  const pieces = text.toLowerCase().split(WORDS);
  let wordIndex = 0;
  for (let i = 0; i < pieces.length; i += 2) {
    const word = pieces[i] ?? '';
    if (word === '') continue;
    pieces[i] = wordIndex > 0 && opts.particles.has(word) ? word : titleWord(word, opts);
    wordIndex++;
  }
  return pieces.join('');
}

/**
 * `title`: name-aware title case ("o'connor-mcdonald" becomes
 * "O'Connor-McDonald"). Options: `mac` (MacLeod), `particles` (van der, de la
 * stay lower-case after the first word; `true` or a list), `welsh` (ap, ab,
 * ferch stay lower-case after the first word).
 */
export const title: TransformDef = {
  name: 'title',
  doc: 'Title-cases names: "o\'connor-mcdonald" becomes "O\'Connor-McDonald"; `mac`, `particles` and `welsh` opt in to riskier rules.',
  args: {
    type: 'object',
    properties: {
      mac: { type: 'boolean', default: false, description: 'capitalise after "Mac" in words of six or more letters (MacLeod; but also "MacKie")' },
      particles: {
        oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
        default: false,
        description: `keep these words lower-case after the first word; \`true\` means ${DEFAULT_PARTICLES.join(', ')}`,
      },
      welsh: { type: 'boolean', default: false, description: 'keep ap, ab, ferch and verch lower-case after the first word' },
    },
    additionalProperties: false,
  },
  argsOptional: true,
  example: { particles: true, welsh: true },
  create(args) {
    const a = Args.of(args, ['mac', 'particles', 'welsh']);
    const particles = new Set<string>();
    const p = a.raw('particles');
    if (p === true) DEFAULT_PARTICLES.forEach((w) => particles.add(w));
    else if (Array.isArray(p)) a.stringList('particles').forEach((w) => particles.add(w.toLowerCase()));
    else if (p !== undefined && p !== false) a.fail('particles', 'must be true, false or a list of words');
    if (a.bool('welsh', false)) WELSH_PARTICLES.forEach((w) => particles.add(w));
    const opts: TitleOptions = { mac: a.bool('mac', false), particles };
    return (v) => titleCase(asText(v, 'title'), opts);
  },
};
