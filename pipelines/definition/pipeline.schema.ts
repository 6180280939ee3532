/**
 * The JSON Schema of pipeline files, built from one definition for both
 * the loader and the published `pipeline.schema.json` that editors use.
 * Each connector's `config:` schema comes from the connector's own
 * declaration in the registry (one `if kind = X then config: X's schema`
 * per connector), so a new connector needs no edit here.
 */
import { BUILTIN_CONNECTORS, type ConnectorCatalog } from '../../connectors/registry.js';
import { BANK_HOLIDAY_REGIONS } from './bank-holidays.js';
import { DURATION_PATTERN } from '../../lib/duration.js';
import { secretRefSchema } from './secrets.js';
import { ALERT_EVENTS } from './pipeline.types.js';

type Json = Record<string, unknown>;

/** The pattern of pipeline names. */
export const PIPELINE_NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
/** The pattern of route names (`routes[].route`): as pipeline names, so `<pipeline>~<route>` names a route's deliveries unambiguously. */
export const ROUTE_NAME = PIPELINE_NAME;
/** `HH:MM`, 00:00 to 24:00. */
export const TIME_PATTERN = '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
/** `yyyy-MM-dd`. */
export const DATE_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
/** Weekday names of `window.hours[].days`. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** How the schema is built. */
export interface PipelineSchemaOptions {
  /**
   * True for the published schema. False for the loader's, which leaves out
   * the patterns of times, dates and durations: the loader checks those
   * itself with plainer messages.
   */
  published: boolean;
  /**
   * Only these kinds' config schemas (the kinds a file names): the schema
   * then checks that file exactly as the whole one would, and compiles in a
   * fraction of the time. Absent: every kind's (the published schema).
   */
  kinds?: { source?: string; target?: string };
}

/** The settings of how a pipeline, or one of its routes, delivers: batch, limits, write window, retries. */
function deliverySettings(opts: PipelineSchemaOptions): Json {
  const fmt = (pattern: string) => (opts.published ? { pattern } : {});
  const zone = { type: 'string', minLength: 1, description: 'IANA time zone, e.g. Europe/London (the default).' };
  const duration = (description: string) => ({ type: 'string', ...fmt(DURATION_PATTERN), description: `${description} A duration: 30s, 5m, 1h, 2d, 1h30m.` });
  const date = (description: string) => ({ type: 'string', ...fmt(DATE_PATTERN), description });
  const time = (description: string) => ({ type: 'string', ...fmt(TIME_PATTERN), description });
  return {
    batch: {
      type: 'object',
      additionalProperties: false,
      properties: { size: { type: 'integer', minimum: 1, maximum: 10000, description: 'Records handed to the target at once; default 100.' } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      description: 'What the legacy system can take.',
      properties: {
        concurrency: { type: 'integer', minimum: 1, maximum: 64, description: 'Batches in flight at once; default 1.' },
        ratePerSecond: { type: 'number', exclusiveMinimum: 0, description: 'Most records delivered per second, by every runner sharing a PostgreSQL state store together; default unlimited.' },
      },
    },
    window: {
      type: 'object',
      additionalProperties: false,
      description: 'When the legacy system may be written to; reading and mapping go on outside it.',
      properties: {
        timezone: zone,
        hours: {
          type: 'array',
          minItems: 1,
          description: 'Write hours; absent: any time of day.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['days', 'from', 'to'],
            properties: {
              days: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...WEEKDAYS] } },
              from: time('Start, HH:MM, inclusive.'),
              to: time('End, HH:MM, exclusive (24:00 for midnight); earlier than from: runs past midnight.'),
            },
          },
        },
        blackout: {
          type: 'array',
          description: 'Whole days without writes: a date, or { from, to, reason }.',
          items: {
            oneOf: [
              date('A date, yyyy-MM-dd.'),
              {
                type: 'object',
                additionalProperties: false,
                required: ['from'],
                properties: { from: date('First day, yyyy-MM-dd.'), to: date('Last day (inclusive); default from.'), reason: { type: 'string' } },
              },
            ],
          },
        },
        bankHolidays: { type: 'string', enum: [...BANK_HOLIDAY_REGIONS], description: 'No writes on this region’s bank holidays (built-in list, 2025-2027).' },
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      description: 'Retries of failed deliveries: exponential backoff with jitter.',
      properties: {
        maxAttempts: { type: 'integer', minimum: 1, maximum: 1000, description: 'Attempts in all before a record is dead-lettered; default 5.' },
        initialDelay: duration('Wait after the first failure; default 30s.'),
        maxDelay: duration('Longest wait; default 1h.'),
        multiplier: { type: 'number', minimum: 1, maximum: 10, description: 'Growth of the wait per attempt; default 2.' },
        jitter: { type: 'number', minimum: 0, maximum: 1, description: 'Fraction by which each wait is randomly shortened; default 0.2.' },
      },
    },
  };
}

/**
 * The schema of one item of `routes`. `targetKind`: only that kind's
 * config schema (the loader checks each route on its own); absent: every
 * kind's (the published schema).
 */
export function buildRouteSchema(catalog: ConnectorCatalog, opts: PipelineSchemaOptions, targetKind?: string): Json {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['route', 'mapping', 'target'],
    description: 'One back office: its own mapping and target, and, where it says, its own batch, limits, window and retries (else the pipeline’s).',
    properties: {
      route: { type: 'string', pattern: ROUTE_NAME, description: 'Name of the route, unique in the pipeline: its deliveries are kept in the ledger as <pipeline>~<route>.' },
      description: { type: 'string' },
      mapping: { type: 'string', minLength: 1, description: 'Mapping file of this route, relative to this file: it names only what this office needs.' },
      when: { type: 'object', description: 'When the route applies: a condition of the mapping language, on the submission (answer:, path:) or on this route’s mapped fields (field:). Absent: always.' },
      after: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'string', pattern: ROUTE_NAME },
        description: 'Routes this one waits for: it is told of a case once each of them that holds the case has delivered it (a message to the citizen once the offices are told). Its when is read then.',
      },
      target: opts.published ? { $ref: '#/definitions/target' } : connectorUse('target', catalog.targets, { target: targetKind }),
      ...deliverySettings(opts),
    },
  };
}

/** Accepts `{ env }` / `{ file }` wherever a connector's config takes a free string; the setting keeps its description and default beside the choice. */
export function allowSecretRefs(schema: unknown, ref: object = secretRefSchema): unknown {
  if (Array.isArray(schema)) return schema.map((x) => allowSecretRefs(x, ref));
  if (typeof schema !== 'object' || schema === null) return schema;
  const s = schema as Json;
  if (s.type === 'string' && s.enum === undefined && s.const === undefined) {
    const { description, default: fallback, ...plain } = s;
    return { ...(description !== undefined && { description }), ...(fallback !== undefined && { default: fallback }), oneOf: [plain, ref] };
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties' && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, allowSecretRefs(ps, ref)]));
    } else if (['items', 'additionalProperties', 'oneOf', 'anyOf', 'allOf'].includes(k)) out[k] = allowSecretRefs(v, ref);
    else out[k] = v;
  }
  return out;
}

/** Where the published schema keeps a secret reference's schema, once (`definitions`). */
const SECRET_REF = { $ref: '#/definitions/secretRef' };

function connectorUse(side: 'source' | 'target', defs: ReadonlyMap<string, { name: string; doc: string; configSchema: Json }>, only?: { source?: string; target?: string }, shared = false): Json {
  const list = [...defs.values()];
  const checked = only ? list.filter((d) => d.name === only[side]) : list;
  return {
    type: 'object',
    additionalProperties: false,
    required: ['kind'],
    description: `The ${side}: a registered ${side} connector and its settings.`,
    properties: {
      kind: { type: 'string', enum: list.map((d) => d.name), description: list.map((d) => `${d.name}: ${d.doc}`).join('\n') },
      config: { type: 'object', description: 'Settings of the connector named by kind.' },
    },
    ...(checked.length && {
      allOf: checked.map((d) => ({
        if: { properties: { kind: { const: d.name } }, required: ['kind'] },
        then: {
          properties: { config: { ...(allowSecretRefs(d.configSchema, shared ? SECRET_REF : secretRefSchema) as Json), description: d.doc } },
          ...((d.configSchema.required as unknown[] | undefined)?.length ? { required: ['config'] } : {}),
        },
      })),
    }),
  };
}

/** Builds the pipeline schema for the connectors of `catalog`. */
export function buildPipelineSchema(catalog: ConnectorCatalog, opts: PipelineSchemaOptions): Json {
  const fmt = (pattern: string) => (opts.published ? { pattern } : {});
  const zone = { type: 'string', minLength: 1, description: 'IANA time zone, e.g. Europe/London (the default).' };
  const duration = (description: string) => ({ type: 'string', ...fmt(DURATION_PATTERN), description: `${description} A duration: 30s, 5m, 1h, 2d, 1h30m.` });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://rekey.dev/schemas/pipeline.schema.json',
    title: 'rekey pipeline',
    ...(opts.published && {
      // Each connector's settings and the secret reference once, referred to wherever they apply (the top level, each route).
      definitions: { secretRef: secretRefSchema, source: connectorUse('source', catalog.sources, undefined, true), target: connectorUse('target', catalog.targets, undefined, true) },
    }),
    description: 'One source, one mapping, one target (or several routes, each with its own mapping and target), with schedule, limits, write window, retries and retention.',
    type: 'object',
    additionalProperties: false,
    required: ['pipeline', 'source'],
    ...(opts.published && { oneOf: [{ required: ['mapping', 'target'], not: { required: ['routes'] } }, { required: ['routes'], not: { anyOf: [{ required: ['mapping'] }, { required: ['target'] }] } }] }),
    properties: {
      pipeline: { type: 'string', pattern: PIPELINE_NAME, description: 'Name of the pipeline: names its ledger entries, logs and metrics.' },
      description: { type: 'string' },
      mapping: { type: 'string', minLength: 1, description: 'Mapping file, relative to this file.' },
      source: opts.published ? { $ref: '#/definitions/source' } : connectorUse('source', catalog.sources, opts.kinds),
      target: opts.published ? { $ref: '#/definitions/target' } : connectorUse('target', catalog.targets, opts.kinds),
      schedule: {
        type: 'object',
        additionalProperties: false,
        required: ['cron'],
        description: 'When `rekey serve` runs the pipeline.',
        properties: { cron: { type: 'string', description: 'Cron expression: minute hour day-of-month month day-of-week.' }, timezone: zone },
      },
      ...deliverySettings(opts),
      routes: {
        type: 'array',
        minItems: 1,
        description: 'Instead of mapping and target: several back offices, each told once through its own route (docs/routes.md).',
        items: opts.published ? buildRouteSchema(catalog, opts) : { type: 'object' },
      },
      alerts: {
        type: 'object',
        additionalProperties: false,
        required: ['webhooks'],
        description: '`rekey serve` posts a JSON message (a `text` line for Slack or Teams, and counts, codes and the pipeline name; never a citizen’s data) to each webhook when a pass fails, when dead letters appear, and when the pipeline recovers.',
        properties: {
          webhooks: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['url'],
              properties: {
                url: { ...(opts.published ? SECRET_REF : secretRefSchema), description: 'The webhook URL, always { env: NAME } or { file: path }: an incoming-webhook URL (Slack, Teams) lets anyone who has it post.' },
                on: {
                  type: 'array',
                  minItems: 1,
                  uniqueItems: true,
                  items: { type: 'string', enum: [...ALERT_EVENTS] },
                  description: 'The events sent to this webhook: pass-failed, dead-letters, recovered; default all three.',
                },
              },
            },
          },
        },
      },
      workers: { type: 'integer', minimum: 0, maximum: 256, description: 'Worker threads for mapping; 0 maps on the main thread; default one per core.' },
      retention: {
        type: 'object',
        additionalProperties: false,
        description:
          'How long citizens’ data is kept; `rekey purge` (and `rekey serve`, hourly) removes what is older. A submission’s clock starts at its final state: delivered, rejected, dead or discarded; submissions still on their way are never purged.',
        properties: {
          bodies: duration('Submission bodies and their data keys, after the final state (and conflicts’ bodies, after they arrived); then retry and replay say BODY_PURGED. Default 30d.'),
          evidence: duration('Evidence files (screenshots, traces), after they were written; default 90d.'),
          inboxDone: duration('Inbox files in done/, after they were moved there; default 30d.'),
          inboxQuarantine: duration('Inbox files in quarantine/, after they were moved there; default 90d.'),
          ledger: duration(
            'Ledger rows, after the final state; at least bodies. A purged row forgets the key: the same submission sent again is keyed again. The audit log keeps the trail. Default 730d (two years).',
          ),
        },
      },
    },
  };
}

/** The published JSON Schema of pipeline files, for the built-in connectors. */
export function pipelineSchema(): object {
  return buildPipelineSchema(BUILTIN_CONNECTORS, { published: true });
}

/** The text of `pipelines/definition/pipeline.schema.json` as it should be. */
export function pipelineSchemaText(): string {
  return `${JSON.stringify(pipelineSchema(), null, 2)}\n`;
}
