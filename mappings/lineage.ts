/**
 * Field lineage: for each field a mapping delivers (and each group's child
 * field as `GROUP.FIELD`), where its value is read from, the transforms
 * applied in order, the condition, default and checks around them, and
 * whether it is PII. Read from the mapping spec alone, so it describes the
 * rule without any submission's values. Pure.
 */
import { parseMapping } from './mapping.loader.js';
import { MappingInvalidError } from './mapping.errors.js';
import { parseStoredMapping } from './stored-mapping.js';
import { parseAnswerRef, parsePath, parseTemplate, type ParsedPath } from './path.js';
import type { ComparisonCondition, CompiledMapping, Condition, FieldSpec, FieldValidation, GroupSpec, LookupSpec, MappingSpec } from './mapping.types.js';

/** One place a field's value comes from. */
export type LineageSource =
  /** A GOV.UK Forms answer by question id (`part` absent: its `answer_text`); `text` is the question's first known text. */
  | { kind: 'answer'; question: string; part?: string; text?: string }
  /** A path into the submission outside its answers (metadata such as `submitted_at`). */
  | { kind: 'path'; path: string }
  /** The current item of a repeating group (`$item.x`, `$index`, `$position`), or with `then:` the item its list came from (`$outer.x`); `each` is the group's item source. */
  | { kind: 'item'; path: string; each: string }
  /** A field of the mapped parent record, read inside a group. */
  | { kind: 'parent'; field: string }
  /** A constant written in the mapping. */
  | { kind: 'constant'; value: unknown }
  /** A whole-field user function: it reads the submission and the record so far. */
  | { kind: 'function'; name: string; module?: string }
  /** A code list a transform looks the value up in: its CSV file, or inline values. */
  | { kind: 'lookup'; name: string; file?: string; values?: number };

/** One transform step, in the order it runs. */
export interface LineageStep {
  /** The transform's name (`trim`, `lookup`, `function`, ...). */
  name: string;
  /** Its arguments as written in the mapping, when it has any. */
  args?: unknown;
  /** The step in words: `truncate 35`, `lookup TITLES (10 values, missing: default OTH)`. */
  text: string;
}

/** How one delivered field is produced. */
export interface FieldLineage {
  /** `FIELD`, or `GROUP.FIELD` for a repeating group's child field. */
  field: string;
  /**
   * The group this field belongs to, with where its items come from in
   * words (`each`: the list, `then`, `where` and `values` included), and
   * those parts as written.
   */
  group?: { name: string; each: string; values?: true; then?: string; where?: string; min?: number; max?: number };
  /** Which key of the mapping reads the value; `default` when only a default is given. */
  reads: 'from' | 'answer' | 'const' | 'template' | 'function' | 'default';
  /** The template, for `reads: template`. */
  template?: string;
  /** Every place the value is read from, in order, lookups last. */
  sources: LineageSource[];
  /** The transforms applied, in order (absent values skip them). */
  transforms: LineageStep[];
  /** The condition in words; when it is false the field takes its default. */
  when?: string;
  /** The value used when the field is absent (not transformed). */
  default?: unknown;
  required: boolean;
  /** Each validation check in words (`length 8`, `pattern ^[A-Z]+$`). */
  validate: string[];
  /** Cross-field rules that check this field. */
  rules: string[];
  pii: boolean;
}

/**
 * The lineage of every field of a mapping (spec or compiled), in record
 * order: parent fields first, then each group's fields as `GROUP.FIELD`.
 */
export function fieldLineage(mapping: MappingSpec | CompiledMapping): FieldLineage[] {
  const spec = 'map' in mapping ? mapping.spec : mapping;
  const out = spec.fields.map((f) => lineageOf(spec, f));
  for (const g of spec.groups) for (const f of g.fields) out.push(lineageOf(spec, f, g));
  return out;
}

/**
 * The lineage of a stored mapping version, from its canonical text (the
 * JSON `{document, related, functions}` whose hash is the version). The
 * canonical form sorts keys, so fields come in name order, not file order.
 * Throws `MAPPING_TEXT_INVALID` when the text is not such JSON, and
 * `MappingInvalidError` when the document no longer loads as a mapping.
 */
export function lineageFromCanonical(text: string, label = 'stored mapping'): FieldLineage[] {
  return fieldLineage(specFromCanonical(text, label));
}

/** The mapping spec held in a stored canonical text; throws as {@link lineageFromCanonical} does. */
export function specFromCanonical(text: string, label = 'stored mapping'): MappingSpec {
  const { document } = parseStoredMapping(text, label);
  const loaded = parseMapping(label, JSON.stringify(document));
  if (!loaded.spec) throw new MappingInvalidError(loaded.problems);
  return loaded.spec;
}

function lineageOf(spec: MappingSpec, f: FieldSpec, g?: GroupSpec): FieldLineage {
  const each = g ? eachText(g, spec) : '';
  const sources: LineageSource[] = [];
  let reads: FieldLineage['reads'] = 'default';
  if (f.from !== undefined) {
    reads = 'from';
    sources.push(pathSource(parsePath(f.from), spec, each));
  } else if (f.answer !== undefined) {
    reads = 'answer';
    sources.push(answerSource(f.answer, spec));
  } else if (f.const !== undefined) {
    reads = 'const';
    sources.push({ kind: 'constant', value: f.const });
  } else if (f.template !== undefined) {
    reads = 'template';
    for (const p of parseTemplate(f.template)) {
      if ('answer' in p) sources.push(answerSource(p.answer, spec));
      else if ('path' in p) sources.push(pathSource(p.path, spec, each));
    }
  } else if (f.function !== undefined) {
    reads = 'function';
    sources.push(spec.functions === undefined ? { kind: 'function', name: f.function } : { kind: 'function', name: f.function, module: spec.functions });
  }
  const transforms = f.transform.map((s) => step(s.name, s.args, spec));
  for (const s of f.transform) {
    const l = s.name === 'lookup' ? spec.lookups[String(s.args)] : undefined;
    if (l) sources.push(l.file !== undefined ? { kind: 'lookup', name: l.name, file: l.file } : { kind: 'lookup', name: l.name, values: Object.keys(l.values ?? {}).length });
  }
  const out: FieldLineage = {
    field: g ? `${g.name}.${f.name}` : f.name,
    reads,
    sources,
    transforms,
    required: f.required,
    validate: f.validate ? validationText(f.validate) : [],
    rules: g ? [] : spec.rules.filter((r) => r.fields.includes(f.name) || names(r.assert).has(f.name) || (r.when !== undefined && names(r.when).has(f.name))).map((r) => r.name),
    pii: f.pii,
  };
  if (g) {
    out.group = { name: g.name, each };
    if (g.values) out.group.values = true;
    if (g.then !== undefined) out.group.then = g.then;
    if (g.where !== undefined) out.group.where = conditionText(g.where);
    if (g.min !== undefined) out.group.min = g.min;
    if (g.max !== undefined) out.group.max = g.max;
  }
  if (f.template !== undefined) out.template = f.template;
  if (f.when !== undefined) out.when = conditionText(f.when);
  if (f.default !== undefined) out.default = f.default;
  return out;
}

/** Where a group's items come from, in words: `path questions, then each one's addresses, where path $outer.type equals applicant`. */
function eachText(g: GroupSpec, spec: MappingSpec): string {
  const text = g.each.startsWith('answer:') ? spec.questions[g.each.slice(7)]?.[0] : undefined;
  const list = g.each.startsWith('answer:') ? `answer ${g.each.slice(7)}${text !== undefined ? ` (${JSON.stringify(text)})` : ''}` : `path ${g.each}`;
  const parts = [g.values ? `the values of ${list}` : list];
  if (g.then !== undefined) parts.push(`then each one's ${g.then}`);
  if (g.where !== undefined) parts.push(`where ${conditionText(g.where)}`);
  return parts.join(', ');
}

function answerSource(ref: string, spec: MappingSpec): LineageSource {
  const { question, part } = parseAnswerRef(ref);
  const src: LineageSource = { kind: 'answer', question };
  if (part !== undefined) src.part = part;
  const text = spec.questions[question]?.[0];
  if (text !== undefined) src.text = text;
  return src;
}

/** `answers[question_id=X].part` reads an answer by id; other submission paths are metadata; `$...` are group variables. */
function pathSource(p: ParsedPath, spec: MappingSpec, each: string): LineageSource {
  if (p.root === '$parent') return { kind: 'parent', field: p.text.replace(/^\$parent\.?/, '') };
  if (p.root !== 'submission') return { kind: 'item', path: p.text, each };
  const [a, b, c, ...rest] = p.segments;
  if (a?.kind === 'key' && a.key === 'answers' && b?.kind === 'filter' && b.key === 'question_id') {
    const ref = c?.kind === 'key' && rest.length === 0 ? (c.key === 'answer_text' ? b.value : `${b.value}.${c.key}`) : undefined;
    if (ref !== undefined && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_]+)?$/.test(ref)) return answerSource(ref, spec);
  }
  return { kind: 'path', path: p.text };
}

function step(name: string, args: unknown, spec: MappingSpec): LineageStep {
  const out: LineageStep = { name, text: name };
  if (args === undefined || args === null) return out;
  out.args = args;
  if (name === 'lookup') {
    const l = spec.lookups[String(args)];
    out.text = l ? `lookup ${l.name} (${lookupText(l)})` : `lookup ${String(args)}`;
  } else if (name === 'function') out.text = `function ${String(args)}${spec.functions ? ` (${spec.functions})` : ''}`;
  else out.text = `${name} ${flow(args)}`;
  return out;
}

function lookupText(l: LookupSpec): string {
  const from = l.file !== undefined ? `file ${l.file}, ${l.keyColumn ?? '?'} to ${l.valueColumn ?? '?'}` : `${Object.keys(l.values ?? {}).length} values`;
  const missing = l.missing === 'default' ? `default ${flow(l.default)}` : l.missing;
  return `${from}${l.caseInsensitive ? ', any case' : ''}; not listed: ${missing}`;
}

function validationText(v: FieldValidation): string[] {
  const out: string[] = [];
  if (v.pattern !== undefined) out.push(`pattern ${v.pattern}`);
  if (v.length !== undefined) {
    const { min, max } = typeof v.length === 'number' ? { min: v.length, max: v.length } : v.length;
    out.push(min === max ? `length ${min}` : min === undefined ? `length at most ${max}` : max === undefined ? `length at least ${min}` : `length ${min} to ${max}`);
  }
  if (v.enum !== undefined) out.push(`enum ${flow(v.enum)}`);
  if (v.range !== undefined) {
    const { min, max } = v.range;
    out.push(min === undefined ? `range at most ${max}` : max === undefined ? `range at least ${min}` : `range ${min} to ${max}`);
  }
  return out;
}

const OPERATORS = ['exists', 'equals', 'notEquals', 'in', 'matches', 'gt', 'gte', 'lt', 'lte'] as const;

/** A condition in words: `path language equals cy`, `all of (...; ...)`. */
export function conditionText(c: Condition): string {
  if ('all' in c) return `all of (${c.all.map(conditionText).join('; ')})`;
  if ('any' in c) return `any of (${c.any.map(conditionText).join('; ')})`;
  if ('not' in c) return `not (${conditionText(c.not)})`;
  const cc: ComparisonCondition = c;
  const operand = cc.path !== undefined ? `path ${cc.path}` : cc.answer !== undefined ? `answer ${cc.answer}` : `field ${cc.field ?? '?'}`;
  const op = OPERATORS.find((o) => cc[o] !== undefined);
  if (op === undefined) return operand;
  const value = cc[op];
  const right = typeof value === 'object' && value !== null && !Array.isArray(value) && 'field' in value ? `field ${String(value.field)}` : flow(value);
  return `${operand} ${op} ${right}`;
}

function names(c: Condition): Set<string> {
  const out = new Set<string>();
  const walk = (x: Condition): void => {
    if ('all' in x) x.all.forEach(walk);
    else if ('any' in x) x.any.forEach(walk);
    else if ('not' in x) walk(x.not);
    else {
      if (x.field !== undefined) out.add(x.field);
      for (const o of OPERATORS) {
        const v = x[o];
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'field' in v) out.add(String(v.field));
      }
    }
  };
  walk(c);
  return out;
}

const BARE = /^[A-Za-z0-9_./:+\-@$]+$/u;
const LOOKS_TYPED = /^(?:[-+]?[0-9.]+|true|false|null|~)$/i;

/**
 * A value written compactly, as in a YAML flow: `35`, `dd/MM/yyyy`,
 * `{from: iso, to: yyyyMMdd}`, `"a b"`. Keys are sorted, so a stored
 * (canonical) version reads the same as the file it came from.
 */
export function flow(v: unknown): string {
  if (typeof v === 'string') return BARE.test(v) && !LOOKS_TYPED.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return `{${Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${BARE.test(k) ? k : JSON.stringify(k)}: ${flow(x)}`).join(', ')}}`;
  return String(v);
}

/** One place a value is read from, in words (`answer Fn3kQ8aZ.last_name ("What is your name?")`). */
export function sourceText(s: LineageSource): string {
  switch (s.kind) {
    case 'answer':
      return `answer ${s.question}${s.part !== undefined ? `.${s.part}` : ''}${s.text !== undefined ? ` (${JSON.stringify(s.text)})` : ''}`;
    case 'path':
      return `submission ${s.path}`;
    case 'item':
      return `${/^\$outer\b/.test(s.path) ? 'outer item' : 'group item'} ${s.path}`;
    case 'parent':
      return `parent field ${s.field}`;
    case 'constant':
      return `constant ${flow(s.value)}`;
    case 'function':
      return `function ${s.name}${s.module !== undefined ? ` (${s.module})` : ''}`;
    case 'lookup':
      return `lookup ${s.name} (${s.file !== undefined ? `file ${s.file}` : `${s.values ?? 0} inline values`})`;
  }
}

/**
 * The lineage as text for people (`rekey show --lineage`): one block per
 * field, its flags on the first line, then what it reads, its transforms
 * in order and the conditions and checks around them. Names and rules
 * only, never a submission's value.
 */
export function formatLineage(lineage: readonly FieldLineage[]): string {
  const blocks = lineage.map((l) => {
    const flags = [l.pii ? 'pii' : '', l.required ? 'required' : ''].filter(Boolean);
    const lines = [`${l.field}${flags.length ? `  [${flags.join(', ')}]` : ''}`];
    const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);
    if (l.group) row('each', `${l.group.each}${l.group.min !== undefined ? `, min ${l.group.min}` : ''}${l.group.max !== undefined ? `, max ${l.group.max}` : ''}`);
    if (l.when !== undefined) row('when', l.when);
    if (l.template !== undefined) row('template', JSON.stringify(l.template));
    for (const s of l.sources) row('reads', sourceText(s));
    if (l.transforms.length) row('transform', l.transforms.map((t) => t.text).join(' -> '));
    if (l.default !== undefined) row('default', flow(l.default));
    if (l.validate.length) row('validate', l.validate.join('; '));
    if (l.rules.length) row('rules', l.rules.join(', '));
    return lines.join('\n');
  });
  return blocks.length ? `${blocks.join('\n')}\n` : '';
}
