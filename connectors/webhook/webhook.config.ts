/**
 * The `webhook` source's configuration: its type, defaults and the JSON
 * Schema it declares to the registry (and so to the pipeline schema and
 * `rekey validate`).
 */

/** `source.config` of kind `webhook`, with the secret resolved. */
export type WebhookSourceConfig = {
  /** HMAC-SHA256 key shared with the sender; written `{ env: NAME }` or `{ file: path }`. */
  secret: string;
  signatureHeader?: string;
  timestampHeader?: string;
  replayWindowSeconds?: number;
  maxBodyBytes?: number;
  /** JSON Schema file every body must pass, relative to the pipeline file. */
  schema?: string;
  maxBatch?: number;
  maxPending?: number;
};

/** Defaults of {@link WebhookSourceConfig}. */
export const WEBHOOK_DEFAULTS = {
  signatureHeader: 'x-rekey-signature',
  timestampHeader: 'x-rekey-timestamp',
  replayWindowSeconds: 300,
  maxBodyBytes: 1024 * 1024,
  maxBatch: 500,
  maxPending: 5000,
} as const;

const header = (description: string) => ({ type: 'string', pattern: '^[A-Za-z0-9-]+$', description });
const positive = (description: string, maximum?: number) => ({ type: 'integer', minimum: 1, ...(maximum ? { maximum } : {}), description });

/** JSON Schema (draft-07) of {@link WebhookSourceConfig}. */
export const webhookSourceConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['secret'],
  properties: {
    secret: { type: 'string', minLength: 16, description: 'The signing key shared with the sender (at least 16 characters): { env: NAME } or { file: path }, never in the file.' },
    signatureHeader: header('Header carrying the hex HMAC-SHA256 signature (optionally prefixed sha256=); default x-rekey-signature.'),
    timestampHeader: header('Header carrying the signing time in unix seconds; default x-rekey-timestamp.'),
    replayWindowSeconds: positive('How far the signing time may be from the server clock, either way, in seconds; default 300.', 86400),
    maxBodyBytes: positive('Largest body accepted, in bytes; default 1048576 (1 MiB). A larger one is refused with 413.', 64 * 1024 * 1024),
    schema: { type: 'string', minLength: 1, description: 'JSON Schema file (draft-07, 2019-09 or 2020-12) every body must pass, relative to the pipeline file; a body that fails gets 422.' },
    maxBatch: positive('Most submissions written to the ledger in one transaction; default 500.', 10000),
    maxPending: positive('Most submissions waiting for the ledger before new ones get 503 with Retry-After; default 5000.'),
  },
};
