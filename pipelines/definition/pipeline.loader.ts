/**
 * Reads a pipeline file's text into a checked {@link PipelineDef},
 * reporting every problem of the file at once with its line and column:
 * schema (including each connector's own config schema), connector kinds,
 * cron, time zones, window hours and dates, durations, and secrets written
 * in clear. Pure: the caller hands in the text.
 */
import type { ValidateFunction } from 'ajv';
import { IANAZone, DateTime } from 'luxon';
import type { Problem } from '../../lib/problem.js';
import { checkAgainstSchema, compileSchema } from '../../lib/schema-check.js';
import { YamlSource, suggest, type DocPath } from '../../lib/yaml-source.js';
import { BUILTIN_CONNECTORS, type ConnectorCatalog } from '../../connectors/registry.js';
import { checkCron } from './cron.js';
import { DURATION_HINT, formatDuration, parseDuration } from '../../lib/duration.js';
import { buildPipelineSchema, buildRouteSchema, DATE_PATTERN, TIME_PATTERN } from './pipeline.schema.js';
import { DEFAULT_RETRY } from './retry.js';
import { DEFAULT_RETENTION } from '../privacy/retention.js';
import { findAlertSecrets, findSecrets, isSecretPath } from './secrets.js';
import { ALERT_EVENTS, laneName, type RouteDef, type AlertsPolicy, type Blackout, type ConnectorUse, type HoursRange, type PipelineDef, type RetentionPolicy, type RetryPolicy, type Schedule, type SecretRef, type WriteWindow } from './pipeline.types.js';
import type { BankHolidayRegion } from './bank-holidays.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});

/** Defaults of a pipeline's optional settings. */
export const PIPELINE_DEFAULTS = { batchSize: 100, concurrency: 1, timezone: 'Europe/London' } as const;

/** Compiled pipeline schemas, per catalog and per pair of kinds named (see `PipelineSchemaOptions.kinds`). */
const validators = new WeakMap<ConnectorCatalog, Map<string, ValidateFunction>>();
let zoneNames: string[] | undefined;

/** Result of reading a pipeline file: the definition when it has no problems, every problem, and the parsed YAML for locating later ones. */
export interface ParsedPipeline {
  def?: PipelineDef;
  problems: Problem[];
  yaml: YamlSource;
}

/**
 * Parses and checks a pipeline file. `def` is absent when there is any
 * problem; problems are sorted by position. `connectors` defaults to the
 * built-in registry. Files named in it (mapping, connector paths) are not
 * read here.
 */
export function parsePipeline(file: string, text: string, connectors: ConnectorCatalog = BUILTIN_CONNECTORS): ParsedPipeline {
  const parsed = readPipeline(file, text, connectors);
  parsed.problems.sort((a, b) => a.line - b.line || a.col - b.col);
  return parsed;
}

function readPipeline(file: string, text: string, connectors: ConnectorCatalog): ParsedPipeline {
  const src = new YamlSource(file, text);
  if (src.problems.length || !isObj(src.value)) {
    if (!src.problems.length) src.report([], 'a pipeline file must be a YAML mapping with pipeline, mapping, source and target keys');
    return { problems: src.problems, yaml: src };
  }
  const doc = src.value;
  const kindOf = (v: unknown) => (isObj(v) && typeof v.kind === 'string' ? v.kind : undefined);
  const kinds = { source: kindOf(doc.source), target: kindOf(doc.target) };
  checkAgainstSchema(src, doc, validator(connectors, kinds), { skip: (p) => isKind(p) || isSecretPath(p) });
  checkKind(src, ['source'], 'source', doc.source, [...connectors.sources.keys()]);
  const routed = doc.routes !== undefined;
  for (const k of ['mapping', 'target'] as const) {
    if (routed && doc[k] !== undefined) src.report([k], `a pipeline with routes names a mapping and a target in each route, not "${k}" beside them`);
    else if (!routed && doc[k] === undefined) src.report([], `missing key "${k}" under the top level`);
  }
  if (!routed) checkKind(src, ['target'], 'target', doc.target, [...connectors.targets.keys()]);
  const routes = Array.isArray(doc.routes) ? doc.routes : [];
  routes.forEach((r, i) => {
    if (!isObj(r)) return;
    checkAgainstSchema(src, r, routeValidator(connectors, kindOf(r.target)), { base: ['routes', i], skip: (p) => (p.length === 2 && p[0] === 'target' && p[1] === 'kind') || isSecretPath(['routes', i, ...p]) });
    checkKind(src, ['routes', i, 'target'], 'target', r.target, [...connectors.targets.keys()]);
    const first = routes.findIndex((o) => isObj(o) && o.route === r.route);
    if (typeof r.route === 'string' && first < i) src.report(['routes', i, 'route'], `route "${r.route}" is named twice (also item ${first + 1}): each route needs a name of its own`);
    if (Array.isArray(r.after)) {
      const immediate = routes.filter((o) => isObj(o) && o.after === undefined && typeof o.route === 'string').map((o) => String(obj(o).route));
      r.after.forEach((name, j) => {
        if (typeof name !== 'string' || immediate.includes(name)) return;
        const why = name === r.route ? 'a route cannot wait for itself' : routes.some((o) => isObj(o) && o.route === name) ? `route "${name}" waits for others itself: a route may wait only for routes told at once` : `no route is named "${name}"${suggest(name, immediate)}`;
        src.report(['routes', i, 'after', j], why);
      });
    }
  });
  const schedule = readSchedule(src, doc.schedule);
  const window = readWindow(src, doc.window, ['window']);
  const retry = readRetry(src, obj(doc.retry), ['retry']);
  const retention = readRetention(src, obj(doc.retention));
  const sourceSecrets = findSecrets(src, 'source', obj(doc.source).config);
  const alertSecrets = findAlertSecrets(src, doc.alerts);
  const secrets = [...sourceSecrets, ...(routed ? [] : findSecrets(src, 'target', obj(doc.target).config)), ...alertSecrets];
  const routeParts = routes.map((r, i) => {
    const base: DocPath = ['routes', i];
    const ro = obj(r);
    return {
      raw: ro,
      window: readWindow(src, ro.window, [...base, 'window']),
      retry: ro.retry === undefined ? undefined : readRetry(src, obj(ro.retry), [...base, 'retry']),
      secrets: findSecrets(src, 'target', obj(ro.target).config, base),
    };
  });
  if (src.problems.length) return { problems: src.problems, yaml: src };

  const use = (v: unknown): ConnectorUse => ({ kind: String(obj(v).kind), config: obj(obj(v).config) });
  const limits = obj(doc.limits);
  const def: PipelineDef = {
    pipeline: String(doc.pipeline),
    file,
    mapping: String(routed ? obj(routes[0]).mapping : doc.mapping),
    source: use(doc.source),
    target: use(routed ? obj(routes[0]).target : doc.target),
    batch: { size: (obj(doc.batch).size as number | undefined) ?? PIPELINE_DEFAULTS.batchSize },
    limits: { concurrency: (limits.concurrency as number | undefined) ?? PIPELINE_DEFAULTS.concurrency },
    retry,
    retention,
    secrets,
  };
  if (typeof limits.ratePerSecond === 'number') def.limits.ratePerSecond = limits.ratePerSecond;
  if (typeof doc.description === 'string') def.description = doc.description;
  if (schedule) def.schedule = schedule;
  if (window) def.window = window;
  if (typeof doc.workers === 'number') def.workers = doc.workers;
  const alerts = readAlerts(secrets, doc.alerts);
  if (alerts) def.alerts = alerts;
  if (routed) {
    def.routes = routeParts.map((part): RouteDef => {
      const name = String(part.raw.route);
      const rl = obj(part.raw.limits);
      const own: PipelineDef = {
        ...def,
        pipeline: laneName(def.pipeline, name),
        mapping: String(part.raw.mapping),
        target: use(part.raw.target),
        batch: { size: (obj(part.raw.batch).size as number | undefined) ?? def.batch.size },
        limits: {
          concurrency: (rl.concurrency as number | undefined) ?? def.limits.concurrency,
          ...(typeof (rl.ratePerSecond ?? def.limits.ratePerSecond) === 'number' && { ratePerSecond: (rl.ratePerSecond ?? def.limits.ratePerSecond) as number }),
        },
        retry: part.retry ?? def.retry,
        secrets: [...sourceSecrets, ...part.secrets, ...alertSecrets],
      };
      delete own.routes;
      delete own.window;
      const w = part.window ?? def.window;
      if (w) own.window = w;
      if (typeof part.raw.description === 'string') own.description = part.raw.description;
      const route: RouteDef = { name, def: own };
      if (isObj(part.raw.when)) route.when = part.raw.when;
      if (Array.isArray(part.raw.after)) route.after = part.raw.after.map(String);
      return route;
    });
  }
  return { def, problems: src.problems, yaml: src };
}

const isKind = (p: DocPath) => p.length === 2 && (p[0] === 'source' || p[0] === 'target') && p[1] === 'kind';

/** The compiled pipeline schema checking the config of these kinds only (built once per catalog and pair of kinds). */
function validator(connectors: ConnectorCatalog, kinds: { source?: string | undefined; target?: string | undefined }): ValidateFunction {
  const compiled = validators.get(connectors) ?? new Map<string, ValidateFunction>();
  validators.set(connectors, compiled);
  const id = JSON.stringify([kinds.source, kinds.target]);
  let validate = compiled.get(id);
  if (!validate) compiled.set(id, (validate = compileSchema(buildPipelineSchema(connectors, { published: false, kinds: { ...(kinds.source !== undefined && { source: kinds.source }), ...(kinds.target !== undefined && { target: kinds.target }) } }))));
  return validate;
}

/** The compiled schema of one route, checking the config of its target kind only. */
function routeValidator(connectors: ConnectorCatalog, kind: string | undefined): ValidateFunction {
  const compiled = validators.get(connectors) ?? new Map<string, ValidateFunction>();
  validators.set(connectors, compiled);
  const id = JSON.stringify(['route', kind]);
  let validate = compiled.get(id);
  if (!validate) compiled.set(id, (validate = compileSchema(buildRouteSchema(connectors, { published: false }, kind))));
  return validate;
}

function checkKind(src: YamlSource, at: DocPath, side: 'source' | 'target', use: unknown, names: string[]): void {
  if (!isObj(use) || use.kind === undefined) return;
  const kind = use.kind;
  const known = `the ${side} kinds are: ${names.join(', ')}`;
  if (typeof kind !== 'string') src.report([...at, 'kind'], `${side} kind must be a name; ${known}`);
  else if (!names.includes(kind)) src.report([...at, 'kind'], `unknown ${side} kind "${kind}"${suggest(kind, names) || `; ${known}`}`);
}

function checkZone(src: YamlSource, path: DocPath, zone: unknown): string {
  if (zone === undefined) return PIPELINE_DEFAULTS.timezone;
  if (typeof zone !== 'string') return PIPELINE_DEFAULTS.timezone;
  if (!IANAZone.isValidZone(zone)) {
    zoneNames ??= [...Intl.supportedValuesOf('timeZone'), 'UTC'];
    src.report(path, `unknown time zone "${zone}"${suggest(zone, zoneNames)}`);
  }
  return zone;
}

function readSchedule(src: YamlSource, raw: unknown): Schedule | undefined {
  if (!isObj(raw)) return undefined;
  const timezone = checkZone(src, ['schedule', 'timezone'], raw.timezone);
  if (typeof raw.cron !== 'string') return undefined;
  const bad = checkCron(raw.cron);
  if (bad) src.reportInside(['schedule', 'cron'], bad.offset, bad.message);
  return { cron: raw.cron, timezone };
}

const timeRe = new RegExp(TIME_PATTERN);
const dateRe = new RegExp(DATE_PATTERN);

function checkTime(src: YamlSource, path: DocPath, v: unknown, end: boolean): boolean {
  if (typeof v !== 'string') return false;
  const name = `"${String(path[path.length - 1])}"`;
  if (!timeRe.test(v)) src.report(path, `${name} must be a time HH:MM on the 24-hour clock, got "${v}"`);
  else if (v === '24:00' && !end) src.report(path, `${name} cannot be 24:00; use 00:00`);
  else return true;
  return false;
}

function checkDate(src: YamlSource, path: DocPath, v: unknown): v is string {
  if (typeof v !== 'string') return false;
  if (!dateRe.test(v)) src.report(path, `a blackout date must be yyyy-MM-dd, got "${v}"`);
  else if (!DateTime.fromISO(v, { zone: 'utc' }).isValid) src.report(path, `"${v}" is not a date in the calendar`);
  else return true;
  return false;
}

function readWindow(src: YamlSource, raw: unknown, base: DocPath): WriteWindow | undefined {
  if (!isObj(raw)) return undefined;
  const window: WriteWindow = { timezone: checkZone(src, [...base, 'timezone'], raw.timezone), blackout: [] };
  if (Array.isArray(raw.hours)) {
    window.hours = raw.hours.filter(isObj).map((h) => h as unknown as HoursRange);
    raw.hours.forEach((h, i) => {
      if (!isObj(h)) return;
      const at = [...base, 'hours', i];
      const from = checkTime(src, [...at, 'from'], h.from, false);
      const to = checkTime(src, [...at, 'to'], h.to, true);
      if (from && to && h.from === h.to) src.report([...at, 'to'], `"to" is the same as "from": these hours are empty`);
    });
  }
  if (Array.isArray(raw.blackout)) {
    raw.blackout.forEach((b, i) => {
      const at = [...base, 'blackout', i];
      if (typeof b === 'string') {
        if (checkDate(src, at, b)) window.blackout.push({ from: b, to: b });
        return;
      }
      if (!isObj(b) || !checkDate(src, [...at, 'from'], b.from)) return;
      const to = b.to === undefined ? b.from : b.to;
      if (b.to !== undefined && !checkDate(src, [...at, 'to'], b.to)) return;
      if (typeof to === 'string' && to < b.from) src.report([...at, 'to'], `"to" (${to}) is before "from" (${b.from})`);
      const entry: Blackout = { from: b.from, to: String(to) };
      if (typeof b.reason === 'string') entry.reason = b.reason;
      window.blackout.push(entry);
    });
  }
  if (typeof raw.bankHolidays === 'string') window.bankHolidays = raw.bankHolidays as BankHolidayRegion;
  return window;
}

function readRetry(src: YamlSource, raw: Obj, base: DocPath): RetryPolicy {
  const policy: RetryPolicy = { ...DEFAULT_RETRY };
  const delay = (key: 'initialDelay' | 'maxDelay'): number | undefined => {
    const v = raw[key];
    if (typeof v !== 'string') return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) src.report([...base, key], `"${key}" must be ${DURATION_HINT}, got "${v}"`);
    else if (ms === 0) src.report([...base, key], `"${key}" must be longer than 0`);
    return ms || undefined;
  };
  const initial = delay('initialDelay');
  const max = delay('maxDelay');
  if (initial !== undefined) policy.initialDelayMs = initial;
  if (max !== undefined) policy.maxDelayMs = max;
  if (policy.initialDelayMs > policy.maxDelayMs && (initial !== undefined || max !== undefined)) {
    const note = max === undefined ? ', the default' : '';
    src.report([...base, initial !== undefined ? 'initialDelay' : 'maxDelay'], `initialDelay (${formatDuration(policy.initialDelayMs)}) is longer than maxDelay (${formatDuration(policy.maxDelayMs)}${note})`);
  }
  for (const k of ['maxAttempts', 'multiplier', 'jitter'] as const) if (typeof raw[k] === 'number') policy[k] = raw[k];
  return policy;
}

const RETENTION_KEYS = { bodies: 'bodiesMs', evidence: 'evidenceMs', inboxDone: 'inboxDoneMs', inboxQuarantine: 'inboxQuarantineMs', ledger: 'ledgerMs' } as const;

function readRetention(src: YamlSource, raw: Obj): RetentionPolicy {
  const policy: RetentionPolicy = { ...DEFAULT_RETENTION };
  for (const [key, field] of Object.entries(RETENTION_KEYS)) {
    const v = raw[key];
    if (typeof v !== 'string') continue;
    const ms = parseDuration(v);
    if (ms === undefined) src.report(['retention', key], `"${key}" must be ${DURATION_HINT}, got "${v}"`);
    else if (ms === 0) src.report(['retention', key], `"${key}" must be longer than 0`);
    else policy[field] = ms;
  }
  if (policy.ledgerMs < policy.bodiesMs) {
    const note = raw.ledger === undefined ? ', the default' : '';
    src.report(['retention', raw.ledger === undefined ? 'bodies' : 'ledger'], `retention.ledger (${formatDuration(policy.ledgerMs)}${note}) is shorter than retention.bodies (${formatDuration(policy.bodiesMs)}): a ledger row is kept at least as long as its body`);
  }
  return policy;
}

/** The checked `alerts` block: each webhook's URL reference (from `secrets`) and its events, all three by default. */
function readAlerts(secrets: readonly SecretRef[], raw: unknown): AlertsPolicy | undefined {
  if (!isObj(raw) || !Array.isArray(raw.webhooks)) return undefined;
  const webhooks = raw.webhooks.map((hook, i) => {
    const ref = secrets.find((r) => r.side === 'alerts' && r.path[1] === i)!;
    const on = obj(hook).on;
    return { url: ref.from, on: Array.isArray(on) ? (on as AlertsPolicy['webhooks'][number]['on']) : [...ALERT_EVENTS] };
  });
  return { webhooks };
}
