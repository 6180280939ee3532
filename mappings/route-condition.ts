/**
 * A route's `when` (docs/routes.md): a condition of the mapping language,
 * read against the route's own mapping, so it may test the submission
 * (`answer:`, `path:`) and the fields that mapping builds (`field:`),
 * lookups included: "the council whose district list holds the postcode"
 * is a field mapped through a lookup that is present.
 */
import type { DocPath, YamlSource } from '../lib/yaml-source.js';
import * as H from './runtime.js';
import { Pools, condition, type Scope } from './codegen.js';
import { checkCondition } from './condition.check.js';
import type { CompiledMapping, Condition } from './mapping.types.js';

/** Decides whether a route applies to a submission, given what the route's mapping made of it. */
export type RoutePredicate = (submission: unknown, record: Record<string, unknown>) => boolean;

/** Reports on `src` at `path` every problem of `raw` as a condition over `mapping`'s fields (all of them: the route decides after mapping). */
export function checkRouteCondition(src: YamlSource, path: DocPath, raw: unknown, mapping: CompiledMapping): void {
  checkCondition(src, path, raw, new Set(mapping.spec.fields.map((f) => f.name)), false);
}

/** Compiles a condition already checked by {@link checkRouteCondition}. */
export function compileRouteCondition(when: Condition, mapping: CompiledMapping): RoutePredicate {
  const pools = new Pools();
  const scope: Scope = { target: 'r', inGroup: false, questions: mapping.spec.questions };
  const test = condition(when, pools, scope);
  const source = `"use strict";\nreturn function applies(s, r) {\nlet v, x, w;\nreturn ${test};\n};`;
  const factory = new Function('H', 'K', 'F', 'R', source) as (...a: unknown[]) => RoutePredicate;
  return factory(H, pools.values, pools.fns, pools.regexes);
}
