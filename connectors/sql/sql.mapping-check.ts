/**
 * Checks a mapping's fields against a table's live columns before anything
 * is written: a field with no column, a field that writes a generated
 * column, a declared length longer than the column's, a date formatted
 * for text going into a numeric or DATE column or one too long for its
 * text column (a legacy CHAR(8) takes yyyyMMdd), and (for inserts) a NOT
 * NULL column without a default that no field writes, and what the
 * mapping declares of a field's numbers against a numeric column
 * (`sql.number-check.ts`). The parent table is
 * checked against the mapping's fields, each child table against its
 * group's fields. Each problem names the mapping field (with its place in
 * the mapping file) and the column. Pure.
 */
import type { FieldSpec, GroupSpec, SourcePos, TransformStep } from '../../mappings/mapping.types.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import type { ColumnInfo, SqlMode, SqlTableSpec } from './sql.config.js';
import { numberFindings } from './sql.number-check.js';

/** One mismatch between mapping and table. */
export interface SchemaProblem {
  message: string;
  field?: string;
  column?: string;
  /** The mapping field's place, where known. */
  pos?: SourcePos;
}

/** What the check needs to know of the target's config. */
export interface CheckedTable {
  /** The table as named in messages. */
  table: string;
  columns: readonly ColumnInfo[];
  /** Mapping field -> column, where the names differ. */
  rename: Readonly<Record<string, string>>;
  /** Column that takes the submission key (absent in update mode by a business key). */
  keyColumn?: string;
  /** A child table: the column that takes the parent row's identity. */
  parentColumn?: string;
  /** A child table: the mapping group whose fields it takes (fields are named `GROUP[].FIELD`). */
  group?: { name: string; pos?: SourcePos };
  mode: SqlMode;
}

/** The mapping as a SQL target checks it: its fields, and its groups' fields where they are handed over (without them child tables go unchecked). */
export interface CheckedMapping {
  fields: readonly FieldSpec[];
  groups?: readonly Pick<GroupSpec, 'name' | 'fields' | 'pos'>[];
}

const argOf = (step: TransformStep, name: string): unknown => {
  const a = step.args;
  if (a !== null && typeof a === 'object' && !Array.isArray(a)) return (a as Record<string, unknown>)[name];
  return a;
};

/** The longest value the field can produce, as the mapping declares it (validate length, truncate, a constant), or undefined. */
export function declaredLength(f: FieldSpec): { max: number; how: string } | undefined {
  const v = f.validate?.length;
  if (typeof v === 'number') return { max: v, how: `validate length ${v}` };
  if (v && typeof v === 'object' && typeof v.max === 'number') return { max: v.max, how: `validate length max ${v.max}` };
  const cut = [...f.transform].reverse().find((s) => s.name === 'truncate');
  const n = cut && argOf(cut, 'length');
  if (typeof n === 'number') return { max: n, how: `truncate ${n}` };
  if (typeof f.const === 'string' && f.transform.length === 0) return { max: [...f.const].length, how: 'its constant' };
  return undefined;
}

/** The output format of the field's last transform when that is `date` (`iso` when not given). */
export function dateFormat(f: FieldSpec): string | undefined {
  const last = f.transform[f.transform.length - 1];
  if (last?.name !== 'date') return undefined;
  const to = argOf(last, 'to');
  return typeof to === 'string' ? to : 'iso';
}

function dateProblem(format: string, c: ColumnInfo): string | undefined {
  const digitsOnly = /^[yMdHms]+$/.test(format);
  if (c.family === 'number' && !digitsOnly) return `is a date formatted ${format}, which column type ${c.type} cannot hold: use a digits-only format such as yyyyMMdd`;
  if (c.family === 'date' && format !== 'iso' && format !== 'yyyy-MM-dd') return `is a date formatted ${format}; column type ${c.type} takes yyyy-MM-dd (to: yyyy-MM-dd)`;
  const width = /^(?:yyyy|yy|MM|dd|HH|mm|ss|[ .\-/:T])+$/.test(format) ? format.length : undefined;
  if (c.family === 'text' && width !== undefined && c.maxLength !== undefined && width > c.maxLength) return `is a date formatted ${format} (${width} characters), longer than column type ${c.type} holds`;
  return undefined;
}

/**
 * Every mismatch between `fields` and the table, in field order, then
 * columns no field writes. Findings that only some records may meet (a
 * number with no declared range into a smallint: see
 * `sql.number-check.ts`) go to `warnings`, in the same shape.
 */
export function checkMapping(fields: readonly FieldSpec[], t: CheckedTable, warnings: SchemaProblem[] = []): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const byName = new Map(t.columns.map((c) => [c.name.toUpperCase(), c]));
  const written = new Set<string>();
  const key = t.keyColumn?.toUpperCase();
  if (key) written.add(key);
  const parent = t.parentColumn?.toUpperCase();
  if (parent) written.add(parent);
  const group = t.group;
  for (const f of fields) {
    const name = t.rename[f.name] ?? f.name;
    const label = group ? `${group.name}[].${f.name}` : f.name;
    const at = (message: string, column?: string, into = problems): void => {
      const p: SchemaProblem = { message: `mapping field ${label}: ${message}`, field: label };
      if (column !== undefined) p.column = column;
      if (f.pos) p.pos = f.pos;
      into.push(p);
    };
    const c = byName.get(name.toUpperCase());
    if (!c) {
      at(`table ${t.table} has no column ${name}${t.rename[f.name] ? '' : ` (name another in ${group ? `children.${group.name}.` : ''}columns:)`}`);
      continue;
    }
    written.add(c.name.toUpperCase());
    const col = `column ${t.table}.${c.name} (${c.type})`;
    if (c.name.toUpperCase() === key) at(`${col} takes the submission key; the field would overwrite it`, c.name);
    if (c.name.toUpperCase() === parent) at(`${col} takes the parent row's identity; the field would overwrite it`, c.name);
    if (c.generated) at(`${col} is generated by the database (identity, auto-increment or computed) and cannot be written`, c.name);
    const len = declaredLength(f);
    if (len && c.maxLength !== undefined && len.max > c.maxLength) at(`can be ${len.max} characters long (${len.how}); ${col} holds at most ${c.maxLength}`, c.name);
    const format = dateFormat(f);
    const bad = format && dateProblem(format, c);
    if (bad) at(`${bad} (${col})`, c.name);
    const numbers = numberFindings(f, c, col);
    for (const m of numbers.problems) at(m, c.name);
    for (const m of numbers.warnings) at(m, c.name, warnings);
  }
  if (t.mode !== 'update') {
    for (const c of t.columns) {
      if (c.nullable || c.hasDefault || c.generated || written.has(c.name.toUpperCase())) continue;
      const p: SchemaProblem = { message: `column ${t.table}.${c.name} (${c.type}) is NOT NULL without a default, and no mapping field ${group ? `of group ${group.name} ` : ''}writes it`, column: c.name };
      if (group?.pos) p.pos = group.pos;
      problems.push(p);
    }
  }
  return problems;
}

/**
 * Every mismatch between the mapping and the tables of `spec` (see
 * {@link checkMapping}): the parent table against the mapping's fields,
 * then each child table of `children:` against its group's fields, its
 * parent column counting as written. Where the mapping's groups are known,
 * also a child table for a group the mapping does not have and (insert
 * mode) a group whose rows no table takes. A table whose live columns
 * `spec` does not hold is not checked. Warnings go to `warnings`.
 */
export function checkTarget(mapping: CheckedMapping, spec: SqlTableSpec, warnings: SchemaProblem[] = []): SchemaProblem[] {
  const mode = spec.mode ?? 'insert';
  const problems = spec.info ? checkMapping(mapping.fields, { table: spec.table, columns: [...spec.info.values()], rename: spec.columns, keyColumn: spec.keyColumn, mode }, warnings) : [];
  if (!mapping.groups) return problems;
  const groups = new Map(mapping.groups.map((g) => [g.name, g]));
  for (const [name, child] of Object.entries(spec.children ?? {})) {
    const group = groups.get(name);
    if (!group) {
      problems.push({ message: `children.${name}: the mapping has no group ${name}${groups.size ? ` (its groups: ${[...groups.keys()].join(', ')})` : ''}` });
      continue;
    }
    if (!child.info) continue;
    const at = group.pos ? { name, pos: group.pos } : { name };
    problems.push(...checkMapping(group.fields, { table: child.table, columns: [...child.info.values()], rename: child.columns, parentColumn: child.parentColumn, group: at, mode: 'insert' }, warnings));
  }
  if (mode === 'insert') {
    for (const g of mapping.groups) {
      if (spec.children?.[g.name]) continue;
      const p: SchemaProblem = { message: `mapping group ${g.name}: no table takes its rows (name one under children:)` };
      if (g.pos) p.pos = g.pos;
      problems.push(p);
    }
  }
  return problems;
}

/** `SQL_SCHEMA` (fatal) carrying every mismatch found, for `rekey validate --connect` to print each at its place. */
export class SqlSchemaFailure extends ConnectorFailure {
  readonly problems: SchemaProblem[];
  constructor(table: string, problems: SchemaProblem[]) {
    super(ConnectorErrors.SQL_SCHEMA, `the mapping does not fit table ${table}: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'SqlSchemaFailure';
    this.problems = problems;
  }
}
