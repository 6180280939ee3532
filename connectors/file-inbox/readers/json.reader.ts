/**
 * JSON input: one submission object, or an array of them, read as a stream.
 * A small splitter tracks strings, escapes and bracket depth to find where
 * each top-level element starts and ends; only that element's text is held
 * and handed to `JSON.parse`. No streaming JSON library is used.
 */
import type { ReadItem } from '../../connector.types.js';
import { ReaderCodes, failure, success } from './reader.errors.js';
import { RecordBuffer, positionIn, tooDeepMessage, tooLargeMessage } from './record-buffer.js';
import type { ResolvedOptions } from './read-options.js';

const LF = 10, CR = 13, SP = 32, TAB = 9, QUOTE = 34, BSL = 92, COMMA = 44, COLON = 58;
const LBRACE = 123, RBRACE = 125, LBRACK = 91, RBRACK = 93;
const MAX_FRAMES = 4096;
const MAX_KEY_CHARS = 4096;

interface Frame {
  open: number;
  key: string | undefined;
  expectKey: boolean;
  expectValue: boolean;
  onPath: boolean;
  target: boolean;
}

/**
 * Turns a `JSON.parse` error into a message without any of the input text
 * (V8 quotes the source, which may be personal data), locating V8's
 * `position` as a line and column of the file when given.
 */
export function describeJsonError(err: unknown, text: string, line: number, col: number): string {
  let reason = err instanceof Error ? err.message : String(err);
  const at = /\s+(?:in JSON\s+)?at position (\d+)(?:\s+\(line \d+ column \d+\))?/.exec(reason);
  reason = at ? reason.slice(0, at.index) + reason.slice(at.index + at[0].length) : reason;
  if (/ is not valid JSON$/.test(reason)) {
    const snippet = reason.search(/, (\.\.\.)?"/);
    reason = snippet >= 0 ? reason.slice(0, snippet) : '';
  }
  reason = reason.trim() || 'unexpected content';
  if (!at) return `not valid JSON: ${reason}`;
  const p = positionIn(text, Number(at[1]), line, col);
  return `not valid JSON: ${reason} at line ${p.line}, column ${p.col}`;
}

/** The streaming splitter; feed it decoded chunks, collect `out` after each. */
class JsonSplitter {
  readonly out: ReadItem[] = [];
  private line = 1;
  private col = 0;
  private tokenLine = 1;
  private stack: Frame[] = [];
  private extraDepth = 0;
  private inString = false;
  private stringIsKey = false;
  private escaped = false;
  private keyRaw: string | null = null;
  private rootStarted = false;
  private rootDone = false;
  private stopped = false;
  private found = false;
  private pendingOnPath = false;
  private pendingTarget = false;
  private capturing: 'none' | 'element' | 'single' = 'none';
  private capStart = 0;
  private capDepth = 0;
  private capLine = 0;
  private capCol = 0;
  private capMaxDepth = 0;
  private record = 0;
  private commaPending = false;
  private readonly buf: RecordBuffer;
  private readonly path: string[];

  constructor(private readonly o: ResolvedOptions) {
    this.buf = new RecordBuffer(o.maxRecordBytes);
    this.path = o.json.recordsPath;
  }

  push(chunk: string): void {
    if (this.stopped) return;
    const n = chunk.length;
    for (let i = 0; i < n && !this.stopped; i++) {
      const c = chunk.charCodeAt(i);
      this.col++;
      if (this.inString) {
        this.stringChar(c, chunk, i);
        continue;
      }
      if (c === SP || c === TAB || c === CR) continue;
      if (c === LF) {
        this.newline();
        continue;
      }
      this.tokenLine = this.line;
      if (this.rootDone) {
        this.fileError(`unexpected content after the end of the JSON at line ${this.line}, column ${this.col}`);
        return;
      }
      if (c === QUOTE) {
        const top = this.stack[this.stack.length - 1];
        this.inString = true;
        this.stringIsKey = top !== undefined && top.open === LBRACE && top.expectKey;
        if (this.stringIsKey && top) {
          top.expectKey = false;
          this.keyRaw = top.onPath && this.stack.length <= this.path.length ? '' : null;
        } else {
          this.valueStart(c, i);
        }
      } else if (c === LBRACE || c === LBRACK) {
        this.valueStart(c, i);
        this.open(c);
      } else if (c === RBRACE || c === RBRACK) {
        this.close(c, chunk, i);
      } else if (c === COMMA) {
        this.comma(chunk, i);
      } else if (c === COLON) {
        const top = this.stack[this.stack.length - 1];
        if (top && top.open === LBRACE) top.expectValue = true;
      } else {
        this.valueStart(c, i);
      }
    }
    if (this.capturing !== 'none') {
      this.buf.append(chunk.slice(this.capStart));
      this.capStart = 0;
    }
  }

  end(): void {
    if (this.stopped) return;
    const open = this.inString || this.stack.length > 0 || this.extraDepth > 0;
    if (this.capturing !== 'none' && open) {
      this.buf.take();
      this.out.push(failure(ReaderCodes.TRUNCATED, 'the file ends inside this record: the JSON is incomplete', this.o.file, this.record, this.capLine));
    } else if (this.capturing !== 'none') {
      this.finish(this.buf.overflowed ? null : this.buf.take());
    } else if (open) {
      this.out.push(failure(ReaderCodes.TRUNCATED, 'the file ends before the top-level JSON value is closed', this.o.file, this.record + 1, this.tokenLine));
    } else if (!this.rootStarted) {
      this.out.push(failure(ReaderCodes.TRUNCATED, 'the file holds no JSON value (it is empty)', this.o.file, 1, this.line));
    } else if (!this.found) {
      this.out.push(failure(ReaderCodes.MALFORMED_FILE, `no value at json.recordsPath "${this.path.join('.')}"`, this.o.file, 1, 1));
    }
  }

  private newline(): void {
    this.line++;
    this.col = 0;
  }

  private stringChar(c: number, chunk: string, i: number): void {
    if (this.escaped) {
      this.escaped = false;
      if (c === LF) this.newline();
    } else if (c === BSL) {
      this.escaped = true;
    } else if (c === QUOTE) {
      this.inString = false;
      if (this.stringIsKey) this.endKey();
      else if (this.capturing === 'single' && this.stack.length === this.capDepth) this.endCapture(chunk, i + 1);
      return;
    } else if (c === LF) {
      this.newline();
    }
    if (this.keyRaw !== null) {
      this.keyRaw = this.keyRaw.length < MAX_KEY_CHARS ? this.keyRaw + chunk[i] : this.keyRaw;
    }
  }

  private endKey(): void {
    const top = this.stack[this.stack.length - 1];
    if (top && this.keyRaw !== null) {
      try {
        top.key = this.keyRaw.length < MAX_KEY_CHARS ? (JSON.parse(`"${this.keyRaw}"`) as string) : undefined;
      } catch {
        top.key = undefined;
      }
    } else if (top) {
      top.key = undefined;
    }
    this.keyRaw = null;
  }

  private valueStart(c: number, i: number): void {
    const top = this.stack[this.stack.length - 1];
    let onPath: boolean;
    if (top === undefined) {
      if (this.rootStarted) return;
      this.rootStarted = true;
      onPath = true;
    } else {
      if (!top.expectValue) return;
      top.expectValue = false;
      if (top.target) {
        this.startCapture('element', i);
        return;
      }
      const depth = this.stack.length;
      onPath = top.onPath && top.open === LBRACE && depth <= this.path.length && top.key === this.path[depth - 1];
    }
    if (!onPath) return;
    if (this.stack.length === this.path.length) {
      this.found = true;
      if (c === LBRACK) this.pendingTarget = true;
      else this.startCapture('single', i);
    } else if (c === LBRACE) {
      this.pendingOnPath = true;
    }
  }

  private open(c: number): void {
    if (this.capturing !== 'none') this.capMaxDepth = Math.max(this.capMaxDepth, this.stack.length + this.extraDepth + 1 - this.capDepth);
    if (this.stack.length >= MAX_FRAMES) {
      this.extraDepth++;
      return;
    }
    this.stack.push({
      open: c,
      key: undefined,
      expectKey: c === LBRACE,
      expectValue: c === LBRACK,
      onPath: this.pendingOnPath || this.pendingTarget,
      target: this.pendingTarget,
    });
    this.pendingOnPath = false;
    this.pendingTarget = false;
  }

  private close(c: number, chunk: string, i: number): void {
    if (this.extraDepth > 0) {
      this.extraDepth--;
      return;
    }
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (this.capturing === 'single') return;
      this.fileError(`unexpected '${String.fromCharCode(c)}' at line ${this.line}, column ${this.col}`);
      return;
    }
    if (top.target) {
      if (c === RBRACE) {
        if (this.capturing === 'none') this.startCapture('element', i);
        return;
      }
      if (this.capturing === 'element') this.endCapture(chunk, i);
      else if (this.commaPending) this.emptyElement();
      this.commaPending = false;
      this.stack.pop();
      this.afterValue(chunk, i + 1);
      return;
    }
    const matches = (c === RBRACE) === (top.open === LBRACE);
    if (!matches && this.capturing === 'none') {
      this.fileError(`unexpected '${String.fromCharCode(c)}' at line ${this.line}, column ${this.col}`);
      return;
    }
    if (this.capturing === 'single' && this.stack.length === this.capDepth) this.endCapture(chunk, i);
    this.stack.pop();
    this.afterValue(chunk, i + 1);
  }

  private afterValue(chunk: string, end: number): void {
    if (this.capturing === 'single' && this.stack.length === this.capDepth) this.endCapture(chunk, end);
    if (this.stack.length === 0 && this.extraDepth === 0) this.rootDone = true;
  }

  private comma(chunk: string, i: number): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      if (this.capturing !== 'single') this.fileError(`unexpected ',' at line ${this.line}, column ${this.col}`);
      return;
    }
    if (top.target) {
      if (this.capturing === 'element') this.endCapture(chunk, i);
      else this.emptyElement();
      top.expectValue = true;
      this.commaPending = true;
      return;
    }
    if (this.capturing === 'single' && this.stack.length === this.capDepth) this.endCapture(chunk, i);
    if (top.open === LBRACE) top.expectKey = true;
    else top.expectValue = true;
  }

  private emptyElement(): void {
    this.out.push(
      failure(ReaderCodes.MALFORMED_FILE, `an empty array element (a stray comma) at line ${this.line}, column ${this.col}`, this.o.file, this.record + 1, this.line),
    );
  }

  private startCapture(kind: 'element' | 'single', i: number): void {
    this.capturing = kind;
    this.commaPending = false;
    this.capStart = i;
    this.capDepth = this.stack.length;
    this.capLine = this.line;
    this.capCol = this.col;
    this.capMaxDepth = 0;
    this.record++;
  }

  private endCapture(chunk: string, end: number): void {
    this.buf.append(chunk.slice(this.capStart, end));
    this.capStart = end;
    this.finish(this.buf.overflowed ? null : this.buf.take());
    if (this.stack.length === 0 && this.extraDepth === 0) this.rootDone = true;
  }

  private finish(text: string | null): void {
    this.capturing = 'none';
    const { file, maxRecordBytes } = this.o;
    if (text === null) {
      this.buf.take();
      this.out.push(failure(ReaderCodes.RECORD_TOO_LARGE, tooLargeMessage(maxRecordBytes), file, this.record, this.capLine));
      return;
    }
    if (this.capMaxDepth > this.o.json.maxDepth) {
      this.out.push(failure(ReaderCodes.TOO_DEEP, tooDeepMessage(this.o.json.maxDepth), file, this.record, this.capLine));
      return;
    }
    try {
      this.out.push(success(JSON.parse(text), file, this.record, this.capLine));
    } catch (err) {
      const message = describeJsonError(err, text, this.capLine, this.capCol);
      this.out.push(failure(ReaderCodes.MALFORMED_RECORD, message, file, this.record, this.capLine));
    }
  }

  private fileError(message: string): void {
    this.out.push(failure(ReaderCodes.MALFORMED_FILE, message, this.o.file, this.record + 1, this.line));
    this.stopped = true;
  }
}

/**
 * Reads JSON records from decoded text. Yields each element of the records
 * array (or the single top-level value) in order, with its 1-based number
 * and the line its first character is on. A malformed element is one
 * `INPUT_MALFORMED_RECORD` item and reading goes on with the next
 * (syntax errors that keep strings and brackets balanced, including raw
 * line breaks inside strings, are always recoverable; a string that never
 * closes is not); an element over `maxRecordBytes` is one
 * `INPUT_RECORD_TOO_LARGE` item, one nesting arrays and objects deeper than
 * `json.maxDepth` one `INPUT_TOO_DEEP` item (never parsed); a file that ends early gives a final
 * `INPUT_TRUNCATED` item; content after the top-level value, stray brackets
 * or commas outside records, and a missing `json.recordsPath` give
 * `INPUT_MALFORMED_FILE`. Never throws for content.
 */
export async function* readJson(text: AsyncIterable<string>, o: ResolvedOptions): AsyncGenerator<ReadItem, void, undefined> {
  const splitter = new JsonSplitter(o);
  for await (const chunk of text) {
    splitter.push(chunk);
    yield* splitter.out.splice(0);
  }
  splitter.end();
  yield* splitter.out.splice(0);
}
