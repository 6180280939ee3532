/**
 * Hints for `rekey preview`: when a required field reads a `from:` path the
 * submission does not have at all, the path it has that is closest in
 * spelling (`applicant.surnmae` -> `applicant.surname`). A path present but
 * blank gets no hint: it was found, the answer was empty.
 */
import { suggest } from '../lib/yaml-source.js';
import { parsePath, type Segment } from '../mappings/path.js';
import { at, get, where } from '../mappings/runtime.js';
import type { MapResult, MappingSpec } from '../mappings/index.js';

/** A hint about one field of a previewed record. */
export interface PathHint {
  field: string;
  /** The field's `from:` path, absent from the submission. */
  path: string;
  /** The submission's path closest to it. */
  closest: string;
  message: string;
}

/** At most this many key paths of a submission are compared (a guard against huge inputs). */
const MAX_PATHS = 20_000;
const PLAIN_KEY = /^[A-Za-z0-9_\-:@#][A-Za-z0-9_$\-:@#]*$/;

/** Whether `segments` lead to a key or element the submission has (null or "" count as there). */
function exists(submission: unknown, segments: readonly Segment[]): boolean {
  let v: unknown = submission;
  for (const s of segments) {
    v = s.kind === 'key' ? get(v, s.key) : s.kind === 'index' ? at(v, s.index) : where(v, s.key, s.value);
    if (v === undefined) return false;
  }
  return true;
}

/** Every key path of `value`, written as mapping paths: `a.b`, `items[0].name`, `["a b"]`. */
export function keyPaths(value: unknown, prefix = '', out: string[] = []): string[] {
  if (out.length >= MAX_PATHS || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const p = `${prefix}[${i}]`;
      out.push(p);
      keyPaths(item, p, out);
    });
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    if (out.length >= MAX_PATHS) break;
    const p = PLAIN_KEY.test(k) ? (prefix ? `${prefix}.${k}` : k) : `${prefix}[${JSON.stringify(k)}]`;
    out.push(p);
    keyPaths(v, p, out);
  }
  return out;
}

/**
 * For each `required` error of `result` on a top-level field read with
 * `from:`, whose path the submission lacks entirely, the closest path the
 * submission has (when one is close enough to be a likely misspelling).
 */
export function missingPathHints(spec: MappingSpec, submission: unknown, result: MapResult): PathHint[] {
  const hints: PathHint[] = [];
  let paths: string[] | undefined;
  for (const e of result.errors) {
    if (e.rule !== 'required') continue;
    const from = spec.fields.find((f) => f.name === e.field)?.from;
    if (from === undefined) continue;
    const parsed = parsePath(from);
    if (parsed.root !== 'submission' || exists(submission, parsed.segments)) continue;
    paths ??= keyPaths(submission);
    const hint = suggest(from, paths);
    const closest = /^, did you mean "(.*)"\?$/.exec(hint)?.[1];
    if (closest === undefined) continue;
    hints.push({ field: e.field, path: from, closest, message: `this submission has no "${from}", did you mean "${closest}"?` });
  }
  return hints;
}
