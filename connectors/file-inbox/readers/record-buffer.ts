/**
 * Bounded accumulation of one record's text from slices of decoded chunks,
 * shared by the streaming splitters.
 */

/**
 * Collects the slices of one record and counts their UTF-8 bytes. Once the
 * total passes `limit` it drops what it holds and ignores further slices
 * until {@link RecordBuffer.take}, so an oversized record costs at most one
 * chunk of memory.
 */
export class RecordBuffer {
  private parts: string[] = [];
  private bytes = 0;
  private over = false;

  constructor(private readonly limit: number) {}

  /** Adds a slice of the current record. */
  append(slice: string): void {
    if (this.over || slice.length === 0) return;
    this.bytes += Buffer.byteLength(slice, 'utf8');
    if (this.bytes > this.limit) {
      this.over = true;
      this.parts = [];
      return;
    }
    this.parts.push(slice);
  }

  /** True when the current record passed the limit. */
  get overflowed(): boolean {
    return this.over;
  }

  /** Returns the record's text (empty when it overflowed) and starts a new record. */
  take(): string {
    const text = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
    this.parts = [];
    this.bytes = 0;
    this.over = false;
    return text;
  }
}

/** The message of an `INPUT_RECORD_TOO_LARGE` item. */
export function tooLargeMessage(limit: number): string {
  return `the record is larger than the limit of ${limit} bytes (maxRecordBytes); it was skipped`;
}

/** The message of a JSON or NDJSON record's `INPUT_TOO_DEEP` item. */
export function tooDeepMessage(limit: number): string {
  return `arrays and objects nest deeper than ${limit} levels (json.maxDepth); the record was skipped`;
}

/** 1-based line and column of `offset` in `text`, where `text` starts at `line`, `col` of the file. */
export function positionIn(text: string, offset: number, line: number, col: number): { line: number; col: number } {
  let l = line;
  let c = col;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      l++;
      c = 1;
    } else {
      c++;
    }
  }
  return { line: l, col: c };
}
