/**
 * Turns JSON Schema errors into located problems with plain messages:
 * `unknown key "colums" under fields.SURNAME, did you mean "columns"?`.
 * Shared by every loader of definition files.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { pathLabel, suggest, type DocPath, type YamlSource } from './yaml-source.js';

/**
 * The Ajv instance every loader compiles with, one per thread: all errors,
 * with schemas kept for suggestions. One instance compiles Ajv's own
 * meta-schema once, where an instance per schema did it again for every
 * schema (about 20 ms each, a mapping's transform arguments included);
 * schemas are not registered by `$id` (`addUsedSchema: false`), so two
 * schemas sharing an `$id` never clash.
 */
let shared: Ajv | undefined;

function toDocPath(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function typeOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function describeOneOf(schema: unknown): string {
  const alts = (schema as { oneOf?: unknown[] }).oneOf ?? [];
  const kinds = alts.map((a) => {
    const s = a as { type?: string | string[]; enum?: unknown[] };
    if (s.enum) return `one of ${s.enum.map(String).join(', ')}`;
    if (Array.isArray(s.type)) return s.type.join(' or ');
    return s.type === 'object' ? 'a mapping' : s.type === 'array' ? 'a list' : (s.type ?? 'a value');
  });
  return [...new Set(kinds)].join(', or ');
}

/**
 * Validates `value` with `validate` and reports each error on `src` at its
 * place in the file. Errors under paths for which `skip` is true are left to
 * the caller's own checks; `base` is where `value` sits in the document.
 * Returns whether the value was valid.
 */
export function checkAgainstSchema(
  src: YamlSource,
  value: unknown,
  validate: ValidateFunction,
  opts: { skip?: (path: DocPath) => boolean; base?: DocPath } = {},
): boolean {
  if (validate(value)) return true;
  const base = opts.base ?? [];
  const errors = (validate.errors ?? []).filter((e) => !opts.skip?.(toDocPath(e.instancePath)));
  const hidden: string[] = [];
  const shown = new Set<ErrorObject>();
  for (const e of errors.filter((x) => x.keyword === 'oneOf')) {
    const branch = matchingBranch(e);
    if (branch === undefined) hidden.push(e.schemaPath);
    else {
      shown.add(e);
      hidden.push(...(e.schema as unknown[]).map((_, i) => `${e.schemaPath}/${i}`).filter((p) => p !== `${e.schemaPath}/${branch}`));
    }
  }
  const seen = new Set<string>();
  for (const e of errors) {
    if (shown.has(e)) continue;
    if (hidden.some((p) => e.schemaPath !== p && e.schemaPath.startsWith(p + '/'))) continue;
    if (e.keyword === 'if' || e.keyword === 'propertyNames' || e.keyword === 'anyOf') continue;
    const problem = describe(e, base);
    const key = `${problem.path.join('/')}|${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    src.report(problem.path, problem.message, problem.atKey);
  }
  return false;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** The one `oneOf` alternative whose type fits the data, whose own errors say more than the summary. */
function matchingBranch(e: ErrorObject): number | undefined {
  const alts = Array.isArray(e.schema) ? (e.schema as { type?: string | string[]; enum?: unknown[] }[]) : [];
  const t = jsonType(e.data);
  const fits = alts
    .map((a, i) => ({ i, types: a.type === undefined ? [] : Array.isArray(a.type) ? a.type : [a.type], isEnum: a.enum !== undefined }))
    .filter((a) => !a.isEnum && (a.types.includes(t) || (t === 'integer' && a.types.includes('number'))));
  return fits.length === 1 ? fits[0]!.i : undefined;
}

function describe(e: ErrorObject, base: DocPath): { path: DocPath; message: string; atKey: boolean } {
  const path = [...base, ...toDocPath(e.instancePath)];
  const where = path.length ? pathLabel(path) : 'the top level';
  const last = path[path.length - 1];
  const name = last === undefined ? 'the document' : typeof last === 'number' ? `item ${last + 1}` : `"${last}"`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return { path: [...path, key], message: `unknown key "${key}" under ${where}${suggest(key, known)}`, atKey: true };
    }
    case 'required':
      return { path, message: `missing key "${String(params.missingProperty)}" under ${where}`, atKey: false };
    case 'type':
      return { path, message: `${name} must be ${String(params.type)}, got ${typeOf(e.data)}`, atKey: false };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = typeof e.data === 'string' ? suggest(e.data, allowed) : '';
      return { path, message: `${name} must be one of ${allowed.join(', ')}, got ${typeOf(e.data)}${hint}`, atKey: false };
    }
    case 'pattern':
      if (params.propertyName !== undefined || e.propertyName !== undefined) {
        const prop = String(e.propertyName ?? params.propertyName);
        return { path: [...path, prop], message: `name "${prop}" under ${where} must match ${String(params.pattern)}`, atKey: true };
      }
      return { path, message: `${name} must match ${String(params.pattern)}, got ${typeOf(e.data)}`, atKey: false };
    case 'not': {
      // A `not` says what is refused in its own `description` ("must not ..."); without one, the refused pattern.
      const refused = e.schema as { description?: unknown; pattern?: unknown } | undefined;
      const why = typeof refused?.description === 'string' ? refused.description : `must not match ${typeof refused?.pattern === 'string' ? refused.pattern : 'the refused form'}`;
      return { path, message: `${name} ${why}, got ${typeOf(e.data)}`, atKey: false };
    }
    case 'oneOf':
      return { path, message: `${name} must be ${describeOneOf(e.schema === undefined ? e.parentSchema : { oneOf: e.schema })}, got ${typeOf(e.data)}`, atKey: false };
    default:
      return { path, message: `${name} ${e.message ?? 'is not valid'}`, atKey: false };
  }
}

/** Compiles a schema with the thread's one Ajv instance (which keeps what it compiled: callers hold their validators for the life of the thread). */
export function compileSchema(schema: object): ValidateFunction {
  shared ??= new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true, addUsedSchema: false });
  return shared.compile(schema);
}
