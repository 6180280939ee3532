/**
 * The mapping language as data: what the loader produces from a YAML file and
 * the compiler turns into a function. Pure types, no behaviour.
 */

import type { SourcePos } from '../lib/problem.js';

export type { SourcePos };

/** A transform step as written: a bare name, or a one-key object `{name: args}`. */
export interface TransformStep {
  name: string;
  args: unknown;
  pos?: SourcePos;
}

/**
 * A condition over the submission (`path`), a repeating-group item (`path`
 * starting `$item`) or fields already mapped (`field`).
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ComparisonCondition;

/** One operand compared with one operator. Exactly one operator is present. */
export interface ComparisonCondition {
  path?: string;
  field?: string;
  answer?: string;
  exists?: boolean;
  equals?: unknown;
  notEquals?: unknown;
  in?: unknown[];
  matches?: string;
  gt?: number | string | { field: string };
  gte?: number | string | { field: string };
  lt?: number | string | { field: string };
  lte?: number | string | { field: string };
}

/** Validation rules on one field, checked after its transforms. */
export interface FieldValidation {
  pattern?: string;
  length?: { min?: number; max?: number } | number;
  enum?: unknown[];
  range?: { min?: number | string; max?: number | string };
  message?: string;
}

/** One target field. Exactly one of from/answer/const/template/function gives the value. */
export interface FieldSpec {
  name: string;
  from?: string;
  answer?: string;
  const?: unknown;
  template?: string;
  function?: string;
  transform: TransformStep[];
  default?: unknown;
  required: boolean;
  when?: Condition;
  pii: boolean;
  validate?: FieldValidation;
  description?: string;
  pos?: SourcePos;
}

/** A code list: inline values or a CSV file (read by the caller, handed in). */
export interface LookupSpec {
  name: string;
  values?: Record<string, unknown>;
  file?: string;
  keyColumn?: string;
  valueColumn?: string;
  /** What to do when a value is not in the list. */
  missing: 'error' | 'default' | 'null' | 'keep';
  default?: unknown;
  caseInsensitive: boolean;
  pos?: SourcePos;
}

/** One submission becomes several child records, one per item of `each`. */
export interface GroupSpec {
  name: string;
  /** The list: a path, or `answer:<question_id>` for a repeating GOV.UK Forms answer. */
  each: string;
  /** `each: { values: true }`: the list is the values of the object at `each`, in its key order. */
  values?: boolean;
  /** `each: { then: path }`: each item's own list at this path (read from the item), flattened in order; `$outer` reads the item it came from. */
  then?: string;
  /** `each: { where: condition }`: only the items for which it holds (`$item`, `$outer` and `$index` refer to the item as listed). */
  where?: Condition;
  fields: FieldSpec[];
  min?: number;
  max?: number;
  pos?: SourcePos;
}

/** A rule across fields: when `when` holds (or always), `assert` must hold. */
export interface RuleSpec {
  name: string;
  when?: Condition;
  assert: Condition;
  message: string;
  fields: string[];
  pos?: SourcePos;
}

/** A mapping as loaded and checked, with the positions of its parts. */
export interface MappingSpec {
  name: string;
  description?: string;
  /** Submission key template, e.g. `{{form_name}}/{{submission_reference}}`. */
  key?: string;
  /** question_id -> the question texts it has had (for CSV exports, which carry texts only). */
  questions: Record<string, string[]>;
  functions?: string;
  tests?: string;
  lookups: Record<string, LookupSpec>;
  fields: FieldSpec[];
  groups: GroupSpec[];
  rules: RuleSpec[];
  /** Content hash of the canonical mapping, lookups and functions module: `sha256:<hex>`. */
  version: string;
  file: string;
}

/** One reason a record was rejected, safe to print (PII values masked). */
export interface RecordError {
  /** Target field (or `GROUP[2].FIELD` in a repeating group, or a rule name). */
  field: string;
  /** Where in the submission the value came from, if from a path. */
  source?: string;
  /** The rule that failed: `required`, `pattern`, `postcode`, `lookup:TITLES`, ... */
  rule: string;
  message: string;
}

/** A note about a value that was changed on purpose (e.g. transliterated). */
export interface RecordNote {
  field: string;
  rule: string;
  message: string;
}

/** What the compiled function returns for one submission. */
export interface MapResult {
  ok: boolean;
  record: Record<string, unknown>;
  children: Record<string, Record<string, unknown>[]>;
  errors: RecordError[];
  notes: RecordNote[];
}

/** A mapping compiled to a plain function, plus what callers need to know about it. */
export interface CompiledMapping {
  spec: MappingSpec;
  version: string;
  /** The exact text `version` hashes (`sha256(canonical) === version`): stored once per version so the rule can be shown later. */
  canonical: string;
  /** Target fields (parent) marked `pii: true`, and per group. */
  piiFields: ReadonlySet<string>;
  map(submission: unknown): MapResult;
  /** The submission's key from the mapping's `key` template (default `{{form_name}}/{{submission_reference}}`); undefined when a part is missing. */
  keyOf(submission: unknown): string | undefined;
  /** The generated JavaScript source, for debugging (`rekey compile --show`). */
  source: string;
}
