/**
 * Reading a created record back: its page is opened and each declared
 * field's element is read and compared with what was keyed (the field's
 * value, or an `expect` template). With `normalise`, both sides first go
 * through the same named transforms of the mapping language (for example
 * `[upper, { replace: { pattern: "\\s+" } }]` for a registration the
 * legacy app stores without spaces), so a value the application only
 * normalised is not reported as a mismatch. Mismatches name fields, never
 * values.
 */
import { Type } from 'typebox';
import { compileTransformChain, mappingSchema } from '../../mappings/index.js';
import type { ReadBackConfig } from './browser.config.js';
import { parseTemplate, renderTemplate } from './browser.template.js';
import { runSteps, type PageWatch, type StepEnv } from './browser.steps.js';

type StepSchema = { oneOf: [{ enum: string[] }, ...{ required: [string] }[]] };
const step = (mappingSchema() as { definitions: { transformStep: StepSchema } }).definitions.transformStep;
const [bare, ...withArgs] = step.oneOf;
const names = [...new Set([...bare.enum, ...withArgs.map((w) => w.required[0])])].sort();

/**
 * JSON Schema of a read-back field's `normalise`: a mapping's transform
 * list, by transform name (a name, or a one-key mapping of a name to its
 * arguments); the arguments are checked when the target is set up.
 */
export const normaliseSchema = Type.Unsafe<unknown[]>({
  type: 'array',
  minItems: 1,
  items: { oneOf: [{ enum: bare.enum }, { type: 'object', minProperties: 1, maxProperties: 1, propertyNames: { enum: names } }] },
  description: 'Transforms of the mapping language (as in a mapping\'s transform: list) applied to both the expected and the shown text before comparing.',
});

type Normaliser = (v: string) => string;
const spaces = (v: string) => v.replace(/\s+/g, ' ').trim();

/** Problems of the `normalise` lists of `rb` (unknown transforms, refused arguments), each naming the field. */
export function checkReadBack(rb: ReadBackConfig | undefined): string[] {
  const problems: string[] = [];
  for (const [name, f] of Object.entries(rb?.fields ?? {})) {
    if (typeof f === 'string' || !f.normalise) continue;
    try {
      compileTransformChain(f.normalise);
    } catch (e) {
      problems.push(`readBack.fields.${name}.normalise${(e as Error).message}`);
    }
  }
  return problems;
}

/** A read-back, its normalisers compiled once. */
export class ReadBack {
  private readonly fields: { field: string; selector: string; expect?: string; normalise?: Normaliser }[];

  /** Throws an Error for a normaliser {@link checkReadBack} reports. */
  constructor(private readonly config: ReadBackConfig) {
    this.fields = Object.entries(config.fields).map(([field, f]) => {
      if (typeof f === 'string') return { field, selector: f };
      const chain = f.normalise ? compileTransformChain(f.normalise) : undefined;
      return { field, selector: f.selector, ...(f.expect !== undefined && { expect: f.expect }), ...(chain && { normalise: (v: string) => String(chain(v) ?? '') }) };
    });
  }

  /** Opens the record's page and resolves to the fields whose shown text differs from the expected (after normalising); throws what a step throws. */
  async mismatches(watch: PageWatch, env: StepEnv, record: Record<string, unknown>): Promise<string[]> {
    await runSteps([{ goto: this.config.goto }], watch, env);
    const out: string[] = [];
    for (const f of this.fields) {
      const want = f.expect === undefined ? String(record[f.field] ?? '') : renderTemplate(parseTemplate(f.expect), (n) => env.lookup(n));
      const shown = (await watch.guard(watch.page.locator(f.selector).first().textContent({ timeout: env.timeout }))) ?? '';
      if (!same(spaces(want), spaces(shown), f.normalise)) out.push(f.field);
    }
    return out;
  }
}

function same(want: string, shown: string, normalise: Normaliser | undefined): boolean {
  if (!normalise) return want === shown;
  try {
    return normalise(want) === normalise(shown);
  } catch {
    return false;
  }
}
