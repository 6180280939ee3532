/**
 * Compiles a checked mapping into one plain JavaScript function, built once
 * and called per submission. User-supplied text reaches the generated code
 * only through constant pools (see codegen.ts).
 */
import * as H from './runtime.js';
import { Pools, condition, nameLiteral, readAnswer, readPath, readTemplate, type Scope } from './codegen.js';
import { parseAnswerRef, parsePath, parseTemplate, type ParsedPath } from './path.js';
import { buildLookup } from './lookups.js';
import { mappingCanonical, versionOfText } from './version.js';
import { MappingInvalidError, type Problem } from './mapping.errors.js';
import { TRANSFORMS } from './transforms/index.js';
import type { TransformCtx, TransformEnv, TransformFn } from './transforms/transform.types.js';
import type { CompiledMapping, FieldSpec, MapResult, MappingSpec, RecordNote, SourcePos } from './mapping.types.js';

/** What the compiler needs besides the spec: the things the caller read for it. */
export interface CompileInput {
  /** Text of a file named by the mapping (lookup CSVs), relative to the mapping; undefined if absent. */
  readRelated?: (relPath: string) => string | undefined;
  /** Exports of the mapping's `functions` module, already imported by the caller. */
  functions?: Record<string, unknown>;
  /** Source text of the functions module, so that it is part of the version. */
  functionsSource?: string;
  /** The document's plain value, for the version hash (defaults to the spec). */
  document?: unknown;
}

interface Ctx extends TransformCtx {
  field: string;
  notes: RecordNote[];
}

/**
 * Builds the mapping function. Throws `MappingInvalidError` listing every
 * problem (bad transform arguments, unknown functions, unreadable lookups).
 */
export function compileMapping(spec: MappingSpec, input: CompileInput = {}): CompiledMapping {
  const problems: Problem[] = [];
  const at = (pos: SourcePos | undefined, path: string, message: string) =>
    problems.push({ file: spec.file, line: pos?.line ?? 1, col: pos?.col ?? 1, path, message });
  const lookups = new Map<string, TransformFn>();
  const failedLookups = new Set<string>();
  const related: Record<string, string> = {};
  for (const l of Object.values(spec.lookups)) {
    const text = l.file !== undefined ? input.readRelated?.(l.file) : undefined;
    if (l.file !== undefined) {
      if (text === undefined) {
        at(l.pos, `lookups.${l.name}.file`, `cannot read lookup file "${l.file}"`);
        failedLookups.add(l.name);
        continue;
      }
      related[l.file] = text;
    }
    try {
      lookups.set(l.name, buildLookup(l, text));
    } catch (e) {
      at(l.pos, `lookups.${l.name}`, (e as Error).message);
      failedLookups.add(l.name);
    }
  }
  const userFn = (name: string) => {
    const f = input.functions?.[name];
    return typeof f === 'function' ? (f as TransformFn) : undefined;
  };
  const env: TransformEnv = { lookup: (n) => lookups.get(n), userFunction: userFn };
  const pools = new Pools();
  const ctx: Ctx = {
    field: '',
    notes: [],
    note(rule, message) {
      this.notes.push({ field: this.field, rule, message });
    },
  };

  const fieldCode = (f: FieldSpec, scope: Scope, label: string, path: string): string => {
    const steps: string[] = [];
    f.transform.forEach((step, i) => {
      if (step.name === 'lookup' && failedLookups.has(String(step.args))) return;
      const def = TRANSFORMS.get(step.name);
      try {
        if (!def) throw new Error(`unknown transform "${step.name}"`);
        steps.push(pools.fn(def.create(step.args as never, env)));
      } catch (e) {
        at(step.pos, `${path}.transform[${i}]`, `${step.name}: ${(e as Error).message}`);
      }
    });
    if (f.function !== undefined && !userFn(f.function)) {
      const why = spec.functions ? `is not a function exported by ${spec.functions}` : 'needs a "functions" module in the mapping';
      at(f.pos, `${path}.function`, `function "${f.function}" ${why}`);
    }
    const user = f.function !== undefined ? userFn(f.function) : undefined;
    return generateField(f, scope, label, steps, pools, user ? pools.fn(user) : undefined);
  };

  const top: Scope = { target: 'r', inGroup: false, questions: spec.questions };
  let body = '';
  for (const f of spec.fields) body += fieldCode(f, top, pools.k(f.name), `fields.${f.name}`);
  for (const g of spec.groups) {
    const scope: Scope = { target: 'c', parent: 'r', inGroup: true, questions: spec.questions };
    const byAnswer = g.each.startsWith('answer:');
    const each = byAnswer ? readAnswer(g.each.slice(7), pools, scope, true) : readPath(parsePath(g.each), pools, scope);
    const gname = pools.k(g.name);
    const eachSource = pools.k(g.each);
    let inner = '';
    for (const f of g.fields) inner += fieldCode(f, scope, `${gname} + "[" + (i + 1) + "]." + ${pools.k(f.name)}`, `groups.${g.name}.fields.${f.name}`);
    const lit = `{${g.fields.map((f) => `${nameLiteral(f.name)}: undefined`).join(', ')}}`;
    const list = byAnswer ? `H.items(${each})` : g.values ? `H.valuesOf(${each})` : `H.listItems(${each})`;
    const notList = g.values ? `${g.each} is not an object: each: { values: true } takes an object's values` : `${g.each} is not a list${byAnswer ? '' : ' (for the values of an object, write each: { path, values: true })'}`;
    body += `{ const L = ${list}; const G = ch[${nameLiteral(g.name)}]; let ots;\n`;
    body += `if (L === undefined) E.push(H.error(${gname}, ${eachSource}, 'group-each', ${pools.k(notList)}));\n`;
    body += 'let its = L === undefined ? [] : L;\n';
    if (g.then !== undefined) {
      const rel = parsePath(g.then);
      const read = readPath({ ...rel, root: '$item' }, pools, scope);
      body += `{ const f = H.flatten(its, (it) => ${read}); its = f.items; ots = f.outers; if (f.bad) E.push(H.error(${gname}, ${pools.k(`${g.each} then ${g.then}`)}, 'group-each', ${pools.k(`${g.then} of an item is not a list`)})); }\n`;
    }
    if (g.where !== undefined) {
      body += `{ const K2 = [], O2 = []; for (let i = 0; i < its.length; i++) { const it = its[i]; const ot = ots === undefined ? undefined : ots[i]; if (${condition(g.where, pools, scope)}) { K2.push(it); O2.push(ot); } } its = K2; if (ots !== undefined) ots = O2; }\n`;
    }
    if (g.min !== undefined) body += `if (its.length < ${g.min}) E.push(H.error(${gname}, undefined, 'group-min', ${pools.k(`needs at least ${g.min} item(s)`)}));\n`;
    if (g.max !== undefined) body += `if (its.length > ${g.max}) E.push(H.error(${gname}, undefined, 'group-max', ${pools.k(`allows at most ${g.max} item(s)`)}));\n`;
    body += `for (let i = 0; i < its.length; i++) { const it = its[i]; const ot = ots === undefined ? undefined : ots[i]; const c = ${lit};\n${inner}G.push(c); } }\n`;
  }
  for (const rule of spec.rules) {
    const fields = rule.fields.length ? rule.fields : [rule.name];
    const guard = rule.fields.length ? `!H.hasError(E, ${pools.k(rule.fields)}) && ` : '';
    const when = rule.when ? `${condition(rule.when, pools, top)} && ` : '';
    body += `if (${guard}${when}!${condition(rule.assert, pools, top)}) E.push(H.error(${pools.k(fields.join(', '))}, undefined, ${pools.k(rule.name)}, ${pools.k(rule.message)}));\n`;
  }
  if (problems.length) throw new MappingInvalidError(problems);

  const recordLit = `{${spec.fields.map((f) => `${nameLiteral(f.name)}: undefined`).join(', ')}}`;
  const childLit = `{${spec.groups.map((g) => `${nameLiteral(g.name)}: []`).join(', ')}}`;
  const source = `"use strict";\nreturn function map(s) {\nconst E = []; const N = []; X.notes = N; const r = ${recordLit}; const ch = ${childLit}; let v, x, w;\n${body}return { ok: E.length === 0, record: r, children: ch, errors: E, notes: N };\n};`;
  const factory = new Function('H', 'K', 'F', 'R', 'X', source) as (...a: unknown[]) => (s: unknown) => MapResult;
  const map = factory(H, pools.values, pools.fns, pools.regexes, ctx);
  const pii = new Set<string>();
  for (const f of spec.fields) if (f.pii) pii.add(f.name);
  for (const g of spec.groups) for (const f of g.fields) if (f.pii) pii.add(`${g.name}.${f.name}`);
  const canonical = mappingCanonical(input.document ?? spec, related, input.functionsSource);
  const version = versionOfText(canonical);
  return { spec: { ...spec, version }, version, canonical, piiFields: pii, map, keyOf: keyFunction(spec), source };
}

const DEFAULT_KEY = '{{form_name}}/{{submission_reference}}';

/** The submission key function: the `key` template, or form name and reference; undefined when a part is missing. */
function keyFunction(spec: MappingSpec): (submission: unknown) => string | undefined {
  const pieces = parseTemplate(spec.key ?? DEFAULT_KEY);
  return (s) => {
    let out = '';
    for (const p of pieces) {
      if ('text' in p) out += p.text;
      else {
        const v = 'answer' in p ? readAnswerValue(p.answer, spec, s) : readValue(p.path, s);
        if (!H.present(v) || typeof v === 'object') return undefined;
        out += String(v);
      }
    }
    return out;
  };
}

function readAnswerValue(ref: string, spec: MappingSpec, s: unknown): unknown {
  const { question, part } = parseAnswerRef(ref);
  return H.get(H.answer(s, question, spec.questions[question]), part ?? 'answer_text');
}

function readValue(p: ParsedPath, s: unknown): unknown {
  let v = p.root === 'submission' ? s : undefined;
  for (const seg of p.segments) v = seg.kind === 'key' ? H.get(v, seg.key) : seg.kind === 'index' ? H.at(v, seg.index) : H.where(v, seg.key, seg.value);
  return v;
}

function generateField(f: FieldSpec, scope: Scope, label: string, steps: string[], pools: Pools, user: string | undefined): string {
  const src = f.from ?? (f.answer !== undefined ? `answer:${f.answer}` : undefined);
  const srcK = src === undefined ? 'undefined' : pools.k(src);
  const pii = f.pii ? 'true' : 'false';
  let read: string;
  if (f.from !== undefined) read = readPath(parsePath(f.from), pools, scope);
  else if (f.answer !== undefined) read = readAnswer(f.answer, pools, scope);
  else if (f.template !== undefined) read = readTemplate(f.template, pools, scope);
  else if (f.const !== undefined) read = pools.k(f.const);
  else read = 'undefined';
  let code = `x = false; v = undefined; w = undefined; X.field = ${label};\n`;
  let main = user !== undefined ? `v = ${user}(s, ${scope.target}, ${scope.inGroup ? 'it' : 'undefined'});\n` : `v = ${read};\n`;
  if (steps.length) main += `w = v;\n` + steps.map((t) => `if (H.present(v)) v = ${t}(v, X);\n`).join('');
  if (steps.length || user !== undefined) {
    main = `try {\n${main}} catch (e) { E.push(H.failure(${label}, ${srcK}, e, ${pii}, w)); x = true; v = undefined; }\n`;
  }
  code += f.when ? `if (${condition(f.when, pools, scope)}) {\n${main}}\n` : main;
  const dflt = f.default !== undefined ? pools.k(f.default) : 'undefined';
  const req = f.required ? ` if (!x) E.push(H.error(${label}, ${srcK}, 'required', 'is required but was not given'));` : '';
  code += `if (!H.present(v)) { v = ${dflt};${f.default === undefined ? req : ''} }\n`;
  const checks = validationCode(f, label, srcK, pools);
  if (checks) code += `if (!x && H.present(v)) {\n${checks}}\n`;
  code += `${scope.target}[${nameLiteral(f.name)}] = v;\n`;
  return `{\n${code}}\n`;
}

function validationCode(f: FieldSpec, label: string, srcK: string, pools: Pools): string {
  const v = f.validate;
  if (!v) return '';
  const msg = (fallback: string) => pools.k(v.message ?? fallback);
  let code = '';
  if (v.pattern !== undefined) code += `if (!${pools.re(v.pattern)}.test(H.str(v))) E.push(H.error(${label}, ${srcK}, 'pattern', ${msg(`must match ${v.pattern}`)}));\n`;
  if (v.length !== undefined) {
    const { min, max } = typeof v.length === 'number' ? { min: v.length, max: v.length } : v.length;
    const text = min === max ? `must be exactly ${min} characters` : min !== undefined && max !== undefined ? `must be ${min} to ${max} characters` : min !== undefined ? `must be at least ${min} characters` : `must be at most ${max} characters`;
    const conds = [min !== undefined ? `H.len(v) < ${Number(min)}` : '', max !== undefined ? `H.len(v) > ${Number(max)}` : ''].filter(Boolean).join(' || ');
    if (conds) code += `if (${conds}) E.push(H.error(${label}, ${srcK}, 'length', ${msg(text)} + (${pools.k(v.message)} === undefined ? " (got " + H.len(v) + ")" : "")));\n`;
  }
  if (v.enum !== undefined) code += `if (!H.inList(v, ${pools.k(v.enum)})) E.push(H.error(${label}, ${srcK}, 'enum', ${msg(`must be one of ${v.enum.map(String).join(', ')}`)}));\n`;
  if (v.range !== undefined) {
    const { min, max } = v.range;
    const text = `must be ${min !== undefined ? `at least ${min}` : ''}${min !== undefined && max !== undefined ? ' and ' : ''}${max !== undefined ? `at most ${max}` : ''}`;
    code += `if (!H.inRange(v, ${pools.k(min)}, ${pools.k(max)})) E.push(H.error(${label}, ${srcK}, 'range', ${msg(text)}));\n`;
  }
  return code;
}
