/**
 * Bytes to text for the readers: streaming, so a multi-byte character split
 * across chunks is decoded once whole, and nothing but the current chunk is
 * held.
 */
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
 * Decodes `input` chunk by chunk with iconv-lite's streaming decoder and
 * yields the text, with any BOM stripped. The encoding is, first to apply:
 * a byte order mark; `encoding`; with `xmlDeclaration`, the XML
 * declaration's `encoding`; UTF-8. Line endings are left as they are
 * (readers accept CRLF and LF). Errors of the underlying stream are thrown;
 * invalid byte sequences become U+FFFD, and `opts.onReplacement` is called
 * once the text yielded so far holds one (see `undecodable`). Stopping the iteration early stops
 * (and for a Node stream, destroys) the input.
 */
export async function* decodeText(
  input: ByteSource,
  encoding: ReadEncoding | undefined,
  opts: { xmlDeclaration?: boolean; onReplacement?: () => void } = {},
): AsyncGenerator<string, void, undefined> {
  for await (const text of decodeChunks(input, encoding, opts)) {
    if (opts.onReplacement && text.includes('\uFFFD')) {
      opts.onReplacement();
      opts = { ...opts, onReplacement: undefined };
    }
    yield text;
  }
}

async function* decodeChunks(input: ByteSource, encoding: ReadEncoding | undefined, opts: { xmlDeclaration?: boolean }): AsyncGenerator<string, void, undefined> {
  let decoder: iconv.DecoderStream | undefined;
  let head: Buffer[] = [];
  let headLength = 0;
  let first = true;
  const headWanted = opts.xmlDeclaration && encoding === undefined ? XML_HEAD_BYTES : 3;
  const start = (bytes: Buffer): string => {
    const declared = headWanted > 3 ? encodingFromXmlDeclaration(bytes) : undefined;
    decoder = iconv.getDecoder(encodingFromBom(bytes) ?? encoding ?? declared ?? 'utf-8', { stripBOM: true });
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
      const text = decoder.write(toBuffer(chunk));
      if (text) yield text;
      continue;
    }
    head.push(toBuffer(chunk));
    headLength += chunk.byteLength;
    if (headLength < headWanted) continue;
    const text = start(Buffer.concat(head));
    head = [];
    if (text) yield text;
  }
  if (!decoder && headLength > 0) {
    const text = start(Buffer.concat(head));
    if (text) yield text;
  }
  const rest = decoder?.end();
  if (rest) yield rest;
}

/**
 * The path (`a.b[2]`, or `(record)` for a bare string) of the first text in
 * a decoded record that holds U+FFFD, the mark of bytes its encoding could
 * not decode, or undefined when there is none.
 */
export function undecodable(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\uFFFD') ? path || '(record)' : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = undecodable(value[i], `${path}[${i}]`);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = undecodable(k, path ? `${path}.${k}` : k) ?? undecodable(v, path ? `${path}.${k}` : k);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}
