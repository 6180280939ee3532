/**
 * The transform reference page, rendered from the declarations themselves so
 * that the documentation cannot drift from the code.
 */
import YAML from 'yaml';
import { TRANSFORM_GROUPS, type TransformGroup } from './index.js';
import type { TransformDef } from './transform.types.js';

type Schema = Record<string, unknown>;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function range(s: Schema): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return ` ${min} to ${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

function typeOf(s: Schema): string {
  const alternatives = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (alternatives !== undefined) return alternatives.map(typeOf).join(' or ');
  if (Array.isArray(s.enum)) return s.enum.map(code).join(' or ');
  switch (s.type) {
    case 'string': return 'text';
    case 'integer': return 'integer' + range(s);
    case 'number': return 'number' + range(s);
    case 'boolean': return 'true or false';
    case 'array': return `list of ${typeOf((s.items ?? {}) as Schema)}`;
    case 'object': {
      const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
      return props.length === 0 ? 'object' : `object with ${props.map(([k, p]) => `${code(k)} (${typeOf(p)})`).join(', ')}`;
    }
    default: return 'any value';
  }
}

function shownDefault(value: unknown): unknown {
  return typeof value === 'string' && (value === '' || value.trim() !== value) ? JSON.stringify(value) : value;
}

function propertyTable(s: Schema): string[] {
  const required = new Set((s.required ?? []) as string[]);
  const rows = Object.entries((s.properties ?? {}) as Record<string, Schema>).map(([name, p]) => {
    const dflt = required.has(name) ? 'required' : p.default === undefined ? '' : code(shownDefault(p.default));
    return `| ${code(name)} | ${cell(typeOf(p))} | ${cell(dflt)} | ${cell(String(p.description ?? ''))} |`;
  });
  return ['| argument | type | default | meaning |', '|---|---|---|---|', ...rows];
}

function argumentLines(def: TransformDef): string[] {
  const s = def.args;
  if (s === undefined) return [`No arguments: write it as a bare name, \`${def.name}\`.`];
  const alternatives = (s.oneOf ?? [s]) as Schema[];
  const objects = alternatives.filter((a) => a.type === 'object');
  const shorthands = alternatives.filter((a) => a.type !== 'object');
  const lines: string[] = [];
  const short = shorthands.map((a) => `${typeOf(a)}${a.description ? ` (${String(a.description)})` : ''}`).join(', or ');
  if (objects.length === 0) lines.push(`Argument: ${short}.`);
  else if (short !== '') lines.push(`Argument: ${short}; or an object:`);
  else lines.push(objects.length > 1 ? 'Argument: one of these objects:' : 'Arguments:');
  objects.forEach((o, i) => {
    lines.push('');
    if (i > 0) lines.push('or:', '');
    lines.push(...propertyTable(o));
  });
  if (def.argsOptional === true) lines.push('', `The arguments are optional: a bare \`${def.name}\` uses the defaults.`);
  return lines;
}

/** The step as a mapping would write it, e.g. `transform: [ { truncate: 35 } ]`. */
function exampleYaml(def: TransformDef): string {
  const step = def.args === undefined || def.example === undefined ? def.name : { [def.name]: def.example };
  return `transform: ${YAML.stringify([step], { collectionStyle: 'flow', lineWidth: 0 }).trim()}`;
}

function summary(def: TransformDef): string {
  return `| ${code(def.name)} | ${cell(def.doc)} | ${code(exampleYaml(def).slice('transform: '.length))} |`;
}

function section(def: TransformDef): string[] {
  return [`#### \`${def.name}\``, '', def.doc, '', ...argumentLines(def), '', '```yaml', exampleYaml(def), '```', ''];
}

/**
 * Renders the Markdown reference of every built-in transform (or of `groups`):
 * a summary table, then per theme one section per transform with its doc,
 * its arguments (from the JSON Schema: type, default, meaning) and a YAML
 * example. Pure: same input, same text.
 */
export function renderTransformReference(groups: readonly TransformGroup[] = TRANSFORM_GROUPS): string {
  const defs = groups.flatMap((g) => g.transforms);
  const lines = ['| transform | what it does | example |', '|---|---|---|', ...defs.map(summary), ''];
  for (const g of groups) {
    lines.push(`### ${g.title}`, '');
    for (const def of g.transforms) lines.push(...section(def));
  }
  return lines.join('\n').replace(/\n+$/, '\n');
}
