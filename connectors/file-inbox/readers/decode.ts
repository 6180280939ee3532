/**
 * Bytes to text for the readers: streaming, so a multi-byte character split
 * across chunks is decoded once whole, and nothing but the current chunk is
 * held.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import type { ReadEncoding } from './read-options.js';

/** What the readers accept: any async iterable of bytes (a Node readable stream is one). Strings are taken as already decoded. */
export type ByteSource = AsyncIterable<Buffer | Uint8Array | string> | NodeJS.ReadableStream;

const BOMS: ReadonlyArray<[number[], string]> = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0xff, 0xfe], 'utf-16le'],
  [[0xfe, 0xff], 'utf-16be'],
];

/**
 * The encoding a byte order mark at the start of `head` announces, or
 * undefined. A UTF-8 or UTF-16 BOM overrides the configured encoding, since a
 * windows-1252 or latin1 file cannot start with one.
 */
export function encodingFromBom(head: Uint8Array): string | undefined {
  for (const [bom, name] of BOMS) {
    if (head.length >= bom.length && bom.every((b, i) => head[i] === b)) return name;
  }
  return undefined;
}

const XML_HEAD_BYTES = 256;

/**
 * The encoding an XML declaration at the start of `head` names, when
 * iconv-lite knows it (e.g. `windows-1252`, `ISO-8859-1`), else undefined.
 */
export function encodingFromXmlDeclaration(head: Buffer): string | undefined {
  const m = /^<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head.toString('latin1'));
  return m && iconv.encodingExists(m[1] as string) ? m[1] : undefined;
}

function toBuffer(chunk: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * What bytes that are not valid UTF-8 become in text decoded from UTF-8: a
 * lone surrogate, which no valid UTF-8 decodes to. (U+FFFD cannot serve:
 * valid UTF-8 may hold it, as EF BF BD.) Other encodings mark such bytes
 * with U+FFFD, which none of them can encode.
 */
export const UNDECODABLE_MARK = '\uDCFD';

const REPLACEMENT_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);

/**
 * Decodes bytes that hold some invalid UTF-8 (complete sequences only),
 * each invalid sequence becoming {@link UNDECODABLE_MARK} and each valid
 * U+FFFD (EF BF BD) staying itself. EF can never continue a sequence, so
 * cutting the bytes at each EF BF BD decodes every other byte as decoding
 * them whole would.
 */
export function decodeMarkingInvalid(bytes: Buffer): string {
  let out = '';
  let from = 0;
  for (let at = bytes.indexOf(REPLACEMENT_BYTES, from); at >= 0; at = bytes.indexOf(REPLACEMENT_BYTES, from)) {
    out += bytes.toString('utf8', from, at).replaceAll('\uFFFD', UNDECODABLE_MARK) + '\uFFFD';
    from = at + 3;
  }
  return out + bytes.toString('utf8', from).replaceAll('\uFFFD', UNDECODABLE_MARK);
}

/** How many leading bytes of `bytes` end on a whole UTF-8 character: the rest (at most 3) start a character the next chunk completes. */
function wholeLength(bytes: Buffer): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue;
    if (b < 0xc0) return n;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return n - i < need ? i : n;
  }
  return n;
}

/**
 * A streaming UTF-8 decoder that refuses nothing and tells invalid bytes
 * from a valid U+FFFD: each whole run of chunks is checked with `isUtf8`
 * and, when valid (the usual case), decoded at once; otherwise decoded by
 * {@link decodeMarkingInvalid}. `invalid` is set once it has met invalid bytes.
 */
class Utf8Stream {
  private carry: Buffer | undefined;
  invalid = false;

  write(chunk: Buffer): string {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = wholeLength(bytes);
    this.carry = whole < bytes.length ? Buffer.from(bytes.subarray(whole)) : undefined;
    return this.decode(whole < bytes.length ? bytes.subarray(0, whole) : bytes);
  }

  end(): string {
    const rest = this.carry;
    this.carry = undefined;
    return rest ? this.decode(rest) : '';
  }

  private decode(bytes: Buffer): string {
    if (isUtf8(bytes)) return bytes.toString('utf8');
    this.invalid = true;
    return decodeMarkingInvalid(bytes);
  }
}

/** One decoder: iconv-lite's, or {@link Utf8Stream} for UTF-8. */
interface TextStream {
  write(chunk: Buffer): string;
  end(): string | undefined;
}

function isUtf8Name(encoding: string): boolean {
  return encoding.toLowerCase().replace('-', '') === 'utf8';
}

/**
 * Decodes `input` chunk by chunk and yields the text, with any BOM
 * stripped. The encoding is, first to apply: a byte order mark; `encoding`;
 * with `xmlDeclaration`, the XML declaration's `encoding`; UTF-8. Line
 * endings are left as they are (readers accept CRLF and LF). Errors of the
 * underlying stream are thrown. Bytes the encoding cannot decode never stop
 * decoding: in UTF-8 they become {@link UNDECODABLE_MARK} (a valid U+FFFD
 * stays itself), in other encodings (iconv-lite) U+FFFD; and
 * `opts.onUndecodable` is called once, with that mark, when the first are
 * met (see `undecodable`). Stopping the iteration early stops (and for a
 * Node stream, destroys) the input.
 */
export async function* decodeText(
  input: ByteSource,
  encoding: ReadEncoding | undefined,
  opts: { xmlDeclaration?: boolean; onUndecodable?: (mark: string) => void } = {},
): AsyncGenerator<string, void, undefined> {
  let decoder: TextStream | undefined;
  let utf8: Utf8Stream | undefined;
  let told = false;
  const tell = (text: string): string => {
    if (told || !opts.onUndecodable || !decoder) return text;
    if (utf8 ? utf8.invalid : text.includes('\uFFFD')) {
      told = true;
      opts.onUndecodable(utf8 ? UNDECODABLE_MARK : '\uFFFD');
    }
    return text;
  };
  let head: Buffer[] = [];
  let headLength = 0;
  let first = true;
  const headWanted = opts.xmlDeclaration && encoding === undefined ? XML_HEAD_BYTES : 3;
  const start = (bytes: Buffer): string => {
    const declared = headWanted > 3 ? encodingFromXmlDeclaration(bytes) : undefined;
    const chosen = encodingFromBom(bytes) ?? encoding ?? declared ?? 'utf-8';
    if (isUtf8Name(chosen)) {
      decoder = utf8 = new Utf8Stream();
      return utf8.write(encodingFromBom(bytes) === 'utf-8' ? bytes.subarray(3) : bytes);
    }
    decoder = iconv.getDecoder(chosen, { stripBOM: true });
    return decoder.write(bytes);
  };
  for await (const chunk of input as AsyncIterable<Buffer | Uint8Array | string>) {
    if (typeof chunk === 'string') {
      const text = first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
      first = false;
      if (text) yield text;
      continue;
    }
    first = false;
    if (decoder) {
      const text = tell(decoder.write(toBuffer(chunk)));
      if (text) yield text;
      continue;
    }
    head.push(toBuffer(chunk));
    headLength += chunk.byteLength;
    if (headLength < headWanted) continue;
    const text = tell(start(Buffer.concat(head)));
    head = [];
    if (text) yield text;
  }
  if (!decoder && headLength > 0) {
    const text = tell(start(Buffer.concat(head)));
    if (text) yield text;
  }
  const rest = decoder ? tell(decoder.end() ?? '') : '';
  if (rest) yield rest;
}

/**
 * The path (`a.b[2]`, or `(record)` for a bare string) of the first text in
 * a decoded record that holds `mark` (see {@link decodeText}: the mark of
 * bytes its encoding could not decode), or undefined when there is none.
 */
export function undecodable(value: unknown, mark: string, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes(mark) ? path || '(record)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = undecodable(value[i], mark, `${path}[${i}]`);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      const hit = undecodable(k, mark, at) ?? undecodable(v, mark, at);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}
