/**
 * Load-time checks of `when` and rule conditions: one operand and one
 * operator per comparison, known fields, valid paths and regular expressions.
 */
import { suggest, type DocPath, type YamlSource } from '../lib/yaml-source.js';
import { checkRef, checkRegex } from './ref.check.js';

/** Keys that name what a comparison reads. */
export const OPERANDS = ['path', 'field', 'answer'] as const;
/** Keys that name how a comparison tests it. */
export const OPERATORS = ['exists', 'equals', 'notEquals', 'in', 'matches', 'gt', 'gte', 'lt', 'lte'] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reports every problem of the condition at `path`. `fields` holds the target
 * fields a `field:` operand may name (those mapped before this point).
 */
export function checkCondition(src: YamlSource, path: DocPath, raw: unknown, fields: ReadonlySet<string>, inGroup: boolean): void {
  if (!isObj(raw)) return;
  for (const k of ['all', 'any'] as const) {
    if (Array.isArray(raw[k])) (raw[k] as unknown[]).forEach((c, i) => checkCondition(src, [...path, k, i], c, fields, inGroup));
  }
  if (raw.not !== undefined) checkCondition(src, [...path, 'not'], raw.not, fields, inGroup);
  const combinators = ['all', 'any', 'not'].filter((k) => raw[k] !== undefined);
  const operands = OPERANDS.filter((k) => raw[k] !== undefined);
  const operators = OPERATORS.filter((k) => raw[k] !== undefined);
  if (combinators.length > 1 || (combinators.length === 1 && (operands.length || operators.length))) {
    src.report(path, 'a condition is either one of all/any/not, or one operand with one operator');
    return;
  }
  if (combinators.length === 1) return;
  if (operands.length !== 1) {
    src.report(path, `a condition needs exactly one of ${OPERANDS.join(', ')}${operands.length ? `, got ${operands.join(' and ')}` : ''}`);
  }
  if (operators.length !== 1) {
    src.report(path, `a condition needs exactly one of ${OPERATORS.join(', ')}${operators.length ? `, got ${operators.join(' and ')}` : ''}`);
  }
  if (typeof raw.field === 'string') checkField(src, [...path, 'field'], raw.field, fields);
  if (typeof raw.path === 'string') checkRef(src, [...path, 'path'], 'from', raw.path, inGroup);
  if (typeof raw.answer === 'string') checkRef(src, [...path, 'answer'], 'answer', raw.answer, inGroup);
  if (typeof raw.matches === 'string') checkRegex(src, [...path, 'matches'], raw.matches);
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
    const v = raw[op];
    if (isObj(v) && typeof v.field === 'string') checkField(src, [...path, op, 'field'], v.field, fields);
  }
}

function checkField(src: YamlSource, path: DocPath, name: string, fields: ReadonlySet<string>): void {
  if (!fields.has(name)) {
    src.report(path, `field "${name}" is not defined before this point${suggest(name, fields)} (conditions see fields mapped above them)`);
  }
}
