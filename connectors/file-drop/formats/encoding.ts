/**
 * Output encodings of dropped files, through iconv-lite. A character the
 * encoding cannot represent is found before encoding (iconv-lite would
 * write '?'), so that the record is refused with the field named.
 */
import iconv from 'iconv-lite';

/** Encodings a dropped file may be written in. `utf-8-bom` is UTF-8 with a byte order mark at the start of the file. */
export type OutputEncoding = 'utf-8' | 'utf-8-bom' | 'windows-1252' | 'latin1';

/** The encodings, for config schemas. */
export const OUTPUT_ENCODINGS: readonly OutputEncoding[] = ['utf-8', 'utf-8-bom', 'windows-1252', 'latin1'];

/** Line endings of text formats, for config schemas. */
export const LINE_ENDINGS = { crlf: '\r\n', lf: '\n', cr: '\r' } as const;

/** A line ending's name. */
export type LineEnding = keyof typeof LINE_ENDINGS;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function singleByteUnencodable(encoding: string): RegExp {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const chars = [...iconv.decode(all, encoding)].filter((c) => c !== '\uFFFD');
  const cls = chars.map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  return new RegExp(`[^${cls}]`, 'u');
}

const UNENCODABLE: Record<OutputEncoding, RegExp> = {
  'utf-8': LONE_SURROGATE,
  'utf-8-bom': LONE_SURROGATE,
  'windows-1252': singleByteUnencodable('windows-1252'),
  latin1: singleByteUnencodable('latin1'),
};

/**
 * The first character of `text` that `encoding` cannot represent, or
 * undefined when all can be. A lone UTF-16 surrogate is never encodable.
 */
export function firstUnencodable(text: string, encoding: OutputEncoding): string | undefined {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom' ? !/[\uD800-\uDFFF]/.test(text) : !/[\u0080-\uFFFF]/.test(text)) return undefined;
  const m = UNENCODABLE[encoding].exec(text);
  if (m !== null) return m[0];
  return encoding === 'utf-8' || encoding === 'utf-8-bom' ? undefined : LONE_SURROGATE.exec(text)?.[0];
}

/** How a character is named in an error: `"ł" (U+0142)`. */
export function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const shown = cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0xd800 && cp < 0xe000) ? '' : `"${c}" `;
  return `${shown}(U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

/** Encodes text already checked with {@link firstUnencodable}. The byte order mark is not added here (see {@link fileStartBytes}). */
export function encodeText(text: string, encoding: OutputEncoding): Buffer {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') return Buffer.from(text, 'utf8');
  if (encoding === 'latin1') return Buffer.from(text, 'latin1');
  return iconv.encode(text, encoding);
}

/** Bytes written before anything else in a file of this encoding: the UTF-8 byte order mark, or none. */
export function fileStartBytes(encoding: OutputEncoding): Buffer {
  return encoding === 'utf-8-bom' ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0);
}

/** The name the XML declaration gives the encoding. */
export function xmlEncodingName(encoding: OutputEncoding): string {
  return encoding === 'latin1' ? 'ISO-8859-1' : encoding === 'windows-1252' ? 'windows-1252' : 'UTF-8';
}

/**
 * Replaces every character `encoding` cannot represent with `replace(c)`
 * (XML writes them as character references). Lone surrogates are left for
 * the caller to refuse.
 */
export function replaceUnencodable(text: string, encoding: OutputEncoding, replace: (c: string) => string): string {
  if (encoding === 'utf-8' || encoding === 'utf-8-bom' || !/[\u0080-\uFFFF]/.test(text)) return text;
  const re = new RegExp(UNENCODABLE[encoding].source, 'gu');
  return text.replace(re, (c) => (c.length === 1 && c >= '\uD800' && c <= '\uDFFF' ? c : replace(c)));
}
