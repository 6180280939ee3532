/**
 * The `staging-table` source's configuration: its type, the JSON Schema it
 * declares to the registry, and the settings with defaults filled in.
 */
import { DURATION_PATTERN, parseDuration } from '../../lib/duration.js';

/** Which columns make the submission body. */
export type StagingBodySpec = { columns: string[] } | { json: string };

/** Status mode: the status column, its values and the claim columns. */
export interface StagingStatusConfig {
  column: string;
  /** Value of a row waiting to be read; default `NEW`. */
  new?: string;
  /** Value of a row a runner has taken; default `CLAIMED`. */
  claimed?: string;
  /** Value of a row that is in the ledger; default `DONE`. */
  done?: string;
  /** Value of a row whose body is not a submission; default `ERROR`. */
  error?: string;
  /** Column naming the runner holding the claim; default `CLAIMED_BY`. */
  ownerColumn?: string;
  /** Column of the time of the claim; default `CLAIMED_AT`. */
  claimedAtColumn?: string;
  /** Column receiving the reason a row's body was refused; none by default. */
  messageColumn?: string;
}

/** Watermark mode: a monotonic column and where the watermark is kept. */
export interface StagingWatermarkConfig {
  column: string;
  /** Table (created in the staging database) holding the watermark of each pipeline; default `rekey_watermarks`. */
  stateTable?: string;
}

/** `source.config` of kind `staging-table`. */
export type StagingSourceConfig = {
  /** `postgres://…`, `mariadb://…` or `sqlite:path` (relative to the pipeline file); a secret reference in the pipeline file. */
  url: string;
  /** Table name, optionally `schema.table`. */
  table: string;
  keyColumn: string;
  body?: StagingBodySpec;
  batchSize?: number;
  status?: StagingStatusConfig;
  watermark?: StagingWatermarkConfig;
  /** How long a claim (or a SQLite watermark lease) holds before another runner may take it over; default 10m. */
  claimTimeout?: string;
};

/** {@link StagingStatusConfig} with every default filled in. */
export type StatusSettings = Required<Omit<StagingStatusConfig, 'messageColumn'>> & { messageColumn?: string };

/** The configuration with defaults filled in and durations read. */
export interface StagingSettings {
  url: string;
  table: string;
  keyColumn: string;
  body: StagingBodySpec | undefined;
  batchSize: number;
  claimTimeoutMs: number;
  mode: { kind: 'status'; status: StatusSettings } | { kind: 'watermark'; column: string; stateTable: string };
}

/** Default rows per query. */
export const DEFAULT_STAGING_BATCH = 500;
/** Default claim timeout. */
export const DEFAULT_CLAIM_TIMEOUT = '10m';

const IDENT = '^[A-Za-z_][A-Za-z0-9_$]*$';
const QUALIFIED = '^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?$';
const column = (description: string) => ({ type: 'string', pattern: IDENT, description });

/** JSON Schema (draft-07) of {@link StagingSourceConfig}. */
export const stagingSourceConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'table', 'keyColumn'],
  oneOf: [
    { required: ['status'], not: { required: ['watermark'] } },
    { required: ['watermark'], not: { required: ['status'] } },
  ],
  properties: {
    url: {
      type: 'string',
      minLength: 1,
      description:
        'The staging database: postgres://user@host:5432/db, mariadb://user@host:3306/db, or sqlite:path (relative to the pipeline file). A URL with a password must be a secret: { env: NAME } or { file: path }.',
    },
    table: { type: 'string', pattern: QUALIFIED, description: 'The staging table the forms platform writes into, optionally schema.table.' },
    keyColumn: column('The row id: unique, never changed once written.'),
    body: {
      description: 'Which columns make the submission body: { json: COLUMN } for one column holding the submission JSON, or { columns: [A, B] }. Default: every column but the status mode’s own.',
      oneOf: [
        { type: 'object', additionalProperties: false, required: ['json'], properties: { json: column('Column holding the submission as JSON (json, jsonb or text).') } },
        {
          type: 'object',
          additionalProperties: false,
          required: ['columns'],
          properties: { columns: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: IDENT }, description: 'Columns whose values make the body, by name.' } },
        },
      ],
    },
    batchSize: { type: 'integer', minimum: 1, maximum: 10000, description: `Rows claimed or read per query; default ${DEFAULT_STAGING_BATCH}.` },
    status: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      description: 'Status mode: rows are claimed by setting a status, and marked done once they are in the ledger.',
      properties: {
        column: column('The status column.'),
        new: { type: 'string', minLength: 1, description: 'Status of a row waiting to be read; default NEW.' },
        claimed: { type: 'string', minLength: 1, description: 'Status of a row a runner has taken; default CLAIMED.' },
        done: { type: 'string', minLength: 1, description: 'Status of a row recorded in the ledger; default DONE.' },
        error: { type: 'string', minLength: 1, description: 'Status of a row whose body is not a submission; default ERROR.' },
        ownerColumn: column('Column naming the runner that holds the claim (text, 100 characters or more); default CLAIMED_BY.'),
        claimedAtColumn: column('Column of the claim time (PostgreSQL timestamp, MariaDB DATETIME(3), SQLite TEXT); default CLAIMED_AT.'),
        messageColumn: column('Column receiving why a row’s body was refused; default none.'),
      },
    },
    watermark: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      description: 'Watermark mode: rows are read in order of a column that only grows; the last value read is kept once they are in the ledger.',
      properties: {
        column: column('A column that only grows: an identity or sequence number, or an insertion timestamp.'),
        stateTable: column('Table in the staging database (created on first use) keeping each pipeline’s watermark; default rekey_watermarks.'),
      },
    },
    claimTimeout: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: `How long a claim holds before another runner may take the row over; default ${DEFAULT_CLAIM_TIMEOUT}. A duration: 30s, 5m, 1h.`,
    },
  },
};

/** Fills in defaults; throws for a setting the schema cannot check (a claim timeout of zero). */
export function stagingSettings(c: StagingSourceConfig): StagingSettings {
  const claimTimeoutMs = parseDuration(c.claimTimeout ?? DEFAULT_CLAIM_TIMEOUT);
  if (claimTimeoutMs === undefined || claimTimeoutMs <= 0) throw new Error(`claimTimeout must be a duration above zero, like 10m; got "${c.claimTimeout}"`);
  if ((c.status === undefined) === (c.watermark === undefined)) throw new Error('set exactly one of status (status mode) and watermark (watermark mode)');
  const base = { url: c.url, table: c.table, keyColumn: c.keyColumn, body: c.body, batchSize: c.batchSize ?? DEFAULT_STAGING_BATCH, claimTimeoutMs };
  if (c.watermark) return { ...base, mode: { kind: 'watermark', column: c.watermark.column, stateTable: c.watermark.stateTable ?? 'rekey_watermarks' } };
  const s = c.status as StagingStatusConfig;
  const status: StatusSettings = {
    column: s.column,
    new: s.new ?? 'NEW',
    claimed: s.claimed ?? 'CLAIMED',
    done: s.done ?? 'DONE',
    error: s.error ?? 'ERROR',
    ownerColumn: s.ownerColumn ?? 'CLAIMED_BY',
    claimedAtColumn: s.claimedAtColumn ?? 'CLAIMED_AT',
  };
  if (s.messageColumn !== undefined) status.messageColumn = s.messageColumn;
  const values = [status.new, status.claimed, status.done, status.error];
  if (new Set(values).size !== values.length) throw new Error(`the status values must differ: new "${status.new}", claimed "${status.claimed}", done "${status.done}", error "${status.error}"`);
  return { ...base, mode: { kind: 'status', status } };
}
