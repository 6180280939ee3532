/**
 * The `webhook` source's configuration, declared once: each setting's
 * schema (with its description and default) gives the JSON Schema the
 * source declares to the registry (and so to the pipeline schema and
 * `rekey validate`), the type and the defaults.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING } from '../../lib/json-depth.js';

const header = (description: string) => Type.String({ pattern: '^[A-Za-z0-9-]+$', description });
const positive = (description: string, maximum?: number) => Type.Integer({ minimum: 1, ...(maximum ? { maximum } : {}), description });

/** JSON Schema (draft-07) of {@link WebhookSourceConfig}. */
export const webhookSourceConfigSchema = closed({
  secret: Type.String({ minLength: 16, description: 'The signing key shared with the sender (at least 16 characters): { env: NAME } or { file: path }, never in the file.' }),
  signatureHeader: withDefault(header('Header carrying the hex HMAC-SHA256 signature (optionally prefixed sha256=); default x-rekey-signature.'), 'x-rekey-signature'),
  timestampHeader: withDefault(header('Header carrying the signing time in unix seconds; default x-rekey-timestamp.'), 'x-rekey-timestamp'),
  replayWindowSeconds: withDefault(positive('How far the signing time may be from the server clock, either way, in seconds; default 300.', 86400), 300),
  maxBodyBytes: withDefault(positive('Largest body accepted, in bytes; default 1048576 (1 MiB). A larger one is refused with 413.', 64 * 1024 * 1024), 1024 * 1024),
  maxDepth: withDefault(
    positive(`Deepest nesting of arrays and objects in a body; default ${DEFAULT_MAX_DEPTH}, at most ${MAX_DEPTH_CEILING}. A deeper one is refused with 422 (WEBHOOK_TOO_DEEP).`, MAX_DEPTH_CEILING),
    DEFAULT_MAX_DEPTH,
  ),
  schema: Type.Optional(
    Type.String({ minLength: 1, description: 'JSON Schema file (draft-07, 2019-09 or 2020-12) every body must pass, relative to the pipeline file; a body that fails gets 422.' }),
  ),
  maxBatch: withDefault(positive('Most submissions written to the ledger in one transaction; default 500.', 10000), 500),
  maxPending: withDefault(positive('Most submissions waiting for the ledger before new ones get 503 with Retry-After; default 5000.'), 5000),
});

/** `source.config` of kind `webhook`, with the secret resolved (written `{ env: NAME }` or `{ file: path }` in the pipeline file). */
export type WebhookSourceConfig = Static<typeof webhookSourceConfigSchema>;

/** Defaults of {@link WebhookSourceConfig}. */
export const WEBHOOK_DEFAULTS = defaultsOf(webhookSourceConfigSchema);
