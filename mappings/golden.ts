/**
 * Golden cases for mappings: an input submission and the record (or errors)
 * it must give, kept as data beside the mapping. This file reads a cases
 * document and compares results field by field; the caller reads files.
 */
import { checkAgainstSchema, compileSchema } from '../lib/schema-check.js';
import { YamlSource } from '../lib/yaml-source.js';
import { canonicalJson } from '../lib/canonical-json.js';
import type { Problem } from './mapping.errors.js';
import type { MapResult, SourcePos } from './mapping.types.js';

/** What a case expects. Absent parts are not checked. */
export interface CaseExpectation {
  record?: Record<string, unknown>;
  children?: Record<string, Record<string, unknown>[]>;
  errors?: { field: string; rule: string; message?: string }[];
}

/** One golden case. `input` is a path relative to the cases file; `submission` an inline one. */
export interface GoldenCase {
  name: string;
  input?: string;
  submission?: unknown;
  expect: CaseExpectation;
  pos: SourcePos;
}

/** One difference between expected and actual. */
export interface CaseDiff {
  /** `record.SURNAME`, `children.PREV_ADDR[1].POSTCODE`, `errors`. */
  path: string;
  expected: unknown;
  actual: unknown;
}

const errorItem = {
  type: 'object',
  additionalProperties: false,
  required: ['field', 'rule'],
  properties: { field: { type: 'string' }, rule: { type: 'string' }, message: { type: 'string' } },
};

/** JSON Schema of a cases file. */
export const casesSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'rekey mapping golden cases',
  type: 'object',
  additionalProperties: false,
  required: ['cases'],
  properties: {
    mapping: { type: 'string', description: 'The mapping these cases test (relative path).' },
    cases: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'expect'],
        properties: {
          name: { type: 'string' },
          input: { type: 'string', description: 'Submission file, relative to this file: JSON, or YAML when its name ends in .yaml or .yml.' },
          submission: { description: 'Inline submission, written in YAML (or JSON flow style).' },
          expect: {
            type: 'object',
            additionalProperties: false,
            properties: {
              record: { type: 'object' },
              children: { type: 'object', additionalProperties: { type: 'array', items: { type: 'object' } } },
              errors: { type: 'array', items: errorItem },
            },
          },
        },
      },
    },
  },
};

let validator: ReturnType<typeof compileSchema> | undefined;

/** Reads a cases document; every problem is located. */
export function parseCases(file: string, text: string): { cases: GoldenCase[]; mapping?: string; problems: Problem[] } {
  const src = new YamlSource(file, text);
  if (src.problems.length) return { cases: [], problems: src.problems };
  validator ??= compileSchema(casesSchema);
  if (!checkAgainstSchema(src, src.value, validator)) return { cases: [], problems: src.problems };
  const doc = src.value as { mapping?: string; cases: Omit<GoldenCase, 'pos'>[] };
  const cases = doc.cases.map((c, i) => {
    if ((c.input === undefined) === (c.submission === undefined)) src.report(['cases', i], `case "${c.name}" needs exactly one of input or submission`, true);
    return { ...c, pos: src.pos(['cases', i]) };
  });
  return doc.mapping === undefined ? { cases, problems: src.problems } : { cases, mapping: doc.mapping, problems: src.problems };
}

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

function compareRecord(prefix: string, expected: Record<string, unknown>, actual: Record<string, unknown>, out: CaseDiff[]): void {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const k of keys) {
    const e = expected[k];
    const a = actual[k];
    if (!(k in expected) && a === undefined) continue;
    if (!same(e ?? null, a ?? null)) out.push({ path: `${prefix}.${k}`, expected: k in expected ? e : '(not expected)', actual: a });
  }
}

/** Compares a mapping result with a case's expectation; an empty list means the case passes. */
export function compareCase(expect: CaseExpectation, result: MapResult): CaseDiff[] {
  const diffs: CaseDiff[] = [];
  if (expect.record) compareRecord('record', expect.record, result.record, diffs);
  if (expect.children) {
    for (const [g, rows] of Object.entries(expect.children)) {
      const actual = result.children[g] ?? [];
      if (rows.length !== actual.length) diffs.push({ path: `children.${g}.length`, expected: rows.length, actual: actual.length });
      rows.forEach((row, i) => compareRecord(`children.${g}[${i + 1}]`, row, actual[i] ?? {}, diffs));
    }
  }
  const expectedErrors = expect.errors ?? [];
  const unmatched = [...result.errors];
  for (const e of expectedErrors) {
    const i = unmatched.findIndex((a) => a.field === e.field && a.rule === e.rule && (e.message === undefined || a.message === e.message));
    if (i >= 0) unmatched.splice(i, 1);
    else diffs.push({ path: `errors`, expected: e, actual: result.errors.filter((a) => a.field === e.field) });
  }
  for (const a of unmatched) diffs.push({ path: 'errors', expected: '(no such error)', actual: a });
  return diffs;
}
