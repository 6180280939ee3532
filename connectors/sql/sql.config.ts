/**
 * Settings every SQL target shares (which table, which key column, how
 * mapping fields name columns), their JSON Schema properties, and the
 * writer's view of a table. Each dialect's target adds how to reach its
 * database.
 */
import { Type, type Static, type TObject } from 'typebox';
import { closed, defaultsOf, mapOf, withDefault } from '../config.schema.js';

const QUALIFIED = '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$';

/** Pattern of SQL identifiers the targets accept (quoted when used). */
export const SQL_IDENTIFIER = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Pattern of the database type names procedure parameters take. */
export const SQL_TYPE = '^[A-Za-z][A-Za-z0-9_ ]*(\\(\\s*(\\d+|max|MAX)\\s*(,\\s*\\d+\\s*)?\\))?$';

const identifier = (description: string) => Type.String({ pattern: SQL_IDENTIFIER, description });
const columnMap = (description: string) => mapOf(identifier('Column name.'), { description });

const modeSchema = Type.Enum(['insert', 'upsert', 'update', 'procedure'], {
  description:
    'insert (default): a key already in the table is left alone; upsert: its row is updated; update: rows are only updated, a missing row is a rejection; procedure: each record is one call of `procedure`, table and keyColumn find what it wrote.',
});

/** How records meet existing rows. */
export type SqlMode = Static<typeof modeSchema>;

const procedureParamSchema = closed({
  name: identifier('Parameter name as the procedure declares it.'),
  type: Type.String({ pattern: SQL_TYPE, description: 'Database type: varchar(35), char(3), int, decimal(7,2), date...' }),
  from: Type.Optional(Type.String({ pattern: '^(\\$key|[A-Za-z_][A-Za-z0-9_]*)$', description: 'Mapping field giving the value; $key for the submission key.' })),
  out: Type.Optional(Type.Boolean({ description: 'The OUT parameter that returns the legacy reference.' })),
});

/** One parameter: an input from a mapping field (`$key`: the submission key), or the OUT parameter that returns the legacy reference. */
export type SqlProcedureParam = Static<typeof procedureParamSchema>;

const procedureSchema = closed(
  {
    name: Type.String({ pattern: QUALIFIED, description: 'Procedure or function, schema.name where there are schemas.' }),
    kind: Type.Optional(Type.Enum(['procedure', 'function'], { description: 'PostgreSQL: function (SELECT, its result is the reference) or procedure (CALL; default).' })),
    params: Type.Array(procedureParamSchema, { minItems: 1 }),
  },
  { description: 'mode procedure: the stored procedure (or PostgreSQL function) to call per record, with typed parameters.' },
);

/** Procedure mode: the stored procedure or function the clerks' screens call, and its typed parameters (in the procedure's order). */
export type SqlProcedureConfig = Static<typeof procedureSchema>;

const childSchema = closed({
  table: Type.String({ pattern: QUALIFIED, description: 'Table the group\'s rows go into.' }),
  parentColumn: identifier('Column that takes the parent row\'s identity (a foreign key).'),
  columns: Type.Optional(columnMap('Group field -> column, where the names differ.')),
});

/** Where one mapping group's child rows go. */
export type SqlChildConfig = Static<typeof childSchema>;

/** Settings of the table a SQL target writes, for a dialect's config schema (spread into its properties). */
export const sqlTableProperties = {
  table: Type.String({ pattern: QUALIFIED, description: 'Table the records go into (schema.table where there are schemas).' }),
  keyColumn: identifier('Column holding the submission key; must be UNIQUE. Makes delivery idempotent.'),
  columns: Type.Optional(columnMap('Mapping field -> column, for fields whose column has another name.')),
  refColumn: Type.Optional(identifier('Column read back as the legacy reference; default the row identity (SQLite rowid).')),
  batchSize: withDefault(Type.Integer({ minimum: 1, maximum: 5000, description: 'Most rows in one INSERT statement; default 100.' }), 100),
  mode: withDefault(modeSchema, 'insert'),
  procedure: Type.Optional(procedureSchema),
  matchOn: Type.Optional(Type.String({ minLength: 1, description: 'upsert/update: mapping field whose column identifies the row (a business key); default the submission key in keyColumn.' })),
  children: Type.Optional(
    mapOf(childSchema, {
      description: 'Insert mode: per mapping group, the table its child rows go into, in the parent row\'s transaction, and the column that takes the parent row\'s generated identity.',
      propertyNames: { pattern: SQL_IDENTIFIER },
    }),
  ),
  readBack: Type.Optional(
    Type.Boolean({ description: 'Read each written row back after the commit and compare it with what was sent (confirmed in the ledger only when equal); default true for upsert and procedure, false otherwise.' }),
  ),
};

/** Table settings of a SQL target's config. */
export type SqlTableConfig = Static<TObject<typeof sqlTableProperties>>;

/** Defaults of {@link SqlTableConfig}. */
export const SQL_TABLE_DEFAULTS = defaultsOf(Type.Object(sqlTableProperties));

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
  /** Default insert. */
  mode?: SqlMode;
  /** Mapping field whose value identifies the row (upsert/update); absent: the submission key in keyColumn. */
  matchOn?: { field: string; column: string };
  /** Live column definitions by upper-cased name, where the target read them: real names, lengths, character sets. */
  info?: ReadonlyMap<string, ColumnInfo>;
  /** The column read back as the reference and given to child rows, where it is a column (not SQLite's rowid); `generated` when the database assigns it. */
  ref?: { column: string; generated: boolean };
  /** mode procedure: what to call. */
  procedure?: SqlProcedureConfig;
  /** Child tables by mapping group name (insert mode). */
  children?: Readonly<Record<string, SqlChildSpec>>;
}

/** A child table as the writer knows it. */
export interface SqlChildSpec {
  table: string;
  /** The column taking the parent's identity, as the database spells it. */
  parentColumn: string;
  columns: Readonly<Record<string, string>>;
  /** Upper-cased column names. */
  known: ReadonlySet<string>;
  info?: ReadonlyMap<string, ColumnInfo>;
  /**
   * The column whose values follow the order rows were inserted in: the
   * table's generated single-column numeric primary key (identity, serial,
   * auto-increment), SQLite's rowid; absent where there is none (read-back
   * then pairs child rows by their values).
   */
  order?: string;
}

/** One column as the database describes it. */
export interface ColumnInfo {
  /** The name as the database spells it. */
  name: string;
  /** The declared type as the database prints it (`character(35)`, `varchar(30)`, `int(11)`...). */
  type: string;
  /** What values the column takes, broadly. */
  family: 'text' | 'number' | 'date' | 'timestamp' | 'boolean' | 'other';
  /** Longest text it holds, in characters; absent when unbounded or not text. */
  maxLength?: number;
  /** CHAR(n): padded with spaces to n. */
  fixed: boolean;
  nullable: boolean;
  hasDefault: boolean;
  /** Identity, serial, auto-increment or computed: not written by rekey. */
  generated: boolean;
  /** A single-byte character set the column is stored in (`latin1`), where that limits what it can hold. */
  charset?: 'latin1';
  /** PostgreSQL: the column's type without its length or precision (`pg_catalog.bpchar`), to type a list of its values. */
  baseType?: string;
  /** The numbers it holds, where its type bounds them: whole numbers from `min` to `max`, or decimals of `precision` digits, `scale` of them after the point. */
  numeric?: { kind: 'integer'; min: bigint; max: bigint } | { kind: 'decimal'; precision: number; scale: number };
}
