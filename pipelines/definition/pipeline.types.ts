/**
 * A pipeline definition once read and checked: what `rekey run` and
 * `rekey serve` need to move submissions from one source, through one
 * mapping, to one target. Plain data; durations in milliseconds.
 */
import type { SourcePos } from '../../lib/problem.js';
import type { BankHolidayRegion } from './bank-holidays.js';

export type { BankHolidayRegion } from './bank-holidays.js';

/** Days of the week as written in `window.hours[].days`. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** A connector named by kind, with its config as written (secret references not yet resolved). */
export interface ConnectorUse {
  kind: string;
  config: Record<string, unknown>;
}

/** When `rekey serve` starts a run. */
export interface Schedule {
  cron: string;
  /** IANA zone the cron fields are read in; default Europe/London. */
  timezone: string;
}

/**
 * Hours in which writes are allowed on the listed days, wall clock in the
 * window's zone. `from` is inclusive and `to` exclusive (`HH:MM`, `to` may be
 * `24:00`); when `to` is earlier than `from` the hours run past midnight
 * into the next day.
 */
export interface HoursRange {
  days: Weekday[];
  from: string;
  to: string;
}

/** Whole days (`yyyy-MM-dd`, inclusive) on which nothing is written. */
export interface Blackout {
  from: string;
  to: string;
  reason?: string;
}

/** When the legacy system may be written to. */
export interface WriteWindow {
  /** IANA zone of the hours and dates; default Europe/London. */
  timezone: string;
  /** Absent: any time of day. */
  hours?: HoursRange[];
  blackout: Blackout[];
  bankHolidays?: BankHolidayRegion;
}

/** How failed deliveries are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included; default 5. */
  maxAttempts: number;
  /** Delay after the first failure; default 30 s. */
  initialDelayMs: number;
  /** Cap on any delay; default 1 h. */
  maxDelayMs: number;
  /** Growth of the delay per attempt; default 2. */
  multiplier: number;
  /** Fraction (0..1) by which each delay is randomly shortened; default 0.2. */
  jitter: number;
}

/**
 * How long a pipeline keeps citizens' data, in milliseconds (defaults and
 * final states in pipelines/privacy/retention.ts).
 */
export interface RetentionPolicy {
  /** Submission bodies (and their wrapped data keys) after the submission's final state; conflicts' bodies after they arrived. */
  bodiesMs: number;
  /** Evidence files (screenshots, traces) after they were written. */
  evidenceMs: number;
  /** Inbox files in `done/` after they were moved there. */
  inboxDoneMs: number;
  /** Inbox files in `quarantine/` after they were moved there. */
  inboxQuarantineMs: number;
  /** Ledger rows after the submission's final state; never shorter than `bodiesMs`. */
  ledgerMs: number;
}

/** Where a config value is to be read from when the pipeline starts. */
export type SecretSource = { env: string } | { file: string };

/** What an alert webhook may be told of (see runner/serve/alerts.ts for when each is sent). */
export const ALERT_EVENTS = ['pass-failed', 'dead-letters', 'recovered'] as const;

/** One of {@link ALERT_EVENTS}. */
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** A webhook named under `alerts.webhooks`: its URL is always a secret reference (incoming-webhook URLs are bearer secrets). */
export interface AlertWebhook {
  url: SecretSource;
  /** The events it receives; default all. */
  on: AlertEvent[];
}

/** Where `rekey serve` sends alerts about the pipeline. */
export interface AlertsPolicy {
  webhooks: AlertWebhook[];
}

/** A `{ env: NAME }` or `{ file: path }` value in a connector's config, or an alert webhook's URL. */
export interface SecretRef {
  side: 'source' | 'target' | 'alerts';
  /** Path of the value inside that connector's `config` (for `alerts`: inside `alerts`, e.g. `webhooks`, 0, `url`). */
  path: (string | number)[];
  from: SecretSource;
  /** Where the reference is written, for problems when it cannot be resolved. */
  pos: SourcePos;
}

/** A checked pipeline definition; keys as in the file, defaults filled in. */
export interface PipelineDef {
  /** The pipeline's name (`pipeline:`): names its state, logs and metrics. */
  pipeline: string;
  description?: string;
  /** The pipeline file, as it was named to the loader. */
  file: string;
  /** The mapping file as written: relative to the pipeline file's folder. */
  mapping: string;
  source: ConnectorUse;
  target: ConnectorUse;
  schedule?: Schedule;
  /** Submissions handed to the target at once; default 100. */
  batch: { size: number };
  /** Towards the legacy system: deliveries in flight at once (default 1) and deliveries per second (default unlimited). */
  limits: { concurrency: number; ratePerSecond?: number };
  window?: WriteWindow;
  retry: RetryPolicy;
  /** How long bodies, files and ledger rows are kept; defaults filled in. */
  retention: RetentionPolicy;
  /** Worker threads for mapping; 0 maps on the main thread; undefined: one per CPU core. */
  workers?: number;
  /** Webhooks told when a pass fails, dead letters appear, or the pipeline recovers. */
  alerts?: AlertsPolicy;
  /** Every secret reference in the source and target configs and the alert webhooks. */
  secrets: SecretRef[];
  /**
   * Set for a pipeline that tells several back offices (`routes:`, see
   * docs/routes.md): each route as a single-target definition of its own.
   * `mapping` and `target` above are then the first route's.
   */
  routes?: RouteDef[];
}

/** The separator of a route's ledger name, `<pipeline>~<route>`: never in a pipeline's name. */
export const ROUTE_SEPARATOR = '~';

/** The name under which the ledger, runs and audit log keep a route's deliveries. */
export function laneName(pipeline: string, route: string): string {
  return `${pipeline}${ROUTE_SEPARATOR}${route}`;
}

/** One route of a pipeline: one back office, told through its own mapping and target. */
export interface RouteDef {
  /** The route's name (`route:`), unique in its pipeline. */
  name: string;
  /** When the route applies, as written (a mapping-language condition, checked against the route's mapping when that is loaded); absent: always. */
  when?: Record<string, unknown>;
  /** Routes this one waits for (`after:`): it is told of a case once each of them that holds it has delivered it. */
  after?: string[];
  /**
   * The route as a definition of its own, named {@link laneName}: the
   * route's mapping, target, batch, limits, window and retry (the
   * pipeline's where the route sets none), the pipeline's source,
   * schedule, retention, workers and alerts, and the secrets of the
   * source, the route's target and the alerts.
   */
  def: PipelineDef;
}
