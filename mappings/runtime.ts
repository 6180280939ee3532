/**
 * Helpers called by compiled mappings. Every read goes through these, so a
 * submission can only be read through its own properties (never through its
 * prototype), and no value in a submission is ever executed.
 */
import { TransformFailure } from './transforms/transform.types.js';
import type { RecordError } from './mapping.types.js';

type Obj = Record<string, unknown>;
const hasOwn = Object.prototype.hasOwnProperty;

/** Own property `k` of `o`, or undefined. */
export function get(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' && hasOwn.call(o, k) ? (o as Obj)[k] : undefined;
}

/** Element `i` of an array (negative counts from the end), or undefined. */
export function at(o: unknown, i: number): unknown {
  if (!Array.isArray(o)) return undefined;
  const j = i < 0 ? o.length + i : i;
  return j >= 0 && j < o.length ? o[j] : undefined;
}

/** The first element of array `o` whose own property `k` equals `value` (compared as text). */
export function where(o: unknown, k: string, value: string): unknown {
  if (!Array.isArray(o)) return undefined;
  for (let i = 0; i < o.length; i++) {
    const el = o[i] as unknown;
    if (el !== null && typeof el === 'object' && hasOwn.call(el, k)) {
      const v = (el as Obj)[k];
      if (v === value || (v != null && String(v) === value)) return el;
    }
  }
  return undefined;
}

/**
 * The GOV.UK Forms answer with `question_id` `id`; failing that, the one whose
 * `question_text` is one of `texts` (exports such as CSV carry texts only).
 */
export function answer(s: unknown, id: string, texts: readonly string[] | undefined): unknown {
  const answers = get(s, 'answers');
  if (!Array.isArray(answers)) return undefined;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i] as unknown;
    if (a !== null && typeof a === 'object' && (a as Obj).question_id === id && hasOwn.call(a, 'question_id')) return a;
  }
  if (texts) {
    for (let i = 0; i < answers.length; i++) {
      const t = get(answers[i], 'question_text');
      if (typeof t === 'string' && texts.includes(t)) return answers[i];
    }
  }
  return undefined;
}

/** True when `v` counts as given: not undefined, null, '' or []. */
export function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
}

/** Text of a template part: absent values give ''. */
export function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Items of a repeating group: an array as it is; a repeating GOV.UK Forms
 * answer (`answer_text` an array) as one object per index, its array-valued
 * parts zipped; an answer left blank (a question skipped, an empty export
 * cell) gives no items.
 */
export function items(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || typeof v !== 'object') return v === undefined || v === null || v === '' ? [] : [v];
  const texts = get(v, 'answer_text');
  if (!Array.isArray(texts)) return present(texts) ? [v] : [];
  const out: Obj[] = [];
  for (let i = 0; i < texts.length; i++) {
    const item: Obj = {};
    for (const k of Object.keys(v)) {
      const part = (v as Obj)[k];
      item[k] = Array.isArray(part) && k !== 'selections' ? part[i] : part;
    }
    out.push(item);
  }
  return out;
}

/**
 * The items of a group's `each: path`, as {@link items} gives them, or
 * undefined when the value is there but is no list: an object that is not
 * a repeating answer (its values are a list only with `values: true`).
 */
export function listItems(v: unknown): unknown[] | undefined {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && get(v, 'answer_text') === undefined) return undefined;
  return items(v);
}

/** The values of an object in its key order (`each: { values: true }`); none when absent; undefined when it is not an object. */
export function valuesOf(v: unknown): unknown[] | undefined {
  if (v === undefined || v === null || v === '') return [];
  if (typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Object.keys(v).map((k) => (v as Obj)[k]);
}

/**
 * Each item's own list (`inner(item)`, read as {@link listItems} reads a
 * list) flattened in order, with the item each came from; `bad` counts the
 * items whose own list is there but is no list.
 */
export function flatten(list: readonly unknown[], inner: (item: unknown) => unknown): { items: unknown[]; outers: unknown[]; bad: number } {
  const out: { items: unknown[]; outers: unknown[]; bad: number } = { items: [], outers: [], bad: 0 };
  for (const outer of list) {
    const own = listItems(inner(outer));
    if (own === undefined) {
      out.bad++;
      continue;
    }
    for (const it of own) {
      out.items.push(it);
      out.outers.push(outer);
    }
  }
  return out;
}

/** Equality as mappings mean it: same value, or same text for a number and a string. */
export function eq(a: unknown, b: unknown): boolean {
  return a === b || (a != null && b != null && typeof a !== 'object' && typeof b !== 'object' && String(a) === String(b));
}

/** Whether `a` equals one of `list`. */
export function inList(a: unknown, list: readonly unknown[]): boolean {
  for (const b of list) if (eq(a, b)) return true;
  return false;
}

/**
 * Orders two values: numerically when both are numbers or numeric text, else
 * as text. Returns NaN when either is absent, so every comparison is false.
 */
export function cmp(a: unknown, b: unknown): number {
  if (!present(a) || !present(b)) return NaN;
  const x = typeof a === 'number' ? a : Number(a);
  const y = typeof b === 'number' ? b : Number(b);
  if (!Number.isNaN(x) && !Number.isNaN(y) && typeof a !== 'boolean' && typeof b !== 'boolean') return x - y;
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

/** Length in characters (code points), for strings, numbers and arrays. */
export function len(v: unknown): number {
  if (Array.isArray(v)) return v.length;
  const s = typeof v === 'string' ? v : String(v);
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** Whether `v` lies within `[min, max]` (either end optional), compared as `cmp` does. */
export function inRange(v: unknown, min: unknown, max: unknown): boolean {
  if (min !== undefined && !(cmp(v, min) >= 0)) return false;
  if (max !== undefined && !(cmp(v, max) <= 0)) return false;
  return true;
}

const QUOTED = /"(?:[^"\\]|\\.)*"/g;

/** Removes quoted values (and the raw value itself) from a message about a PII field. */
export function mask(message: string, raw: unknown): string {
  let m = message.replace(QUOTED, '"***"');
  if (typeof raw === 'string' && raw.length >= 3) m = m.split(raw).join('***');
  return m;
}

/** The error for a failed transform or user function at `field`. */
export function failure(field: string, source: string | undefined, e: unknown, pii: boolean, raw: unknown): RecordError {
  const isRule = e instanceof TransformFailure || (e !== null && typeof e === 'object' && typeof (e as { rule?: unknown }).rule === 'string');
  const rule = isRule ? (e as TransformFailure).rule : 'function';
  const text = e instanceof Error ? e.message : String(e);
  const err: RecordError = { field, rule, message: pii ? mask(text, raw) : text };
  if (source !== undefined) err.source = source;
  return err;
}

/** A located error with a fixed message. */
export function error(field: string, source: string | undefined, rule: string, message: string): RecordError {
  const err: RecordError = { field, rule, message };
  if (source !== undefined) err.source = source;
  return err;
}

/** Whether any error names one of `fields`. */
export function hasError(errors: readonly RecordError[], fields: readonly string[]): boolean {
  for (const e of errors) if (fields.includes(e.field)) return true;
  return false;
}
