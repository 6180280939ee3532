/**
 * The pieces generated code is built from. Every value that came from a user
 * (names, strings, regexes, functions) goes into a constant pool and is
 * referred to by index, so no user text is ever spliced into code.
 */
import { parseAnswerRef, parsePath, parseTemplate, type ParsedPath } from './path.js';
import type { ComparisonCondition, Condition } from './mapping.types.js';

/** Constant pools shared by one compiled mapping. */
export class Pools {
  readonly values: unknown[] = [];
  readonly fns: unknown[] = [];
  readonly regexes: RegExp[] = [];
  private readonly index = new Map<unknown, number>();

  /** Expression for a constant value. */
  k(value: unknown): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === undefined) {
      const key = `${typeof value}:${String(value)}`;
      const hit = this.index.get(key);
      if (hit !== undefined) return `K[${hit}]`;
      this.index.set(key, this.values.length);
    }
    this.values.push(value);
    return `K[${this.values.length - 1}]`;
  }

  /** Expression for a function (transform, lookup, user function). */
  fn(f: unknown): string {
    this.fns.push(f);
    return `F[${this.fns.length - 1}]`;
  }

  /** Expression for a compiled regular expression. */
  re(pattern: string): string {
    this.regexes.push(new RegExp(pattern, 'u'));
    return `R[${this.regexes.length - 1}]`;
  }
}

/** Names of the variables in scope where a read is generated. */
export interface Scope {
  /** The record being built (for `field:` operands). */
  target: string;
  /** The parent record inside a group, else undefined. */
  parent?: string;
  inGroup: boolean;
  /** question_id -> question texts. */
  questions: Record<string, string[]>;
}

/** Expression reading a parsed path. */
export function readPath(p: ParsedPath, pools: Pools, scope: Scope): string {
  let expr: string;
  switch (p.root) {
    case 'submission':
      expr = 's';
      break;
    case '$item':
      expr = 'it';
      break;
    case '$index':
      return 'i';
    case '$position':
      return '(i + 1)';
    case '$parent':
      expr = scope.parent ?? scope.target;
      break;
    case '$outer':
      expr = 'ot';
      break;
  }
  for (const seg of p.segments) {
    if (seg.kind === 'key') expr = `H.get(${expr}, ${pools.k(seg.key)})`;
    else if (seg.kind === 'index') expr = `H.at(${expr}, ${String(Math.trunc(seg.index))})`;
    else expr = `H.where(${expr}, ${pools.k(seg.key)}, ${pools.k(seg.value)})`;
  }
  return expr;
}

/** Expression reading a GOV.UK Forms answer (`question_id` or `question_id.part`). */
export function readAnswer(ref: string, pools: Pools, scope: Scope, whole = false): string {
  const { question, part } = parseAnswerRef(ref);
  const texts = scope.questions[question];
  const a = `H.answer(s, ${pools.k(question)}, ${texts ? pools.k(texts) : 'undefined'})`;
  if (whole) return a;
  return `H.get(${a}, ${pools.k(part ?? 'answer_text')})`;
}

/** Expression building a template's text. */
export function readTemplate(text: string, pools: Pools, scope: Scope): string {
  const parts = parseTemplate(text).map((piece) => {
    if ('text' in piece) return pools.k(piece.text);
    if ('answer' in piece) return `H.str(${readAnswer(piece.answer, pools, scope)})`;
    return `H.str(${readPath(piece.path, pools, scope)})`;
  });
  return parts.length ? parts.join(' + ') : pools.k('');
}

/** Expression reading a condition's operand. */
function operand(c: ComparisonCondition, pools: Pools, scope: Scope): string {
  if (c.field !== undefined) return `${scope.target}[${pools.k(c.field)}]`;
  if (c.answer !== undefined) return readAnswer(c.answer, pools, scope);
  return readPath(parsePath(c.path ?? ''), pools, scope);
}

function other(v: unknown, pools: Pools, scope: Scope): string {
  if (v !== null && typeof v === 'object' && 'field' in v) return `${scope.target}[${pools.k((v as { field: string }).field)}]`;
  return pools.k(v);
}

/** Boolean expression for a condition. */
export function condition(c: Condition, pools: Pools, scope: Scope): string {
  if ('all' in c && c.all) return `(${c.all.map((x) => condition(x, pools, scope)).join(' && ')})`;
  if ('any' in c && c.any) return `(${c.any.map((x) => condition(x, pools, scope)).join(' || ')})`;
  if ('not' in c && c.not) return `!${condition(c.not, pools, scope)}`;
  const cc = c as ComparisonCondition;
  const x = operand(cc, pools, scope);
  if (cc.exists !== undefined) return cc.exists ? `H.present(${x})` : `!H.present(${x})`;
  if (cc.equals !== undefined) return `H.eq(${x}, ${pools.k(cc.equals)})`;
  if (cc.notEquals !== undefined) return `!H.eq(${x}, ${pools.k(cc.notEquals)})`;
  if (cc.in !== undefined) return `H.inList(${x}, ${pools.k(cc.in)})`;
  if (cc.matches !== undefined) return `(H.present(${x}) && ${pools.re(cc.matches)}.test(H.str(${x})))`;
  if (cc.gt !== undefined) return `(H.cmp(${x}, ${other(cc.gt, pools, scope)}) > 0)`;
  if (cc.gte !== undefined) return `(H.cmp(${x}, ${other(cc.gte, pools, scope)}) >= 0)`;
  if (cc.lt !== undefined) return `(H.cmp(${x}, ${other(cc.lt, pools, scope)}) < 0)`;
  if (cc.lte !== undefined) return `(H.cmp(${x}, ${other(cc.lte, pools, scope)}) <= 0)`;
  return 'false';
}

/** A JavaScript string literal for a name that the loader already checked. */
export function nameLiteral(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name === '__proto__' || name === 'constructor' || name === 'prototype') {
    throw new Error(`refusing to generate code for the name ${JSON.stringify(name)}`);
  }
  return JSON.stringify(name);
}
