/**
 * Finds where CSV records start and end in a stream of text, tracking
 * quoted fields (which may hold delimiters and line breaks), escapes,
 * comment lines and blank lines. It does not split fields: each record's
 * text goes to csv-parse whole. Knowing the boundaries itself is what lets
 * one bad record fail alone and gives each record its exact start line.
 */
import { RecordBuffer } from './record-buffer.js';

/** One record's raw text (without its line break) and where it starts. */
export interface RawCsvRecord {
  /** The text, or null when it was larger than the limit and dropped. */
  text: string | null;
  /** 1-based line of the record's first character. */
  line: number;
  /** True when the input ended inside a quoted field of this record. */
  unclosed: boolean;
}

/** Characters that shape records; each one character. */
export interface CsvSyntax {
  delimiter: string;
  quote: string;
  escape: string;
  comment?: string;
}

const LF = 10, CR = 13;
const enum S { LineStart, Comment, FieldStart, Unquoted, Quoted, AfterQuote, Escaped }

/** Streaming record splitter: `push` chunks, take `out` after each, `end` once. */
export class CsvSplitter {
  readonly out: RawCsvRecord[] = [];
  private state = S.LineStart;
  private line = 1;
  private recLine = 0;
  private recStart = 0;
  private readonly buf: RecordBuffer;
  private readonly delim: number;
  private readonly quote: number;
  private readonly escape: number;
  private readonly comment: number;

  constructor(syntax: CsvSyntax, maxRecordBytes: number) {
    this.buf = new RecordBuffer(maxRecordBytes);
    this.delim = syntax.delimiter.charCodeAt(0);
    this.quote = syntax.quote.charCodeAt(0);
    this.escape = syntax.escape.charCodeAt(0);
    this.comment = syntax.comment === undefined ? -1 : syntax.comment.charCodeAt(0);
  }

  /** Scans one chunk; complete records are appended to `out`. */
  push(chunk: string): void {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      switch (this.state) {
        case S.LineStart:
          if (c === LF) this.line++;
          else if (c === CR) continue;
          else if (c === this.comment) this.state = S.Comment;
          else {
            this.recStart = i;
            this.recLine = this.line;
            this.fieldStart(c, chunk, i);
          }
          break;
        case S.Comment:
          if (c === LF) {
            this.line++;
            this.state = S.LineStart;
          }
          break;
        case S.FieldStart:
          this.fieldStart(c, chunk, i);
          break;
        case S.Unquoted:
          if (c === this.delim) this.state = S.FieldStart;
          else if (c === LF) this.endRecord(chunk, i);
          break;
        case S.Quoted:
          if (c === LF) this.line++;
          if (c === this.escape && this.escape !== this.quote) this.state = S.Escaped;
          else if (c === this.quote) this.state = S.AfterQuote;
          break;
        case S.AfterQuote:
          if (c === this.quote && this.escape === this.quote) this.state = S.Quoted;
          else if (c === this.delim) this.state = S.FieldStart;
          else if (c === LF) this.endRecord(chunk, i);
          else if (c !== CR) this.state = S.Unquoted;
          break;
        case S.Escaped:
          if (c === LF) this.line++;
          this.state = S.Quoted;
          break;
      }
    }
    if (this.inRecord()) {
      this.buf.append(chunk.slice(this.recStart));
      this.recStart = 0;
    }
  }

  /** Flushes a last record that has no line break after it. */
  end(): void {
    if (!this.inRecord()) return;
    const unclosed = this.state === S.Quoted || this.state === S.Escaped;
    this.emit(unclosed);
    this.state = S.LineStart;
  }

  private inRecord(): boolean {
    return this.state !== S.LineStart && this.state !== S.Comment;
  }

  private fieldStart(c: number, chunk: string, i: number): void {
    if (c === this.quote) this.state = S.Quoted;
    else if (c === this.delim) this.state = S.FieldStart;
    else if (c === LF) this.endRecord(chunk, i);
    else this.state = S.Unquoted;
  }

  private endRecord(chunk: string, i: number): void {
    this.buf.append(chunk.slice(this.recStart, i));
    this.emit(false);
    this.line++;
    this.state = S.LineStart;
  }

  private emit(unclosed: boolean): void {
    const overflowed = this.buf.overflowed;
    let text: string | null = this.buf.take();
    if (overflowed) text = null;
    else if (text.endsWith('\r') && !unclosed) text = text.slice(0, -1);
    this.out.push({ text, line: this.recLine, unclosed });
  }
}
