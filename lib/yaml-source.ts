/**
 * A parsed YAML document that remembers where everything is, so that every
 * problem in a definition file can be reported as `file:line:col`. Shared by
 * the mapping, pipeline and golden-case loaders.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { closest, distance } from 'fastest-levenshtein';
import type { Problem, SourcePos } from './problem.js';

/** A document path: keys and array indexes from the root. */
export type DocPath = ReadonlyArray<string | number>;

/** Formats a document path for messages: `fields.SURNAME.transform[2]`. */
export function pathLabel(path: DocPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** YAML text parsed once, with positions for any document path. */
export class YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly value: unknown;
  readonly problems: Problem[] = [];
  private readonly lines = new LineCounter();

  /** Parses `text`; syntax errors become problems, and `value` is what could be read. */
  constructor(file: string, text: string) {
    this.file = file;
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const e of this.doc.errors) {
      const [start] = e.pos;
      const message = e.message.split('\n')[0] ?? e.message;
      this.problems.push(this.problemAt(start, [], message.replace(/ at line \d+, column \d+:?$/, '')));
    }
    let value: unknown;
    try {
      value = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      this.problems.push(this.problemAt(0, [], `cannot read the document: ${(e as Error).message}`));
    }
    this.value = value;
  }

  /** Where the value at `path` starts (or the nearest existing ancestor). */
  pos(path: DocPath): SourcePos {
    return this.toPos(this.offsetOf(path, false));
  }

  /** Where the key of the entry at `path` starts (for "unknown key" problems). */
  keyPos(path: DocPath): SourcePos {
    return this.toPos(this.offsetOf(path, true));
  }

  /** A problem located at the value (or, with `atKey`, the key) of `path`. */
  problem(path: DocPath, message: string, atKey = false): Problem {
    const p = atKey ? this.keyPos(path) : this.pos(path);
    return { file: this.file, line: p.line, col: p.col, path: pathLabel(path), message };
  }

  /** Records a problem and returns it. */
  report(path: DocPath, message: string, atKey = false): Problem {
    const p = this.problem(path, message, atKey);
    this.problems.push(p);
    return p;
  }

  /** Records a problem at a character offset inside the scalar at `path` (e.g. a bad part of a path). */
  reportInside(path: DocPath, offset: number, message: string): void {
    const node = this.nodeAt(path);
    let at = this.offsetOf(path, false);
    if (node && isScalar(node) && node.range && typeof node.source === 'string') {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (node.type === 'PLAIN' || quoted) at = node.range[0] + (quoted ? 1 : 0) + offset;
    }
    this.problems.push(this.problemAt(at, path, message));
  }

  private problemAt(offset: number, path: DocPath, message: string): Problem {
    const p = this.toPos(offset);
    return { file: this.file, line: p.line, col: p.col, path: pathLabel(path), message };
  }

  private toPos(offset: number): SourcePos {
    const lp = this.lines.linePos(offset);
    return { file: this.file, line: lp.line, col: lp.col };
  }

  /** The YAML node at `path`, if there is one. */
  nodeAt(path: DocPath): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      node = child(node, key)?.value;
      if (node === undefined) return undefined;
    }
    return node as Node;
  }

  private offsetOf(path: DocPath, atKey: boolean): number {
    let node: unknown = this.doc.contents;
    let best = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const c = child(node, path[i]!);
      if (!c) break;
      const last = i === path.length - 1;
      const start = last && atKey ? rangeStart(c.key) : rangeStart(c.value);
      if (start !== undefined) best = start;
      else if (rangeStart(c.key) !== undefined) best = rangeStart(c.key)!;
      node = c.value;
    }
    return best;
  }
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? r[0] : undefined;
}

function child(node: unknown, key: string | number): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const item of node.items) {
      if (isPair(item)) {
        const k = isScalar(item.key) ? item.key.value : item.key;
        if (k === key || String(k) === String(key)) return { key: item.key, value: item.value };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const v = node.items[key];
    return v === undefined ? undefined : { key: v, value: v };
  }
  return undefined;
}

/** `did you mean "x"?` for a misspelt name among `known`, or '' when nothing is close. */
export function suggest(name: string, known: Iterable<string>): string {
  const list = [...known];
  if (list.length === 0) return '';
  const best = closest(name, list);
  const limit = Math.max(2, Math.floor(name.length / 3));
  const d = distance(name.toLowerCase(), best.toLowerCase());
  return d <= limit && d < name.length ? `, did you mean "${best}"?` : '';
}
