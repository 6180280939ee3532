/**
 * `target.config` of kind `notify`: which GOV.UK Notify template a mapped
 * record is sent with, to which recipient field, with which
 * personalisation. Declared once: the JSON Schema, the type and the
 * defaults derive from one typebox schema.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, mapOf, oneOfValues, withDefault } from '../config.schema.js';

/** Notify's own production API. */
export const NOTIFY_PRODUCTION_URL = 'https://api.notifications.service.gov.uk';

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const FIELD = '^[A-Za-z_][A-Za-z0-9_]*$';

/** JSON Schema (draft-07) of {@link NotifyConfig}. */
export const notifyConfigSchema = closed({
  templateId: Type.String({ pattern: UUID, description: 'The Notify template to send (its ID, from the template page in Notify).' }),
  type: oneOfValues(['email', 'sms'] as const, { description: 'What the template sends: email or sms (a text message).' }),
  to: Type.String({ pattern: FIELD, description: 'The mapped field holding the email address (type email) or the phone number (type sms).' }),
  personalisation: Type.Optional(mapOf(Type.String({ pattern: FIELD }), { description: "The template's placeholders, each to the mapped field that fills it: { case_reference: REF }; default none." })),
  reference: withDefault(
    Type.Boolean({ description: "Send the submission key as Notify's reference (default true): after an attempt whose answer was lost, the target finds the message by it instead of sending it again." }),
    true,
  ),
  emailReplyToId: Type.Optional(Type.String({ pattern: UUID, description: 'Reply-to address of the service to use (type email only); default the service\'s default.' })),
  smsSenderId: Type.Optional(Type.String({ pattern: UUID, description: 'Text message sender of the service to use (type sms only); default the service\'s default.' })),
  baseUrl: withDefault(Type.String({ pattern: '^https?://', description: `Notify's API (default ${NOTIFY_PRODUCTION_URL}).` }), NOTIFY_PRODUCTION_URL),
  apiKey: Type.String({ minLength: 74, description: 'The Notify API key (a secret: { env: NAME } or { file: path }).' }),
  timeoutMs: withDefault(Type.Integer({ minimum: 100, maximum: 120_000, description: 'Milliseconds one request to Notify may take; default 10000. A send that times out is retried after a look-up by reference.' }), 10_000),
  concurrency: withDefault(Type.Integer({ minimum: 1, maximum: 32, description: 'Requests to Notify at once; default 4.' }), 4),
});

/** The `notify` target's settings; see {@link notifyConfigSchema}. */
export type NotifyConfig = Static<typeof notifyConfigSchema>;

/** The defaults of the settings that have one. */
export const NOTIFY_DEFAULTS = defaultsOf(notifyConfigSchema);

/**
 * Problems of `config` that its schema cannot see, each a sentence naming
 * the setting (never the API key): a sender of the other type, fields the
 * mapping does not have (`fields`, where known), a key of the wrong shape.
 */
export function checkNotifyConfig(config: NotifyConfig, fields?: readonly string[]): string[] {
  const problems: string[] = [];
  if (config.type === 'sms' && config.emailReplyToId !== undefined) problems.push('emailReplyToId: only for type email');
  if (config.type === 'email' && config.smsSenderId !== undefined) problems.push('smsSenderId: only for type sms');
  if (fields) {
    const known = new Set(fields);
    if (!known.has(config.to)) problems.push(`to: the mapping has no field ${config.to}`);
    for (const [name, field] of Object.entries(config.personalisation ?? {})) if (!known.has(field)) problems.push(`personalisation.${name}: the mapping has no field ${field}`);
  }
  const key = config.apiKey.trim();
  const id = new RegExp(UUID.slice(1, -1));
  if (key.length < 74 || !id.test(key.slice(-73, -37)) || key[key.length - 37] !== '-' || !id.test(key.slice(-36))) {
    problems.push('apiKey: not a Notify API key (its last 73 characters are the service ID and the secret key, two UUIDs joined by a hyphen)');
  }
  return problems;
}
