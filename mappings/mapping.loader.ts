/**
 * Reads a mapping file's text into a checked `MappingSpec`, reporting every
 * problem of the file at once with its line and column. Pure: the caller
 * hands in the text; nothing here touches a file.
 */
import type { ValidateFunction } from 'ajv';
import { buildMappingSchema } from './mapping.schema.js';
import { checkAgainstSchema, compileSchema } from '../lib/schema-check.js';
import { YamlSource, suggest, type DocPath } from '../lib/yaml-source.js';
import { FORBIDDEN_KEYS } from './path.js';
import { checkRef, checkRegex } from './ref.check.js';
import { checkCondition } from './condition.check.js';
import { TRANSFORMS, type TransformDef, type TransformEnv } from './transforms/index.js';
import { suggestTransform } from './transforms/synonyms.js';
import type { Problem } from './mapping.errors.js';
import type { FieldSpec, GroupSpec, LookupSpec, MappingSpec, RuleSpec, TransformStep } from './mapping.types.js';

let mappingValidator: ValidateFunction | undefined;
const argValidators = new Map<string, ValidateFunction>();
const TRANSFORM_NAMES: ReadonlySet<string> = new Set(TRANSFORMS.keys());

/** The published JSON Schema of mapping files. */
export function mappingSchema(): object {
  return buildMappingSchema(TRANSFORMS.values());
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SOURCES = ['from', 'answer', 'const', 'template', 'function'] as const;

/** Result of reading a mapping: the spec when it could be built, and every problem found. */
export interface ParsedMapping {
  spec?: MappingSpec;
  problems: Problem[];
  source: YamlSource;
}

/** How `parseMapping` reads. */
export interface ParseOptions {
  /**
   * Leave out the check against the mapping's JSON Schema (the costliest
   * part of reading a mapping the first time in a thread, about 0.2 s).
   * Only for text already checked in full elsewhere: a caller that uses it
   * must hold the result to the version that was checked, and read again
   * with the check when the version differs.
   */
  skipSchema?: boolean;
}

/**
 * Parses and checks a mapping. `spec` is absent when the file has problems;
 * `version` is left empty here and filled in by the compiler, which also sees
 * the lookup files and functions module.
 */
export function parseMapping(file: string, text: string, opts: ParseOptions = {}): ParsedMapping {
  const parsed = readMapping(file, text, opts);
  parsed.problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return parsed;
}

function readMapping(file: string, text: string, opts: ParseOptions): ParsedMapping {
  const src = new YamlSource(file, text);
  if (src.problems.length || !isObj(src.value)) {
    if (!src.problems.length) src.report([], 'a mapping must be a YAML mapping with "mapping" and "fields" keys');
    return { problems: src.problems, source: src };
  }
  const doc = src.value;
  if (!opts.skipSchema) {
    mappingValidator ??= compileSchema(mappingSchema());
    const isStep = (p: DocPath) => (p[0] === 'fields' && p[2] === 'transform') || (p[0] === 'groups' && p[2] === 'fields' && p[4] === 'transform');
    checkAgainstSchema(src, doc, mappingValidator, { skip: isStep });
  }

  const fieldNames = new Set<string>();
  const lookupNames = new Set(isObj(doc.lookups) ? Object.keys(doc.lookups) : []);
  const fields = readFields(src, ['fields'], doc.fields, { fieldNames, lookupNames, inGroup: false });
  const groups: GroupSpec[] = [];
  if (isObj(doc.groups)) {
    for (const [name, g] of Object.entries(doc.groups)) {
      if (!isObj(g)) continue;
      checkName(src, ['groups', name], name);
      if (fieldNames.has(name)) src.report(['groups', name], `group "${name}" has the same name as a field`, true);
      const eo = isObj(g.each) ? g.each : undefined;
      const byAnswer = eo !== undefined && eo.answer !== undefined;
      const each = eo ? (eo.answer ?? eo.path) : g.each;
      const eachPath = eo ? ['groups', name, 'each', byAnswer ? 'answer' : 'path'] : ['groups', name, 'each'];
      if (eo && (eo.answer === undefined) === (eo.path === undefined)) src.report(['groups', name, 'each'], 'each needs exactly one of path (a list in the submission) or answer (a repeating question)');
      if (typeof each === 'string') checkRef(src, eachPath, byAnswer ? 'answer' : 'from', each, false);
      if (typeof eo?.then === 'string') checkRef(src, ['groups', name, 'each', 'then'], 'from', eo.then, false);
      if (eo?.where !== undefined) checkCondition(src, ['groups', name, 'each', 'where'], eo.where, new Set(), true);
      const gf = readFields(src, ['groups', name, 'fields'], g.fields, { fieldNames: new Set(), lookupNames, inGroup: true });
      const spec: GroupSpec = { name, each: byAnswer ? `answer:${String(each)}` : String(each), fields: gf, pos: src.keyPos(['groups', name]) };
      if (eo?.values === true) spec.values = true;
      if (typeof eo?.then === 'string') spec.then = eo.then;
      if (isObj(eo?.where)) spec.where = eo.where as unknown as GroupSpec['where'];
      if (typeof g.min === 'number') spec.min = g.min;
      if (typeof g.max === 'number') spec.max = g.max;
      if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) src.report(['groups', name, 'min'], 'min is greater than max');
      groups.push(spec);
    }
  }
  const rules = readRules(src, doc.rules, fieldNames);
  const lookups = readLookups(src, doc.lookups);
  const questions: Record<string, string[]> = {};
  if (isObj(doc.questions)) {
    for (const [id, texts] of Object.entries(doc.questions)) {
      if (FORBIDDEN_KEYS.has(id)) src.report(['questions', id], `"${id}" may not be a question id`, true);
      questions[id] = typeof texts === 'string' ? [texts] : Array.isArray(texts) ? texts.map(String) : [];
    }
  }
  if (src.problems.length) return { problems: src.problems, source: src };
  const spec: MappingSpec = {
    name: String(doc.mapping),
    questions,
    lookups,
    fields,
    groups,
    rules,
    version: '',
    file,
  };
  for (const k of ['description', 'key', 'functions', 'tests'] as const) if (typeof doc[k] === 'string') spec[k] = doc[k];
  if (spec.key !== undefined) checkRef(src, ['key'], 'template', spec.key, false);
  return { spec, problems: src.problems, source: src };
}

interface FieldScope {
  fieldNames: Set<string>;
  lookupNames: Set<string>;
  inGroup: boolean;
}

function checkName(src: YamlSource, path: DocPath, name: string): void {
  if (FORBIDDEN_KEYS.has(name)) src.report(path, `"${name}" may not be used as a name`, true);
}

function readFields(src: YamlSource, at: DocPath, raw: unknown, scope: FieldScope): FieldSpec[] {
  if (!isObj(raw)) return [];
  const out: FieldSpec[] = [];
  for (const [name, f] of Object.entries(raw)) {
    const path = [...at, name];
    checkName(src, path, name);
    if (!isObj(f)) continue;
    const given = SOURCES.filter((k) => f[k] !== undefined);
    if (given.length > 1) src.report(path, `field ${name} has ${given.join(' and ')}; give exactly one of ${SOURCES.join(', ')}`, true);
    if (given.length === 0 && f.default === undefined) {
      src.report(path, `field ${name} needs one of ${SOURCES.join(', ')} (or a default)`, true);
    }
    for (const k of ['from', 'answer', 'template'] as const) {
      if (typeof f[k] === 'string') checkRef(src, [...path, k], k, f[k] as string, scope.inGroup);
    }
    if (f.when !== undefined) checkCondition(src, [...path, 'when'], f.when, scope.fieldNames, scope.inGroup);
    const spec: FieldSpec = {
      name,
      transform: readSteps(src, [...path, 'transform'], f.transform, scope.lookupNames),
      required: f.required === true,
      pii: f.pii === true,
      pos: src.keyPos(path),
    };
    for (const k of ['from', 'answer', 'template', 'function', 'description'] as const) if (typeof f[k] === 'string') spec[k] = f[k];
    if (f.const !== undefined) spec.const = f.const;
    if (f.default !== undefined) spec.default = f.default;
    if (isObj(f.when)) spec.when = f.when as unknown as FieldSpec['when'];
    if (isObj(f.validate)) {
      spec.validate = f.validate as FieldSpec['validate'];
      const pattern = f.validate.pattern;
      if (typeof pattern === 'string') checkRegex(src, [...path, 'validate', 'pattern'], pattern);
    }
    scope.fieldNames.add(name);
    out.push(spec);
  }
  return out;
}

function readSteps(src: YamlSource, at: DocPath, raw: unknown, lookupNames: Set<string>): TransformStep[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    src.report(at, 'transform must be a list of steps, e.g. [trim, upper]');
    return [];
  }
  const steps: TransformStep[] = [];
  raw.forEach((step, i) => {
    const path = [...at, i];
    let name: string;
    let args: unknown;
    if (typeof step === 'string') name = step;
    else if (isObj(step) && Object.keys(step).length === 1) {
      name = Object.keys(step)[0]!;
      args = step[name];
    } else {
      src.report(path, 'a transform step is a name (upper) or a single-key mapping ({ truncate: 35 })');
      return;
    }
    const def = TRANSFORMS.get(name);
    if (!def) {
      src.report(typeof step === 'string' ? path : [...path, name], `unknown transform "${name}"${suggestTransform(name, TRANSFORM_NAMES)}`, typeof step !== 'string');
      return;
    }
    if (def.args === undefined && args !== undefined && args !== null) {
      src.report(path, `transform "${name}" takes no arguments; write it as a bare name: ${name}`);
      return;
    }
    if (def.args !== undefined && typeof step === 'string' && !def.argsOptional) {
      src.report(path, `transform "${name}" needs arguments, e.g. ${JSON.stringify({ [name]: def.example ?? '...' })}`);
      return;
    }
    if (def.args !== undefined && !(args === undefined && def.argsOptional)) {
      let v = argValidators.get(name);
      if (!v) argValidators.set(name, (v = compileSchema(def.args)));
      if (!checkAgainstSchema(src, args, v, { base: [...path, name] })) return;
    }
    if (name === 'lookup' && typeof args === 'string' && !lookupNames.has(args)) {
      src.report([...path, name], `unknown lookup "${args}"${suggest(args, lookupNames)}`);
      return;
    }
    const refused = argumentProblem(def, args);
    if (refused !== undefined) {
      src.report(path, `${name}: ${refused}`);
      return;
    }
    steps.push({ name, args, pos: src.pos(path) });
  });
  return steps;
}

/** Thrown by `NO_ENV`: the transform needs what only the compiler has (lookups, user functions). */
class NeedsCompiler extends Error {}

const NO_ENV: TransformEnv = {
  lookup: () => {
    throw new NeedsCompiler();
  },
  userFunction: () => {
    throw new NeedsCompiler();
  },
};

/**
 * Why the transform would refuse `args` (an invalid regular expression, an
 * unknown date token), tried here as the compiler will, so that it is
 * reported with every other problem of the file rather than only once the
 * file has none; undefined when it takes them or needs what only the
 * compiler has. Same message as the compiler's.
 */
function argumentProblem(def: TransformDef, args: unknown): string | undefined {
  try {
    def.create(args as never, NO_ENV);
    return undefined;
  } catch (e) {
    return e instanceof NeedsCompiler ? undefined : (e as Error).message;
  }
}

function readRules(src: YamlSource, raw: unknown, fieldNames: Set<string>): RuleSpec[] {
  if (!Array.isArray(raw)) return [];
  const out: RuleSpec[] = [];
  raw.forEach((r, i) => {
    if (!isObj(r)) return;
    const path = ['rules', i];
    if (r.when !== undefined) checkCondition(src, [...path, 'when'], r.when, fieldNames, false);
    if (r.assert !== undefined) checkCondition(src, [...path, 'assert'], r.assert, fieldNames, false);
    const fields = Array.isArray(r.fields) ? r.fields.map(String) : [];
    fields.forEach((f, j) => {
      if (!fieldNames.has(f)) src.report([...path, 'fields', j], `unknown field "${f}"${suggest(f, fieldNames)}`);
    });
    if (typeof r.rule !== 'string' || typeof r.message !== 'string' || !isObj(r.assert)) return;
    const spec: RuleSpec = { name: r.rule, assert: r.assert as unknown as RuleSpec['assert'], message: r.message, fields, pos: src.pos(path) };
    if (isObj(r.when)) spec.when = r.when as unknown as RuleSpec['when'];
    out.push(spec);
  });
  return out;
}

function readLookups(src: YamlSource, raw: unknown): Record<string, LookupSpec> {
  const out: Record<string, LookupSpec> = {};
  if (!isObj(raw)) return out;
  for (const [name, l] of Object.entries(raw)) {
    const path = ['lookups', name];
    checkName(src, path, name);
    if (!isObj(l)) continue;
    if ((l.values === undefined) === (l.file === undefined)) src.report(path, `lookup ${name} needs exactly one of values or file`, true);
    if (l.file !== undefined && (typeof l.keyColumn !== 'string' || typeof l.valueColumn !== 'string')) {
      src.report(path, `lookup ${name} reads a file, so it needs keyColumn and valueColumn`, true);
    }
    const missing = (l.missing ?? 'error') as LookupSpec['missing'];
    if (missing === 'default' && l.default === undefined) src.report([...path, 'missing'], 'missing: default needs a default value');
    const spec: LookupSpec = { name, missing, caseInsensitive: l.caseInsensitive === true, pos: src.keyPos(path) };
    if (isObj(l.values)) spec.values = l.values;
    for (const k of ['file', 'keyColumn', 'valueColumn'] as const) if (typeof l[k] === 'string') spec[k] = l[k];
    if (l.default !== undefined) spec.default = l.default;
    out[name] = spec;
  }
  return out;
}
