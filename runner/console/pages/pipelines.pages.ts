/**
 * The console's Pipelines and Passes pages:
 * - `/pipelines`: every pipeline this serve runs, its state (running, idle,
 *   paused), schedule with last and next pass, counts by ledger state and
 *   health (as `/ready` reports it), with pause / resume and "run now" for
 *   operators;
 * - `/pipelines/:name`: the same for one pipeline, and its passes newest
 *   first, a page at a time by keyset;
 * - `/passes/:runId`: one pass's reconciliation, duration, throughput, what
 *   started it and, for users who may read submissions, what it rejected
 *   or dead-lettered and why (field, code, message; never a value).
 * Everyone signed in sees counts and states; references, reasons, pause
 * notes and who did what need `read`; the controls need `act`, and each is
 * on the audit log with the console user (a pause or resume as its actor,
 * a pass started now as the actor of `run-requested` and its trigger's `by`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../lib/errors.js';
import { PAUSE_REASON_MAX, pipelineControl } from '../../../pipelines/ledger/controls.js';
import type { StateCounts } from '../../../pipelines/ledger/ledger.js';
import { countsByState } from '../../../pipelines/ledger/search.js';
import { laneOwner } from '../../../pipelines/ledger/cases.js';
import { laneName } from '../../../pipelines/definition/pipeline.types.js';
import type { PassTrigger, RunSummary } from '../../../pipelines/ledger/ledger.types.js';
import { getPass, listPasses, runSubmissions, type PassRecord } from '../../../pipelines/ledger/runs-history.js';
import type { PipelineReadiness } from '../../serve/readiness.js';
import type { PassStart } from '../../serve/scheduler.js';
import type { ConsolePages } from '../console.js';
import { may, type ConsoleContext, type ConsolePipeline } from '../context.js';

/** Passes a page of a pipeline's history. */
export const PASSES_PAGE = 20;
/** Rejected and dead-lettered submissions a page of a pass. */
export const PROBLEMS_PAGE = 25;

/** The ledger states in the order the pages list them. */
const STATES = ['received', 'mapped', 'delivering', 'delivered', 'failed', 'rejected', 'dead', 'discarded'] as const;

/** One pipeline as the pages show it. */
interface PipelineView {
  name: string;
  description: string | undefined;
  /** Paused wins over running: a pass may still finish after a pause. */
  state: 'running' | 'idle' | 'paused';
  running: boolean;
  pause: { by: string; reason: string | null; since: Date } | null;
  cron: string | undefined;
  timezone: string | undefined;
  nextPass: string | undefined;
  lastPass: PassRecord | undefined;
  counts: { state: string; count: number }[];
  total: number;
  health: PipelineReadiness | undefined;
  /** Of a pipeline with routes: each route's lane and how its deliveries stand. */
  routes?: RouteView[];
  /** Of a route's lane (`P~ROUTE`): its pipeline and route. */
  laneOf?: { pipeline: string; route: string };
}

/** One route of a pipeline as its card lists it: counts only, never a value. */
interface RouteView {
  route: string;
  lane: string;
  delivered: number;
  /** Received, mapped, being delivered or waiting for a retry. */
  inProgress: number;
  /** Rejected or dead-lettered: a person must look. */
  needsAttention: number;
  total: number;
}

/** What a finished control said, for the banner after the redirect. */
const DONE: Record<string, { text: string; success: boolean }> = {
  paused: { text: 'The pipeline is paused. Its passes are skipped until it is resumed.', success: true },
  resumed: { text: 'The pipeline is resumed. Its next pass runs on its schedule, or now if you ask.', success: true },
  'run-started': { text: 'A pass has started. Its figures are below once it finishes (reload the page).', success: true },
  'run-already-running': { text: 'No pass was started: one is running now.', success: false },
  'run-paused': { text: 'No pass was started: the pipeline is paused. Resume it first.', success: false },
  'run-stopping': { text: 'No pass was started: rekey serve is stopping.', success: false },
};

const TRIGGERS: Record<PassTrigger['kind'], string> = {
  schedule: 'its schedule',
  start: 'rekey serve starting (--run-at-start)',
  watch: 'a change to its source',
  webhook: 'a submission sent to its webhook',
  console: 'a person, in the console',
  cli: 'a person, with rekey run',
};

/** "1.2 s", "3 min 4 s", "2 h 5 min". */
export function duration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** What started a pass, in words; the person only when `withPerson`. */
function trigger(t: PassTrigger | null, withPerson: boolean): string {
  if (!t) return 'not recorded';
  const what = TRIGGERS[t.kind] ?? t.kind;
  return withPerson && t.by ? `${what} (${t.by})` : what;
}

function countRows(c: StateCounts | undefined): { counts: { state: string; count: number }[]; total: number } {
  const counts = STATES.map((state) => ({ state, count: c?.[state] ?? 0 }));
  return { counts, total: counts.reduce((n, r) => n + r.count, 0) };
}

/** The pipeline a lane `P~ROUTE` belongs to, when this serve runs that pipeline; else undefined. */
function ownerIn(ctx: ConsoleContext, name: string): { pipeline: string; route: string } | undefined {
  const owner = laneOwner(name);
  return owner !== undefined && ctx.pipelines.some((p) => p.name === owner) ? { pipeline: owner, route: name.slice(owner.length + 1) } : undefined;
}

function routeView(lane: string, route: string, c: StateCounts | undefined): RouteView {
  const n = (s: keyof StateCounts) => c?.[s] ?? 0;
  const { total } = countRows(c);
  return { route, lane, delivered: n('delivered'), inProgress: n('received') + n('mapped') + n('delivering') + n('failed'), needsAttention: n('rejected') + n('dead'), total };
}

async function viewOf(ctx: ConsoleContext, p: ConsolePipeline, counts: Record<string, StateCounts>, health: Record<string, PipelineReadiness> | undefined): Promise<PipelineView> {
  const store = ctx.runtime.store;
  const [control, last] = await Promise.all([pipelineControl(store, p.name), listPasses(store, { pipeline: p.name, limit: 1 })]);
  const entry = ctx.scheduler.pipelines.find((e) => e.name === p.name);
  const running = entry?.running ?? false;
  const paused = control?.paused ?? false;
  return {
    name: p.name,
    description: p.def.description,
    state: paused ? 'paused' : running ? 'running' : 'idle',
    running,
    pause: paused && control ? { by: control.by, reason: control.reason, since: control.since } : null,
    cron: entry ? entry.cron : p.def.schedule?.cron,
    timezone: entry ? entry.timezone : p.def.schedule?.timezone,
    nextPass: paused ? undefined : entry?.nextRun(),
    lastPass: last.items[0],
    ...countRows(counts[p.name]),
    health: health?.[p.name],
    ...(p.def.routes?.length && { routes: p.def.routes.map((r) => routeView(laneName(p.name, r.name), r.name, counts[laneName(p.name, r.name)])) }),
    ...(ownerIn(ctx, p.name) && { laneOf: ownerIn(ctx, p.name) }),
  };
}

/** One pass as a row of the history. */
function passRow(p: PassRecord, withPerson: boolean) {
  const throughput = p.readPerSecond === null ? 'not measured' : `${p.readPerSecond} read a second, ${p.deliveredPerSecond ?? 0} delivered a second`;
  return { ...p, duration: duration(p.durationMs), startedBy: trigger(p.trigger, withPerson), throughput };
}

/** The reconciliation of a pass, as rows. */
function reconciliation(s: RunSummary): { label: string; count: number }[] {
  const rows = [
    { label: 'Read', count: s.read },
    { label: 'New', count: s.receivedNew },
    { label: 'Duplicates', count: s.duplicates },
    { label: 'Conflicts', count: s.conflicts },
    { label: 'Unreadable', count: s.unreadable },
    { label: 'Rejected', count: s.rejected },
    { label: 'Delivered', count: s.delivered },
    { label: 'Failed (to retry)', count: s.failed },
    { label: 'Dead-lettered', count: s.dead },
  ];
  if (s.confirmed !== undefined) rows.push({ label: 'Confirmed by the legacy system', count: s.confirmed });
  if (s.rejectedByLegacy !== undefined) rows.push({ label: 'Refused later by the legacy system', count: s.rejectedByLegacy });
  return rows;
}

function codeOf(e: unknown): string | undefined {
  return e instanceof CodedError ? e.code : undefined;
}

/** The banner of the control just done, named by the redirect's `done` flag. */
function doneOf(req: FastifyRequest): { text: string; success: boolean } | undefined {
  const flag = param(req, 'done');
  return flag !== undefined && Object.hasOwn(DONE, flag) ? DONE[flag] : undefined;
}

/** A query parameter as one string (a repeated one is refused as absent). */
function param(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 500 ? v : undefined;
}

/** Whether the client asked for JSON rather than a page (an API-token client sending `Accept: application/json`). */
function wantsJson(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return /\bapplication\/json\b/i.test(accept) && !/\btext\/html\b/i.test(accept);
}

/** A pass as JSON: what the pages show of it, the person who started it only with `read`, the error's code only. */
function passJson(p: PassRecord, withPerson: boolean) {
  return {
    id: p.id,
    status: p.status,
    trigger: p.trigger ? { kind: p.trigger.kind, ...(withPerson && p.trigger.by ? { by: p.trigger.by } : {}) } : null,
    startedAt: p.startedAt,
    finishedAt: p.finishedAt,
    durationMs: p.durationMs,
    summary: p.summary,
    readPerSecond: p.readPerSecond,
    deliveredPerSecond: p.deliveredPerSecond,
    errorCode: p.error?.code ?? null,
  };
}

/** A pipeline as JSON: the data its card shows, who paused it and why only with `read`. */
function pipelineJson(v: PipelineView, withPerson: boolean) {
  return {
    name: v.name,
    description: v.description ?? null,
    state: v.state,
    running: v.running,
    pause: v.pause ? { since: v.pause.since, ...(withPerson ? { by: v.pause.by, reason: v.pause.reason } : {}) } : null,
    schedule: v.cron ? { cron: v.cron, timezone: v.timezone ?? null } : null,
    nextPass: v.nextPass ?? null,
    lastPass: v.lastPass ? passJson(v.lastPass, withPerson) : null,
    counts: Object.fromEntries(v.counts.map((c) => [c.state, c.count])),
    total: v.total,
    health: v.health ?? null,
    ...(v.routes && { routes: v.routes }),
    ...(v.laneOf && { laneOf: v.laneOf }),
  };
}

/** Registers `/pipelines`, `/pipelines/:name`, its controls and `/passes/:runId`. */
export const pipelinePages: ConsolePages = (app, ctx) => {
  const byName = new Map(ctx.pipelines.map((p) => [p.name, p]));
  // A route's lane has its own page, reached from its pipeline's card, but no card of its own in the list.
  const listed = ctx.pipelines.filter((p) => !ownerIn(ctx, p.name));

  const notFound = (req: FastifyRequest, reply: FastifyReply, title: string, text: string) => ctx.render(req, reply, 'message.njk', { title, text }, 404);

  const listPage = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    // Counts are kept by the ledger's triggers (migration 0016), so reading them fresh costs a few rows.
    const [counted, health] = [await countsByState(ctx.runtime.store, ctx.pipelines.map((p) => p.name)), ctx.readiness?.report().pipelines];
    const pipelines = [];
    for (const p of listed) pipelines.push(await viewOf(ctx, p, counted, health));
    if (status === 200 && wantsJson(req)) return reply.send({ pipelines: pipelines.map((v) => pipelineJson(v, may(req.consoleUser, 'read'))) });
    return ctx.render(req, reply, 'pipelines.njk', { title: 'Pipelines', pipelines, steerable: ctx.steering !== undefined, reasonMax: PAUSE_REASON_MAX, done: doneOf(req), ...extra }, status);
  };

  const detailPage = async (req: FastifyRequest, reply: FastifyReply, p: ConsolePipeline, extra: Record<string, unknown> = {}, status = 200) => {
    const before = param(req, 'before');
    let page;
    try {
      page = await listPasses(ctx.runtime.store, { pipeline: p.name, limit: PASSES_PAGE, ...(before === undefined ? {} : { before }) });
    } catch (e) {
      if (codeOf(e) === 'LEDGER_BAD_REQUEST') return ctx.render(req, reply, 'message.njk', { title: 'That page of passes does not exist', text: 'The link to the page of passes was not one this console gave. Start again from the newest passes.' }, 400);
      throw e;
    }
    const lanes = (p.def.routes ?? []).map((r) => laneName(p.name, r.name));
    const view = await viewOf(ctx, p, await countsByState(ctx.runtime.store, [p.name, ...lanes]), ctx.readiness?.report().pipelines);
    if (status === 200 && wantsJson(req)) {
      const withPerson = may(req.consoleUser, 'read');
      return reply.send({ pipeline: pipelineJson(view, withPerson), passes: page.items.map((r) => passJson(r, withPerson)), next: page.next });
    }
    return ctx.render(
      req,
      reply,
      'pipeline.njk',
      {
        title: view.laneOf ? `Route ${view.laneOf.route} of ${view.laneOf.pipeline}` : `Pipeline ${p.name}`,
        pipeline: view,
        passes: page.items.map((r) => passRow(r, may(req.consoleUser, 'read'))),
        next: page.next,
        firstPage: before === undefined,
        // A route is paused and run with its pipeline: its page has no controls of its own.
        steerable: ctx.steering !== undefined && !view.laneOf,
        reasonMax: PAUSE_REASON_MAX,
        done: doneOf(req),
        ...extra,
      },
      status,
    );
  };

  app.get('/pipelines', { preHandler: ctx.guard('counts') }, async (req, reply) => listPage(req, reply));

  app.get('/pipelines/:name', { preHandler: ctx.guard('counts') }, async (req, reply) => {
    const p = byName.get((req.params as { name: string }).name);
    if (!p) return notFound(req, reply, 'No such pipeline', 'This rekey serve runs no pipeline of that name. The pipelines it runs are listed on the Pipelines page.');
    return detailPage(req, reply, p);
  });

  /** Where a control's form came from: the list or the pipeline's own page. */
  const back = (body: Record<string, unknown>, name: string) => (body.back === 'list' ? '/pipelines' : `/pipelines/${encodeURIComponent(name)}`);

  /** Re-renders the page a control came from with `message` as its error (on the reason field when `field`). */
  const refuse = (req: FastifyRequest, reply: FastifyReply, p: ConsolePipeline, message: string, status: number, field: boolean) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const fromList = body.back === 'list';
    const n = fromList ? listed.indexOf(p) + 1 : 1;
    const extra = { errors: [{ text: message, href: field ? `#reason-${n}` : fromList ? `#controls-${n}` : '#controls' }], failed: { pipeline: p.name, message: field ? message : undefined, reason: typeof body.reason === 'string' ? body.reason : '' } };
    return fromList ? listPage(req, reply, extra, status) : detailPage(req, reply, p, extra, status);
  };

  const control = (action: 'pause' | 'resume' | 'run') =>
    app.post(`/pipelines/:name/${action}`, { preHandler: [ctx.guard('act'), ctx.csrf] }, async (req, reply) => {
      const p = byName.get((req.params as { name: string }).name);
      if (!p) return notFound(req, reply, 'No such pipeline', 'This rekey serve runs no pipeline of that name.');
      const lane = ownerIn(ctx, p.name);
      if (lane) return ctx.render(req, reply, 'message.njk', { title: 'A route is steered with its pipeline', text: `Route ${lane.route} runs in the passes of pipeline ${lane.pipeline}: pause, resume or run ${lane.pipeline}.` }, 409);
      const steering = ctx.steering;
      if (!steering) return ctx.render(req, reply, 'message.njk', { title: 'Pipelines cannot be steered here', text: 'This console was started without control of its pipelines.' }, 503);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const actor = ctx.actorOf(req.consoleUser!);
      try {
        if (action === 'pause') {
          const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
          if (!reason) return refuse(req, reply, p, 'Enter why you are pausing the pipeline', 400, true);
          if (reason.length > PAUSE_REASON_MAX) return refuse(req, reply, p, `The reason must be ${PAUSE_REASON_MAX} characters or fewer`, 400, true);
          await steering.pause(p.name, actor, reason);
          ctx.log.info({ pipeline: p.name, actor }, 'console: pipeline paused');
          return reply.redirect(`${back(body, p.name)}?done=paused`, 303);
        }
        if (action === 'resume') {
          await steering.resume(p.name, actor);
          ctx.log.info({ pipeline: p.name, actor }, 'console: pipeline resumed');
          return reply.redirect(`${back(body, p.name)}?done=resumed`, 303);
        }
        const started: PassStart = await steering.runNow(p.name, actor);
        ctx.log.info({ pipeline: p.name, actor, started }, 'console: run now');
        return reply.redirect(`${back(body, p.name)}?done=run-${started}`, 303);
      } catch (e) {
        const code = codeOf(e);
        if (code === 'PIPELINE_ALREADY_PAUSED') return refuse(req, reply, p, 'The pipeline is already paused', 409, false);
        if (code === 'PIPELINE_NOT_PAUSED') return refuse(req, reply, p, 'The pipeline is not paused', 409, false);
        if (code === 'LEDGER_BAD_REQUEST') return refuse(req, reply, p, (e as Error).message, 400, action === 'pause');
        throw e;
      }
    });
  control('pause');
  control('resume');
  control('run');

  app.get('/passes/:runId', { preHandler: ctx.guard('counts') }, async (req, reply) => {
    const runId = (req.params as { runId: string }).runId;
    const missing = () => notFound(req, reply, 'No such pass', 'No pass with that run id was started. The passes of each pipeline are listed on its page.');
    if (runId.length > 100) return missing();
    let pass: PassRecord;
    try {
      pass = await getPass(ctx.runtime.store, runId);
    } catch (e) {
      if (codeOf(e) === 'LEDGER_UNKNOWN_RUN') return missing();
      throw e;
    }
    const canRead = may(req.consoleUser, 'read');
    let problems;
    const after = param(req, 'after');
    if (canRead) {
      try {
        problems = await runSubmissions(ctx.runtime.store, runId, { limit: PROBLEMS_PAGE, ...(after === undefined ? {} : { after }) });
      } catch (e) {
        if (codeOf(e) === 'LEDGER_BAD_REQUEST') return ctx.render(req, reply, 'message.njk', { title: 'That page of submissions does not exist', text: 'The link was not one this console gave. Start again from the pass.' }, 400);
        throw e;
      }
    }
    return ctx.render(req, reply, 'pass.njk', {
      title: `Pass of ${pass.pipeline}`,
      pass: passRow(pass, canRead),
      known: byName.has(pass.pipeline),
      reconciliation: pass.summary ? reconciliation(pass.summary) : [],
      problems: problems?.items.map((p) => ({ ...p, href: `/submissions/${encodeURIComponent(pass.pipeline)}/${encodeURIComponent(p.key)}` })),
      next: problems?.next ?? null,
      firstPage: after === undefined,
    });
  });
};
