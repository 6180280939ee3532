/**
 * `rekey status [PIPELINE]`: per pipeline, submissions by state, conflicts
 * and the last run; a pipeline the store holds nothing of is refused. Also home of the small helpers the state commands
 * (status, dlq, replay, audit) share: `--state`/`--json`, opening the
 * ledger, tables, operator names.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger, LEDGER_STATES, type StateCounts } from '../../pipelines/ledger/ledger.js';
import type { RunRow } from '../../pipelines/ledger/ledger.rows.js';
import { caseCounts, laneOwner, routeName, routesOf, type CaseCounts } from '../../pipelines/ledger/cases.js';
import { pipelineControls } from '../../pipelines/ledger/controls.js';
import { countsByState } from '../../pipelines/ledger/counts.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import type { CommandResult } from '../cli.js';
import { dataKeys } from '../runtime.js';

/** Options every state command takes. */
export interface StateOptions {
  state?: string;
  json?: boolean;
}

/** Adds `--state <url>` and `--json` to a command. */
export function withStateOptions(cmd: Command): Command {
  return cmd
    .option('--state <url>', 'state store URL (default: $REKEY_STATE_URL, else sqlite:.rekey/state.sqlite)')
    .option('--json', 'print JSON instead of a table');
}

/** Opens the state store at `state`, runs `fn` with it, and closes it (for commands that need no data key). */
export async function withStore<T>(state: string | undefined, fn: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await openStateStore(state);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Opens the state store at `state`, runs `fn` with its ledger and audit log, and closes the store. */
export async function withLedger<T>(state: string | undefined, fn: (ledger: Ledger, audit: AuditLog, store: StateStore) => Promise<T>): Promise<T> {
  const store = await openStateStore(state);
  try {
    const audit = new AuditLog(store);
    return await fn(new Ledger(store, audit, dataKeys(state)), audit, store);
  } finally {
    await store.close();
  }
}

/** The actor for an operator action: `operator:<--operator or $USER>`. */
export function operatorActor(name: string | undefined): string {
  return `operator:${name || process.env.USER || process.env.USERNAME || 'unknown'}`;
}

/** Lays `rows` out under `headers` in left-aligned columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n')}\n`;
}

/** Writes `value` as indented JSON. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One pipeline's status. */
export interface PipelineStatus {
  pipeline: string;
  counts: StateCounts;
  total: number;
  conflicts: number;
  lastRun: RunRow | null;
  /** When the scheduler will next run it (filled by a `StatusExtension`; null when unknown). */
  nextRunAt: string | null;
  /** Who paused it, when and why (`rekey pause`, the console); null when it is not paused. */
  paused: { by: string; reason: string | null; since: string } | null;
  /** For a route's lane `P~ROUTE`: its pipeline `P` and route `ROUTE`; listed right after `P`. */
  routeOf?: string;
  route?: string;
  /** For a pipeline with routes: its routes, and its cases by state (its own counts are the submissions no route applied to). */
  routes?: string[];
  cases?: CaseCounts;
  [extra: string]: unknown;
}

/** Adds to a pipeline's status what only the runner knows (e.g. `nextRunAt` from its schedule). */
export type StatusExtension = (status: PipelineStatus) => void | Promise<void>;

/** Gathers the status of `pipeline`, or of every pipeline in the store. */
export async function collectStatus(ledger: Ledger, pipeline?: string, extend?: StatusExtension): Promise<PipelineStatus[]> {
  const controls = new Map((await pipelineControls(ledger.store)).filter((c) => c.paused).map((c) => [c.pipeline, c]));
  const lanes = pipeline !== undefined && laneOwner(pipeline) === undefined ? await routesOf(ledger.store, pipeline) : [];
  const names = pipeline ? [pipeline, ...lanes] : byCase([...(await ledger.pipelines()), ...controls.keys()]);
  const counts = pipeline ? await countsByState(ledger.store, names) : await ledger.counts();
  const out: PipelineStatus[] = [];
  for (const name of names) {
    const c = counts[name] ?? (Object.fromEntries(LEDGER_STATES.map((s) => [s, 0])) as StateCounts);
    const [lastRun = null] = await ledger.runs(name, 1);
    const status: PipelineStatus = {
      pipeline: name,
      counts: c,
      total: Object.values(c).reduce((a, b) => a + b, 0),
      conflicts: await ledger.conflictCount(name),
      lastRun,
      nextRunAt: null,
      paused: null,
    };
    const control = controls.get(name);
    if (control) status.paused = { by: control.by, reason: control.reason, since: control.since.toISOString() };
    const owner = laneOwner(name);
    if (owner !== undefined) Object.assign(status, { routeOf: owner, route: routeName(owner, name)! });
    await extend?.(status);
    out.push(status);
  }
  for (const status of out) {
    const own = names.filter((n) => routeName(status.pipeline, n) !== undefined);
    if (own.length) Object.assign(status, { routes: own.map((n) => routeName(status.pipeline, n)!), cases: await caseCounts(ledger.store, status.pipeline, own) });
  }
  return out;
}

/** `names` without repeats, each pipeline followed by its lanes `P~ROUTE` (a lane's pipeline added if missing), else sorted. */
function byCase(names: readonly string[]): string[] {
  const all = new Set(names);
  for (const n of names) {
    const owner = laneOwner(n);
    if (owner !== undefined) all.add(owner);
  }
  const sortKey = (n: string): [string, string] => [laneOwner(n) ?? n, laneOwner(n) === undefined ? '' : n];
  return [...all].sort((a, b) => {
    const [x, y] = [sortKey(a), sortKey(b)];
    return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
  });
}

const CASE_WORDS: [keyof CaseCounts, string][] = [
  ['complete', 'complete'],
  ['in-progress', 'in progress'],
  ['needs-attention', 'need attention'],
  ['closed', 'closed'],
  ['not-routed', 'not routed'],
];

/** The cases line of a routed pipeline under `rekey status`'s table. */
function casesText(s: PipelineStatus): string | undefined {
  const cases = s.cases;
  if (!cases || !s.routes) return undefined;
  const total = Object.values(cases).reduce((a, b) => a + b, 0);
  const parts = CASE_WORDS.map(([k, w]) => `${cases[k]} ${w}`);
  const hints = [...(cases['needs-attention'] ? [`rekey dlq list ${s.pipeline}~ROUTE`] : []), ...(cases['not-routed'] ? [`not routed: rekey dlq list ${s.pipeline}`] : [])];
  return `${s.pipeline}: ${total} case${total === 1 ? '' : 's'} over routes ${s.routes.join(', ')}: ${parts.join(', ')}${hints.length ? ` (${hints.join('; ')})` : ''}`;
}

/** At most this many known names are listed when a name is not among them. */
const LISTED = 10;

/**
 * Refuses (PIPELINE_UNKNOWN) a `pipeline` the store holds nothing of: no
 * ledger row, run or control under its name, nor under a route of it
 * (`pipeline~ROUTE`, so a routed pipeline whose rows are all in its lanes is
 * known). When `pipeline` is a pipeline file, says which name to give.
 */
export async function assertKnownPipeline(ledger: Ledger, pipeline: string): Promise<void> {
  const known = [...new Set([...(await ledger.pipelines()), ...(await pipelineControls(ledger.store)).map((c) => c.pipeline)])].sort();
  if (known.some((n) => n === pipeline || n.startsWith(`${pipeline}~`))) return;
  const listed = known.length ? ` (it knows ${known.slice(0, LISTED).join(', ')}${known.length > LISTED ? `, and ${known.length - LISTED} more` : ''})` : ' (it holds no pipeline yet)';
  const declared = await declaredName(pipeline);
  const file = declared === undefined ? '' : `; that is a pipeline file: give the name it declares, rekey status ${declared}`;
  throw new PipelineError(PipelineCodes.PIPELINE_UNKNOWN, `the state store has no pipeline "${pipeline}"${listed}${file}`);
}

/** The `pipeline:` name declared by the file `path`, if it is a readable pipeline file. */
async function declaredName(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const name = (parseYaml(text, { logLevel: 'silent' }) as { pipeline?: unknown } | null)?.pipeline;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function lastRunText(run: RunRow | null): string {
  if (!run) return 'never';
  if (run.finishedAt && run.error) return `${run.finishedAt.toISOString()} failed: ${run.error.code} ${run.error.message}`;
  if (!run.finishedAt || !run.summary) return `${run.startedAt.toISOString()} (running or interrupted)`;
  const s = run.summary;
  return `${run.finishedAt.toISOString()} read ${s.read}, new ${s.receivedNew}, delivered ${s.delivered}, rejected ${s.rejected}, dead ${s.dead}`;
}

/**
 * Builds the `status` command. The runner passes a `StatusExtension` to add
 * what it knows (next scheduled run); without one, `nextRunAt` is null.
 */
export function makeStatusCommand(extend?: StatusExtension): (program: Command, result: CommandResult) => void {
  return (program) => {
    withStateOptions(program.command('status').description('submissions by state, conflicts and the last run, per pipeline, and which are paused').argument('[pipeline]')).action(
      async (pipeline: string | undefined, opts: StateOptions) => {
        const statuses = await withLedger(opts.state, async (ledger) => {
          if (pipeline !== undefined) await assertKnownPipeline(ledger, pipeline);
          return collectStatus(ledger, pipeline, extend);
        });
        if (opts.json) return printJson({ pipelines: statuses });
        if (!statuses.length) return void process.stdout.write('no pipelines in the state store yet\n');
        const headers = ['PIPELINE', ...LEDGER_STATES.map((s) => s.toUpperCase()), 'CONFLICTS', 'LAST RUN', ...(extend ? ['NEXT RUN'] : [])];
        const rows = statuses.map((s) => [
          s.route !== undefined && statuses.some((o) => o.pipeline === s.routeOf) ? `  ~${s.route}` : s.pipeline,
          ...LEDGER_STATES.map((st) => s.counts[st]),
          s.conflicts,
          lastRunText(s.lastRun),
          ...(extend ? [s.nextRunAt ?? '-'] : []),
        ]);
        process.stdout.write(formatTable(headers, rows));
        for (const s of statuses) {
          const line = casesText(s);
          if (line) process.stdout.write(`${line}\n`);
        }
        for (const s of statuses) if (s.paused) process.stdout.write(`${s.pipeline} is paused since ${s.paused.since} by ${s.paused.by}: ${s.paused.reason ?? ''} (rekey resume ${s.pipeline})\n`);
      },
    );
  };
}

/** Registers `status` (without schedule information). */
export const statusCommand = makeStatusCommand();
