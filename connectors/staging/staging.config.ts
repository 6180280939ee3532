/**
 * The `staging-table` source's configuration, declared once (the JSON
 * Schema it declares to the registry, its type and its defaults derive
 * from one typebox schema), and the settings with defaults filled in.
 */
import { DURATION_PATTERN, parseDuration } from '../../lib/duration.js';
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, oneOf, withDefault } from '../config.schema.js';
import { DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING } from '../../lib/json-depth.js';

const IDENT = '^[A-Za-z_][A-Za-z0-9_$]*$';
const QUALIFIED = '^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?$';
const column = (description: string) => Type.String({ pattern: IDENT, description });
const statusValue = (description: string, value: string) => withDefault(Type.String({ minLength: 1, description }), value);

const bodySchema = oneOf(
  [
    closed({ json: column('Column holding the submission as JSON (json, jsonb or text).') }),
    closed({ columns: Type.Array(Type.String({ pattern: IDENT }), { minItems: 1, uniqueItems: true, description: 'Columns whose values make the body, by name.' }) }),
  ],
  { description: 'Which columns make the submission body: { json: COLUMN } for one column holding the submission JSON, or { columns: [A, B] }. Default: every column but the status mode’s own.' },
);

/** Which columns make the submission body. */
export type StagingBodySpec = Static<typeof bodySchema>;

const statusSchema = closed(
  {
    column: column('The status column.'),
    new: statusValue('Status of a row waiting to be read; default NEW.', 'NEW'),
    claimed: statusValue('Status of a row a runner has taken; default CLAIMED.', 'CLAIMED'),
    done: statusValue('Status of a row recorded in the ledger; default DONE.', 'DONE'),
    error: statusValue('Status of a row whose body is not a submission; default ERROR.', 'ERROR'),
    ownerColumn: withDefault(column('Column naming the runner that holds the claim (text, 100 characters or more); default CLAIMED_BY.'), 'CLAIMED_BY'),
    claimedAtColumn: withDefault(column('Column of the claim time (PostgreSQL timestamp, MariaDB DATETIME(3), SQLite TEXT); default CLAIMED_AT.'), 'CLAIMED_AT'),
    messageColumn: Type.Optional(column('Column receiving why a row’s body was refused; default none.')),
  },
  { description: 'Status mode: rows are claimed by setting a status, and marked done once they are in the ledger.' },
);

/** Status mode: the status column, its values and the claim columns. */
export type StagingStatusConfig = Static<typeof statusSchema>;

const watermarkSchema = closed(
  {
    column: column('A column that only grows: an identity or sequence number, or an insertion timestamp.'),
    stateTable: withDefault(column('Table in the staging database (created on first use) keeping each pipeline’s watermark; default rekey_watermarks.'), 'rekey_watermarks'),
  },
  { description: 'Watermark mode: rows are read in order of a column that only grows; the last value read is kept once they are in the ledger.' },
);

/** Watermark mode: a monotonic column and where the watermark is kept. */
export type StagingWatermarkConfig = Static<typeof watermarkSchema>;

/** JSON Schema (draft-07) of {@link StagingSourceConfig}. */
export const stagingSourceConfigSchema = closed(
  {
    url: Type.String({
      minLength: 1,
      description:
        'The staging database: postgres://user@host:5432/db, mariadb://user@host:3306/db, or sqlite:path (relative to the pipeline file). A URL with a password must be a secret: { env: NAME } or { file: path }.',
    }),
    table: Type.String({ pattern: QUALIFIED, description: 'The staging table the forms platform writes into, optionally schema.table.' }),
    keyColumn: column('The row id: unique, never changed once written.'),
    body: Type.Optional(bodySchema),
    maxDepth: withDefault(
      Type.Integer({
        minimum: 1,
        maximum: MAX_DEPTH_CEILING,
        description: `Deepest nesting of arrays and objects in a body (the JSON column, or a JSON value in a column); default ${DEFAULT_MAX_DEPTH}, at most ${MAX_DEPTH_CEILING}. A deeper row is refused (STAGING_BODY).`,
      }),
      DEFAULT_MAX_DEPTH,
    ),
    batchSize: withDefault(Type.Integer({ minimum: 1, maximum: 10000, description: 'Rows claimed or read per query; default 500.' }), 500),
    status: Type.Optional(statusSchema),
    watermark: Type.Optional(watermarkSchema),
    claimTimeout: withDefault(
      Type.String({ pattern: DURATION_PATTERN, description: 'How long a claim holds before another runner may take the row over; default 10m. A duration: 30s, 5m, 1h.' }),
      '10m',
    ),
  },
  {
    oneOf: [
      { required: ['status'], not: { required: ['watermark'] } },
      { required: ['watermark'], not: { required: ['status'] } },
    ],
  },
);

/** `source.config` of kind `staging-table`: a URL that is a secret reference in the pipeline file, a table (`schema.table` allowed), and exactly one of status and watermark mode. */
export type StagingSourceConfig = Static<typeof stagingSourceConfigSchema>;

/** {@link StagingStatusConfig} with every default filled in. */
export type StatusSettings = Required<Omit<StagingStatusConfig, 'messageColumn'>> & { messageColumn?: string };

/** The configuration with defaults filled in and durations read. */
export interface StagingSettings {
  url: string;
  table: string;
  keyColumn: string;
  body: StagingBodySpec | undefined;
  /** Deepest nesting of arrays and objects a body may have. */
  maxDepth: number;
  batchSize: number;
  claimTimeoutMs: number;
  mode: { kind: 'status'; status: StatusSettings } | { kind: 'watermark'; column: string; stateTable: string };
}

const DEFAULTS = defaultsOf(stagingSourceConfigSchema);
const STATUS_DEFAULTS = defaultsOf(statusSchema);
const WATERMARK_DEFAULTS = defaultsOf(watermarkSchema);

/** Fills in defaults; throws for a setting the schema cannot check (a claim timeout of zero). */
export function stagingSettings(c: StagingSourceConfig): StagingSettings {
  const claimTimeoutMs = parseDuration(c.claimTimeout ?? DEFAULTS.claimTimeout);
  if (claimTimeoutMs === undefined || claimTimeoutMs <= 0) throw new Error(`claimTimeout must be a duration above zero, like 10m; got "${c.claimTimeout}"`);
  if ((c.status === undefined) === (c.watermark === undefined)) throw new Error('set exactly one of status (status mode) and watermark (watermark mode)');
  const base = { url: c.url, table: c.table, keyColumn: c.keyColumn, body: c.body, maxDepth: c.maxDepth ?? DEFAULTS.maxDepth, batchSize: c.batchSize ?? DEFAULTS.batchSize, claimTimeoutMs };
  if (c.watermark) return { ...base, mode: { kind: 'watermark', column: c.watermark.column, stateTable: c.watermark.stateTable ?? WATERMARK_DEFAULTS.stateTable } };
  const s = c.status as StagingStatusConfig;
  const status: StatusSettings = {
    column: s.column,
    new: s.new ?? STATUS_DEFAULTS.new,
    claimed: s.claimed ?? STATUS_DEFAULTS.claimed,
    done: s.done ?? STATUS_DEFAULTS.done,
    error: s.error ?? STATUS_DEFAULTS.error,
    ownerColumn: s.ownerColumn ?? STATUS_DEFAULTS.ownerColumn,
    claimedAtColumn: s.claimedAtColumn ?? STATUS_DEFAULTS.claimedAtColumn,
  };
  if (s.messageColumn !== undefined) status.messageColumn = s.messageColumn;
  const values = [status.new, status.claimed, status.done, status.error];
  if (new Set(values).size !== values.length) throw new Error(`the status values must differ: new "${status.new}", claimed "${status.claimed}", done "${status.done}", error "${status.error}"`);
  return { ...base, mode: { kind: 'status', status } };
}
