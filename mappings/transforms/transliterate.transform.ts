/**
 * `transliterate`: makes text storable in a legacy single-byte character set.
 * Characters the charset holds are kept (é, ñ, ü stay in latin1); others are
 * replaced by their closest ASCII (any-ascii: ŵ to w, ł to l, “ to ", – to -),
 * and each distinct replacement is reported through `ctx.note`.
 */
import anyAscii from 'any-ascii';
import iconv from 'iconv-lite';
import { Args } from './args.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { asText, quote } from './values.js';

type Charset = 'latin1' | 'ascii' | 'windows-1252';
const CHARSETS: readonly Charset[] = ['latin1', 'windows-1252', 'ascii'];
const REMOVABLE = /^[\p{M}\p{Cf}]$/u;
const EMOJI_NAME = /^:.+:$/;
const CACHE_LIMIT = 10_000;
const storableSets = new Map<Charset, ReadonlySet<number>>();

/** True when every UTF-16 unit of `s` is a character `charset` stores as itself (the common case, no work needed). */
function storedAsIs(s: string, charset: Charset): boolean {
  const max = charset === 'ascii' ? 0x7f : 0xff;
  const noC1 = charset === 'windows-1252';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > max || (noC1 && c >= 0x80 && c < 0xa0)) return false;
  }
  return true;
}

/** Code points `charset` can store, found by round-tripping every byte through iconv-lite. */
function storable(charset: Charset): ReadonlySet<number> {
  let set = storableSets.get(charset);
  if (set === undefined) {
    const points = new Set<number>();
    for (let b = 0; b < 256; b++) {
      const ch = iconv.decode(Buffer.from([b]), charset);
      const back = iconv.encode(ch, charset);
      const cp = ch.codePointAt(0) ?? 0xfffd;
      if (ch.length === 1 && cp !== 0xfffd && back.length === 1 && back[0] === b) points.add(cp);
    }
    set = points;
    storableSets.set(charset, set);
  }
  return set;
}

/** The ASCII stand-in for `ch`, `''` to drop it (combining marks, invisible format characters), or `undefined` when it has none. */
function asciiFor(ch: string): string | undefined {
  const r = anyAscii(ch);
  if (r === '') return REMOVABLE.test(ch) ? '' : undefined;
  return EMOJI_NAME.test(r) ? undefined : r;
}

/**
 * `transliterate`: keeps what `charset` (latin1 by default) can store and
 * replaces the rest by ASCII, noting each distinct replacement once per value
 * (`replaced "ŵ" with "w"`). A character with no equivalent fails with rule
 * `transliterate`, or becomes `replacement` with `onUnmappable: replace`.
 */
export const transliterate: TransformDef = {
  name: 'transliterate',
  doc: 'Makes text storable in `charset` (latin1, the default; windows-1252; ascii): characters it holds are kept (é stays in latin1), others become their closest ASCII (ŵ → w, ł → l, “ → ", – → -), each change noted; a character with no equivalent fails (rule `transliterate`) or, with `onUnmappable: replace`, becomes `replacement`.',
  args: {
    oneOf: [
      { enum: CHARSETS, description: 'the charset' },
      {
        type: 'object',
        properties: {
          charset: { enum: CHARSETS, default: 'latin1', description: 'character set the target stores' },
          onUnmappable: { enum: ['error', 'replace'], default: 'error', description: 'what to do with a character that has no equivalent (emoji, private use)' },
          replacement: { type: 'string', default: '?', description: 'text put in place of an unmappable character' },
        },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: { charset: 'ascii', onUnmappable: 'replace' },
  create(args) {
    const a = Args.of(args, ['charset', 'onUnmappable', 'replacement'], 'charset');
    const charset = a.choice('charset', CHARSETS, 'latin1');
    const replaceUnmappable = a.choice('onUnmappable', ['error', 'replace'] as const, 'error') === 'replace';
    const replacement = a.string('replacement', '?');
    const keep = storable(charset);
    if (![...replacement].every((c) => keep.has(c.codePointAt(0) ?? -1))) a.fail('replacement', `must be storable in ${charset}`);
    const cache = new Map<string, string | undefined>();
    const lookup = (ch: string): string | undefined => {
      if (cache.has(ch)) return cache.get(ch);
      const r = asciiFor(ch);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(ch, r);
      return r;
    };
    return (v, ctx) => {
      const s = asText(v, 'transliterate');
      if (storedAsIs(s, charset)) return s;
      const text = s.normalize('NFC');
      let out = '';
      let noted: Set<string> | undefined;
      for (const ch of text) {
        if (keep.has(ch.codePointAt(0) ?? -1)) {
          out += ch;
          continue;
        }
        let r = lookup(ch);
        if (r === undefined) {
          if (!replaceUnmappable) {
            throw new TransformFailure('transliterate', `${quote(s)} contains ${quote(ch)}, which cannot be written in ${charset}`);
          }
          r = replacement;
        }
        out += r;
        if (noted?.has(ch) !== true) {
          (noted ??= new Set()).add(ch);
          ctx.note('transliterate', r === '' ? `removed ${quote(ch)}` : `replaced ${quote(ch)} with ${quote(r)}`);
        }
      }
      return out;
    };
  },
};
