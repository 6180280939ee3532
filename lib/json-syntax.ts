/**
 * Where JSON text goes wrong, found without recursion and without quoting
 * any of it: a refusal that names only a fixed reason and a position can be
 * logged and answered without carrying a citizen's value (V8's own
 * `JSON.parse` messages quote the text around the fault, and some give no
 * position at all). Also where bytes stop being UTF-8. Pure.
 */

/** Where and why JSON text is not JSON; `index` counts UTF-16 units of the text. */
export interface JsonFault {
  index: number;
  /** A fixed phrase; never any of the text. */
  reason: string;
}

/** A place in a body: 1-based line and column (column in characters), 0-based byte offset in UTF-8. */
export interface TextPosition {
  line: number;
  column: number;
  byteOffset: number;
}

const SP = 32, TAB = 9, LF = 10, CR = 13, QUOTE = 34, BSL = 92, COMMA = 44, COLON = 58, MINUS = 45, PLUS = 43, DOT = 46;
const LBRACE = 123, RBRACE = 125, LBRACK = 91, RBRACK = 93, ZERO = 48, NINE = 57;
const ESCAPES = new Set([QUOTE, BSL, 47, 98, 102, 110, 114, 116]);
const U = 117;
const LITERALS: Record<number, string> = { 116: 'true', 102: 'false', 110: 'null' };

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isHex = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * The first fault of `text` as JSON (RFC 8259, as `JSON.parse` reads it),
 * or undefined if it is JSON. The index is where `JSON.parse` reports the
 * fault when it reports one (the text's length when the text ends too soon).
 */
export function jsonFault(text: string): JsonFault | undefined {
  const n = text.length;
  const stack: number[] = [];
  let i = 0;
  const ws = () => {
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== SP && c !== TAB && c !== LF && c !== CR) break;
    }
  };
  const fault = (reason: string): JsonFault => (i >= n ? { index: n, reason: 'the text ends too soon' } : { index: i, reason });
  /** Scans a string from its opening quote; leaves `i` after the closing one. */
  const string = (): JsonFault | undefined => {
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return undefined;
      }
      if (c < SP) return fault('a control character in a string');
      if (c !== BSL) continue;
      i++;
      const e = text.charCodeAt(i);
      if (i >= n) break;
      if (e === U) {
        for (let k = 0; k < 4; k++) {
          i++;
          if (i >= n || !isHex(text.charCodeAt(i))) return fault('a bad \\u escape');
        }
      } else if (!ESCAPES.has(e)) return fault('a bad escape');
    }
    return fault('the text ends too soon');
  };
  const digits = (what: string): JsonFault | undefined => {
    if (!isDigit(text.charCodeAt(i))) return fault(what);
    while (isDigit(text.charCodeAt(i))) i++;
    return undefined;
  };
  /** Scans one scalar, or opens a container; leaves `i` after what it read. */
  const value = (): JsonFault | 'opened' | undefined => {
    ws();
    const c = text.charCodeAt(i);
    if (c === LBRACE || c === LBRACK) {
      stack.push(c);
      i++;
      return 'opened';
    }
    if (c === QUOTE) return string();
    if (c === MINUS || isDigit(c)) {
      if (c === MINUS) i++;
      if (text.charCodeAt(i) === ZERO) i++;
      else {
        const bad = digits('no digit after a minus sign');
        if (bad) return bad;
      }
      if (text.charCodeAt(i) === DOT) {
        i++;
        const bad = digits('no digit after a decimal point');
        if (bad) return bad;
      }
      const e = text.charCodeAt(i);
      if (e === 69 || e === 101) {
        i++;
        const s = text.charCodeAt(i);
        if (s === PLUS || s === MINUS) i++;
        const bad = digits('no digit in an exponent');
        if (bad) return bad;
      }
      return undefined;
    }
    const word = LITERALS[c];
    if (word !== undefined) {
      for (let k = 0; k < word.length; k++, i++) if (text.charCodeAt(i) !== word.charCodeAt(k)) return fault('an unexpected character');
      return undefined;
    }
    return fault('an unexpected character');
  };
  /** After `{` or `,` in an object: a key and its colon. */
  const key = (): JsonFault | undefined => {
    ws();
    if (text.charCodeAt(i) !== QUOTE) return fault('an unexpected character where a property name belongs');
    const bad = string();
    if (bad) return bad;
    ws();
    if (text.charCodeAt(i) !== COLON) return fault("no ':' after a property name");
    i++;
    return undefined;
  };

  let next: 'value' | 'after' = 'value';
  for (;;) {
    if (next === 'value') {
      const r = value();
      if (r === 'opened') {
        ws();
        const top = stack[stack.length - 1]!;
        const close = top === LBRACE ? RBRACE : RBRACK;
        if (text.charCodeAt(i) === close) {
          stack.pop();
          i++;
          next = 'after';
        } else if (top === LBRACE) {
          const bad = key();
          if (bad) return bad;
        }
        continue;
      }
      if (r) return r;
      next = 'after';
      continue;
    }
    ws();
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? { index: i, reason: 'more after the JSON value' } : undefined;
    const c = text.charCodeAt(i);
    if (c === COMMA) {
      i++;
      if (top === LBRACE) {
        const bad = key();
        if (bad) return bad;
      }
      next = 'value';
    } else if (c === (top === LBRACE ? RBRACE : RBRACK)) {
      stack.pop();
      i++;
    } else {
      return fault(top === LBRACE ? "no ',' or '}' after a property value" : "no ',' or ']' after an array element");
    }
  }
}

/** Line, column (in characters) and UTF-8 byte offset of UTF-16 index `index` of `text`. */
export function positionOf(text: string, index: number): TextPosition {
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 1;
  for (let k = before.indexOf('\n'); k !== -1; k = before.indexOf('\n', k + 1)) line++;
  return { line, column: [...before.slice(lineStart)].length + 1, byteOffset: Buffer.byteLength(before, 'utf8') };
}

/**
 * The offset of the first byte of `bytes` that does not belong to well-formed
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF
 * included), or undefined if all of it is UTF-8.
 */
export function utf8Fault(bytes: Uint8Array): number | undefined {
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return undefined;
}
