/**
 * Finds the repeating record elements in a stream of XML text without
 * building a tree: a small state machine over comments, CDATA sections,
 * processing instructions, DOCTYPE declarations and tags (quoted attribute
 * values may hold `>`), keeping only the stack of open element names and
 * the text of the record being read. Elements are matched by local name, so
 * `<gf:submission>` matches `submission`.
 */
import type { ReadItem } from '../../connector.types.js';
import { ReaderCodes, failure, type ReaderCode } from './reader.errors.js';
import { RecordBuffer, tooLargeMessage } from './record-buffer.js';
import type { ResolvedOptions } from './read-options.js';

/** One record element's full text (start tag to end tag), or why it cannot be parsed. */
export interface RawXmlRecord {
  record: number;
  line: number;
  /** Null when the record broke a limit; `problem` then says which. */
  text: string | null;
  problem?: { code: ReaderCode; message: string };
}

/** What the scanner produces: records to parse, and finished error items. */
export type XmlOut = { kind: 'record'; raw: RawXmlRecord } | { kind: 'item'; item: ReadItem };

const LF = 10, LT = 60, GT = 62, SLASH = 47, BANG = 33, QMARK = 63, DASH = 45, RSQB = 93, LSQB = 91, DQ = 34, SQ = 39;
const MAX_NAME = 1024;
const MAX_DOCTYPE = 64 * 1024;
const BANG_WORDS = ['--', '[CDATA[', 'DOCTYPE', 'ENTITY'];
const ENTITIES = 'the DOCTYPE declares entities (<!ENTITY ...>); entity declarations are refused so that nothing can expand them.';
const enum S { Text, Lt, Bang, BangOther, Comment, Cdata, Pi, Doctype, StartName, StartAttrs, EndName }

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** Streaming record finder: `push` chunks, take `out` after each, `end` once. Stops at the first file-level error. */
export class XmlScanner {
  readonly out: XmlOut[] = [];
  stopped = false;
  private state = S.Text;
  private line = 1;
  private name = '';
  private bang = '';
  private run = 0;
  private quote = 0;
  private lastNonSpace = 0;
  private doctype = '';
  private doctypeDepth = 0;
  private doctypeLine = 0;
  private names: string[] = [];
  private extra = 0;
  private matched = 0;
  private rootName: string | undefined;
  private capturing = false;
  private capStart = 0;
  private capDepth = 0;
  private recLine = 0;
  private record = 0;
  private problem: RawXmlRecord['problem'];
  private ltIndex = 0;
  private ltLine = 0;
  private tagCarry = '';
  private readonly buf: RecordBuffer;
  private readonly path: string[];
  private readonly maxDepth: number;

  constructor(private readonly o: ResolvedOptions) {
    this.buf = new RecordBuffer(o.xml.maxRecordBytes);
    this.path = o.xml.recordPath;
    this.maxDepth = o.xml.maxDepth;
  }

  /** Scans one chunk. */
  push(chunk: string): void {
    const n = chunk.length;
    for (let i = 0; i < n && !this.stopped; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF) this.line++;
      switch (this.state) {
        case S.Text:
          if (c === LT) {
            this.state = S.Lt;
            this.ltIndex = i;
            this.ltLine = this.line;
            this.tagCarry = '';
          }
          break;
        case S.Lt:
          this.afterLt(c, chunk, i);
          break;
        case S.Bang:
          this.bangChar(chunk[i] as string);
          break;
        case S.BangOther:
          if (c === GT) this.state = S.Text;
          break;
        case S.Comment:
        case S.Cdata:
          if (c === (this.state === S.Comment ? DASH : RSQB)) this.run++;
          else if (c === GT && this.run >= 2) this.state = S.Text;
          else this.run = 0;
          break;
        case S.Pi:
          if (c === GT && this.run === 1) this.state = S.Text;
          this.run = c === QMARK ? 1 : 0;
          break;
        case S.Doctype:
          this.doctypeChar(c, chunk[i] as string);
          break;
        case S.StartName:
          if (isSpace(c) || c === SLASH || c === GT) {
            this.startTag();
            if (this.stopped) break;
            if (c === GT) this.tagEnd(false, chunk, i);
            else {
              this.state = S.StartAttrs;
              this.quote = 0;
              this.lastNonSpace = c;
            }
          } else if (this.name.length < MAX_NAME) {
            this.name += chunk[i];
          }
          break;
        case S.StartAttrs:
          if (this.quote !== 0) {
            if (c === this.quote) {
              this.quote = 0;
              this.lastNonSpace = c;
            }
          } else if (c === DQ || c === SQ) {
            this.quote = c;
            this.lastNonSpace = c;
          } else if (c === GT) {
            this.tagEnd(this.lastNonSpace === SLASH, chunk, i);
          } else if (!isSpace(c)) {
            this.lastNonSpace = c;
          }
          break;
        case S.EndName:
          if (c === GT) this.endTag(this.name.trim(), chunk, i);
          else if (this.name.length < MAX_NAME) this.name += chunk[i];
          break;
      }
    }
    if (this.capturing) {
      this.buf.append(chunk.slice(this.capStart));
      this.capStart = 0;
    } else if (this.state === S.Lt || this.state === S.StartName) {
      this.tagCarry += chunk.slice(this.ltIndex);
      this.ltIndex = 0;
    }
  }

  /** Reports a file that ended early, was empty, or had no element at the record path's root. */
  end(): void {
    if (this.stopped) return;
    const depth = this.names.length + this.extra;
    const { file } = this.o;
    if (this.capturing) {
      this.buf.take();
      this.out.push({ kind: 'item', item: failure(ReaderCodes.TRUNCATED, 'the file ends inside this record: the XML is incomplete', file, this.record, this.recLine) });
    } else if (this.state !== S.Text || depth > 0) {
      const where = depth > 0 ? `before the root element <${this.rootName ?? ''}> is closed` : 'inside markup';
      this.out.push({ kind: 'item', item: failure(ReaderCodes.TRUNCATED, `the file ends ${where}: the XML is incomplete`, file, this.record + 1, this.line) });
    } else if (this.rootName === undefined) {
      this.out.push({ kind: 'item', item: failure(ReaderCodes.TRUNCATED, 'the file holds no XML element (it is empty)', file, 1, this.line) });
    } else if (this.rootName !== this.path[0]) {
      const message = `no records at xml.recordPath "${this.path.join('.')}": the root element is <${this.rootName}>`;
      this.out.push({ kind: 'item', item: failure(ReaderCodes.MALFORMED_FILE, message, file, 1, 1) });
    }
  }

  private fileError(code: ReaderCode, message: string, line = this.line): void {
    this.out.push({ kind: 'item', item: failure(code, message, this.o.file, this.capturing ? this.record : this.record + 1, line) });
    this.stopped = true;
  }

  private afterLt(c: number, chunk: string, i: number): void {
    if (c === BANG) {
      this.state = S.Bang;
      this.bang = '';
    } else if (c === QMARK) {
      this.state = S.Pi;
      this.run = 0;
    } else if (c === SLASH) {
      this.state = S.EndName;
      this.name = '';
    } else if (isSpace(c) || c === GT || c === LT || c === DQ || c === SQ) {
      if (this.capturing) this.state = c === LT ? S.Lt : S.Text;
      else this.fileError(ReaderCodes.MALFORMED_FILE, `'<' is not followed by a name at line ${this.line}`);
    } else {
      this.state = S.StartName;
      this.name = chunk[i] as string;
    }
  }

  private bangChar(ch: string): void {
    this.bang += ch;
    const word = BANG_WORDS.find((w) => w.startsWith(this.bang));
    if (word === undefined) this.state = S.BangOther;
    else if (word !== this.bang) return;
    else if (word === '--') this.state = S.Comment;
    else if (word === '[CDATA[') this.state = S.Cdata;
    else if (word === 'ENTITY') this.forbid(this.line, ENTITIES);
    else {
      this.state = S.Doctype;
      this.doctype = '';
      this.doctypeDepth = 0;
      this.doctypeLine = this.ltLine;
      this.quote = 0;
    }
    this.run = 0;
  }

  private doctypeChar(c: number, ch: string): void {
    if (this.doctype.length < MAX_DOCTYPE) this.doctype += ch;
    if (this.quote !== 0) {
      if (c === this.quote) this.quote = 0;
    } else if (c === DQ || c === SQ) {
      this.quote = c;
    } else if (c === LSQB) {
      this.doctypeDepth++;
    } else if (c === RSQB) {
      this.doctypeDepth--;
    } else if (c === GT && this.doctypeDepth <= 0) {
      this.state = S.Text;
      if (this.doctype.includes('<!ENTITY')) this.forbid(this.doctypeLine, ENTITIES);
      else if (this.doctype.length >= MAX_DOCTYPE) this.forbid(this.doctypeLine, 'the DOCTYPE is larger than 64 KiB; it is refused unread.');
    }
  }

  private forbid(line: number, why: string): void {
    this.fileError(ReaderCodes.XML_FORBIDDEN, `${why} Export the file without a DOCTYPE.`, line);
  }

  private startTag(): void {
    const name = this.name;
    const local = localName(name);
    const depth = this.names.length + this.extra;
    if (this.rootName === undefined) this.rootName = local;
    else if (depth === 0) return this.fileError(ReaderCodes.MALFORMED_FILE, `a second root element <${name}> at line ${this.ltLine}`);
    if (depth + 1 > this.maxDepth) {
      const message = `elements nest deeper than ${this.maxDepth} levels (xml.maxDepth)`;
      this.extra++;
      if (!this.capturing) return this.fileError(ReaderCodes.TOO_DEEP, `${message} at line ${this.ltLine}`);
      this.problem ??= { code: ReaderCodes.TOO_DEEP, message };
      return;
    }
    const onPath = this.matched === depth && local === this.path[depth];
    this.names.push(name);
    if (onPath) this.matched = depth + 1;
    if (onPath && !this.capturing && depth === this.path.length - 1) {
      this.capturing = true;
      this.capDepth = depth;
      this.recLine = this.ltLine;
      this.record++;
      this.problem = undefined;
      this.buf.append(this.tagCarry);
      this.capStart = this.ltIndex;
    }
  }

  private tagEnd(selfClosing: boolean, chunk: string, i: number): void {
    this.state = S.Text;
    if (selfClosing) this.endTag(this.names[this.names.length - 1] ?? '', chunk, i);
  }

  private endTag(name: string, chunk: string, i: number): void {
    this.state = S.Text;
    if (this.extra > 0) {
      this.extra--;
      return;
    }
    const top = this.names[this.names.length - 1];
    if (top === undefined) return this.fileError(ReaderCodes.MALFORMED_FILE, `end tag </${name}> without a start tag at line ${this.line}`);
    if (top === name) {
      this.names.pop();
    } else if (this.capturing) {
      const at = this.names.lastIndexOf(name);
      if (at < this.capDepth) return;
      this.names.length = at;
    } else {
      return this.fileError(ReaderCodes.MALFORMED_FILE, `end tag </${name}> does not match <${top}> at line ${this.line}`);
    }
    this.matched = Math.min(this.matched, this.names.length);
    if (this.capturing && this.names.length === this.capDepth) this.endRecord(chunk, i + 1);
  }

  private endRecord(chunk: string, end: number): void {
    this.buf.append(chunk.slice(this.capStart, end));
    this.capturing = false;
    const overflowed = this.buf.overflowed;
    const text = this.buf.take();
    const raw: RawXmlRecord = { record: this.record, line: this.recLine, text: overflowed || this.problem ? null : text };
    if (this.problem) raw.problem = this.problem;
    else if (overflowed) raw.problem = { code: ReaderCodes.RECORD_TOO_LARGE, message: tooLargeMessage(this.o.xml.maxRecordBytes) };
    this.out.push({ kind: 'record', raw });
  }
}
