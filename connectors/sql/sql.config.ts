/**
 * Settings every SQL target shares (which table, which key column, how
 * mapping fields name columns), their JSON Schema properties, and the
 * writer's view of a table. Each dialect's target adds how to reach its
 * database.
 */

/** Table settings of a SQL target's config. */
export type SqlTableConfig = {
  /** Table the records go into; `schema.table` where the database has schemas. */
  table: string;
  /** Column holding the submission key; it must have a UNIQUE constraint or index. */
  keyColumn: string;
  /** Mapping field -> column, for fields whose column has another name; other fields go to the column of their own name. */
  columns?: Record<string, string>;
  /** Column read back as the legacy reference; default the dialect's row identity (SQLite: rowid). */
  refColumn?: string;
  /** Most rows in one INSERT statement; default 100. */
  batchSize?: number;
};

/** Default of {@link SqlTableConfig.batchSize}. */
export const DEFAULT_SQL_BATCH_SIZE = 100;

/** Pattern of SQL identifiers the targets accept (quoted when used). */
export const SQL_IDENTIFIER = '^[A-Za-z_][A-Za-z0-9_]*$';

const identifier = (description: string) => ({ type: 'string', pattern: SQL_IDENTIFIER, description });

/** JSON Schema properties of {@link SqlTableConfig}, for a dialect's config schema. */
export const sqlTableProperties: Record<string, unknown> = {
  table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$', description: 'Table the records go into (schema.table where there are schemas).' },
  keyColumn: identifier('Column holding the submission key; must be UNIQUE. Makes delivery idempotent.'),
  columns: {
    type: 'object',
    description: 'Mapping field -> column, for fields whose column has another name.',
    additionalProperties: identifier('Column name.'),
  },
  refColumn: identifier('Column read back as the legacy reference; default the row identity (SQLite rowid).'),
  batchSize: { type: 'integer', minimum: 1, maximum: 5000, description: 'Most rows in one INSERT statement; default 100.' },
};

/** What the writer needs to know about the table, checked against the database at connect. */
export interface SqlTableSpec {
  table: string;
  keyColumn: string;
  /** Expression read back as the legacy reference (already quoted where it is a column). */
  refExpr: string;
  columns: Readonly<Record<string, string>>;
  /** The table's columns, upper-cased. */
  known: ReadonlySet<string>;
  batchSize: number;
}
