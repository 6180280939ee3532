/**
 * The console's Submissions pages (issue 18), for users who may `read`:
 * - `GET /submissions`: a GET form (filters in the query string, so a
 *   search is a bookmark) over `searchSubmissions`: any reference (key,
 *   form reference or legacy reference, whole or its start from 3
 *   characters, any case; the page says when only whole references were
 *   matched, see `PrefixMatching`),
 *   pipeline, states and a date range of the last change, newest first,
 *   a page at a time by keyset cursor;
 * - `GET /submissions/:pipeline/:key`: one submission's story as `rekey
 *   show` tells it, with the lineage of each field sent and its value
 *   masked;
 * - `POST /submissions/:pipeline/:key/sent` (`evidence`): the same page
 *   with the record as sent decrypted, audited as `evidence-opened` with
 *   the console user as actor, as `rekey show --sent` does;
 * - `POST /submissions/:pipeline/:key/evidence` (`evidence`): one evidence
 *   file decrypted as a download, audited as `rekey evidence` does;
 * - `GET /mappings/:version`: a stored mapping version's text and lineage.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { lineageFromCanonical } from '../../../mappings/lineage.js';
import { storedMappingYaml } from '../../../mappings/stored-mapping.js';
import { readMappingText } from '../../../pipelines/audit/mapping-texts.js';
import { listMappingVersionUse, resolveMappingVersion } from '../../../pipelines/audit/mapping-versions.js';
import { openEvidence, openLegacyText, openSentRecord, storyLineage, type LegacyTextOpened, type SentOpened } from '../../../pipelines/audit/story-open.js';
import { loadStory, type SubmissionStory } from '../../../pipelines/audit/story.js';
import { caseOf, laneOwner, routesOf } from '../../../pipelines/ledger/cases.js';
import { LEDGER_STATES } from '../../../pipelines/ledger/ledger.js';
import type { LedgerState } from '../../../pipelines/ledger/ledger.types.js';
import { PREFIX_MATCH_MAX, PREFIX_MIN_LENGTH, SEARCH_MAX_LIMIT, searchSubmissions, type PrefixMatching, type SubmissionSearch } from '../../../pipelines/ledger/search.js';
import { PipelineCodes } from '../../../pipelines/pipeline.errors.js';
import { CASE_STATE_TEXT } from '../../commands/show.text.js';
import type { ConsolePages } from '../console.js';
import type { ConsoleContext } from '../context.js';
import { fieldRows, headerRows, lineageRows, mappingHref, submissionHref, timelineRows } from './submission.view.js';

/** Rows per page of the list, unless the address asks for another number (`limit`, up to `SEARCH_MAX_LIMIT`). */
export const SUBMISSIONS_PAGE = 50;
/** Most earlier cursors a list link carries for "Newer" (deeper, "Newer" starts again from the newest). */
const TRAIL_MAX = 40;
/** States whose submission an operator may retry, discard or correct on the dead letters page. */
const PROBLEM_STATES: readonly LedgerState[] = ['dead', 'failed', 'rejected'];

type Query = Record<string, string | string[] | undefined>;

const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? '')).trim();
const many = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v ? [v] : []).map((s) => s.trim()).filter(Boolean);

/** A date the form gives: `YYYY-MM-DD` (midnight UTC) or a full ISO time; undefined when blank, null when not a date. */
function readDate(text: string): Date | undefined | null {
  if (!text) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(text) ? new Date(text) : null;
  if (!d || Number.isNaN(d.getTime())) return null;
  if (m && d.toISOString().slice(0, 10) !== text) return null;
  return d;
}

/** Why a reference was matched whole only, in words for the page (never repeating what was typed). */
const WHOLE_ONLY: Record<Exclude<PrefixMatching, 'on'>, string> = {
  'too-short': `Only whole references were matched: the start of a reference is matched from ${PREFIX_MIN_LENGTH} characters. Enter at least ${PREFIX_MIN_LENGTH} characters to find references that start with them.`,
  'too-many': `Only whole references were matched: more than ${PREFIX_MATCH_MAX.toLocaleString('en-GB')} references start with what you entered. Enter more of the reference, or leave it blank and filter by pipeline, state or dates.`,
};

/** The filters of a list request, checked; `errors` name each bad one, for the error summary. */
/** The list's filters as the form gave them (echoed back into the form and the page links). */
interface Filters {
  q: string;
  pipeline: string;
  state: string[];
  from: string;
  to: string;
  /** Rows per page as given (blank: `SUBMISSIONS_PAGE`). */
  limit: string;
}

function readFilters(query: Query): { filters: Filters; search?: SubmissionSearch; errors: { text: string; href: string }[] } {
  const q = one(query.q);
  const pipeline = one(query.pipeline);
  const states = many(query.state);
  const fromText = one(query.from);
  const toText = one(query.to);
  const after = one(query.after);
  const limitText = one(query.limit);
  const errors: { text: string; href: string }[] = [];
  const bad = states.filter((s) => !LEDGER_STATES.includes(s as LedgerState));
  if (bad.length) errors.push({ text: `Choose states from the list (${bad.map((s) => JSON.stringify(s.slice(0, 20))).join(', ')} is not one)`, href: `#state` });
  if (q.length > 200) errors.push({ text: 'Enter a reference of at most 200 characters', href: '#q' });
  const from = readDate(fromText);
  const to = readDate(toText);
  if (from === null) errors.push({ text: 'Changed from must be a date, like 2026-06-01', href: '#from' });
  if (to === null) errors.push({ text: 'Changed to must be a date, like 2026-06-30', href: '#to' });
  if (from && to && from > to) errors.push({ text: 'Changed from must be on or before changed to', href: '#from' });
  const limit = limitText ? Number(limitText) : SUBMISSIONS_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_MAX_LIMIT) errors.push({ text: `Rows per page must be a whole number from 1 to ${SEARCH_MAX_LIMIT}`, href: '#q' });
  const filters = { q, pipeline, state: states, from: fromText, to: toText, limit: limitText };
  if (errors.length) return { filters, errors };
  // A day typed into "to" includes that whole day.
  const until = to && /^\d{4}-\d{2}-\d{2}$/.test(toText) ? new Date(to.getTime() + 86_400_000) : to;
  return {
    filters,
    errors,
    search: { limit, ...(q && { q }), ...(pipeline && { pipeline }), ...(states.length && { states: states as LedgerState[] }), ...(from && { from }), ...(until && { to: until }), ...(after && { after }) },
  };
}

/** Each form field's error message (the first naming it), by field id, for the inputs' own messages. */
function fieldErrorsOf(errors: readonly { text: string; href: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) out[e.href.slice(1)] ??= e.text;
  return out;
}

/** `/submissions?...` with `filters` and, when given, a cursor and the trail of earlier cursors. */
function listHref(filters: Filters, after?: string, trail: readonly string[] = []): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) for (const x of Array.isArray(v) ? v : [v]) if (x) p.append(k, x);
  if (after) p.set('after', after);
  if (trail.length) p.set('trail', trail.join('.'));
  const qs = p.toString();
  return `/submissions${qs ? `?${qs}` : ''}`;
}

async function listPage(ctx: ConsoleContext, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const query = req.query as Query;
  const { filters, search, errors } = readFilters(query);
  const names = ctx.pipelines.map((p) => p.name);
  const pipelineOptions = [{ value: '', text: 'All pipelines' }, ...[...new Set([...names, ...(filters.pipeline ? [filters.pipeline] : [])])].map((n) => ({ value: n, text: n }))];
  const stateItems = LEDGER_STATES.map((s) => ({ value: s, text: s, checked: filters.state.includes(s) }));
  const base = { title: 'Submissions', prefixMin: PREFIX_MIN_LENGTH, filters, pipelineOptions, stateItems, searched: Boolean(filters.q || filters.pipeline || filters.state.length || filters.from || filters.to) };
  if (!search) return ctx.render(req, reply, 'submissions.njk', { ...base, errors, fieldErrors: fieldErrorsOf(errors) }, 400);
  let page;
  try {
    page = await searchSubmissions(ctx.runtime.store, search);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== PipelineCodes.SEARCH_CURSOR_INVALID.code && code !== PipelineCodes.SEARCH_FILTER_INVALID.code) throw e;
    const text = code === PipelineCodes.SEARCH_CURSOR_INVALID.code ? 'That page link is out of date: start again from the newest' : (e as Error).message;
    const errors = [{ text, href: '#q' }];
    return ctx.render(req, reply, 'submissions.njk', { ...base, errors, fieldErrors: fieldErrorsOf(errors) }, 400);
  }
  const after = search.after;
  const trail = one(query.trail).split('.').filter((c) => /^[A-Za-z0-9_-]{1,200}$/.test(c)).slice(-TRAIL_MAX);
  const rows = page.rows.map((r) => ({ ...r, href: submissionHref(r.pipeline, r.key), updatedAt: r.updatedAt.toISOString() }));
  const older = page.next ? listHref(filters, page.next, after ? [...trail, after].slice(-TRAIL_MAX) : []) : undefined;
  const newer = after ? (trail.length ? listHref(filters, trail.at(-1), trail.slice(0, -1)) : listHref(filters)) : undefined;
  const wholeOnly = page.prefix && page.prefix !== 'on' ? WHOLE_ONLY[page.prefix] : undefined;
  return ctx.render(req, reply, 'submissions.njk', { ...base, rows, older, newer, newest: after && trail.length ? listHref(filters) : undefined, deep: Boolean(after), wholeOnly });
}

/** The pipeline and key of a submission's address (both URL-decoded by the router). */
function target(req: FastifyRequest): { pipeline: string; key: string } {
  const { pipeline, key } = req.params as { pipeline: string; key: string };
  return { pipeline, key };
}

async function notFound(ctx: ConsoleContext, req: FastifyRequest, reply: FastifyReply, title: string, text: string): Promise<FastifyReply> {
  return ctx.render(req, reply, 'message.njk', { title, text }, 404);
}

/** Renders a submission's page from its story; `opened` adds the record as sent, `legacy` the legacy system's text of its last error (for an evidence user who asked). */
async function renderSubmission(
  ctx: ConsoleContext,
  req: FastifyRequest,
  reply: FastifyReply,
  story: SubmissionStory,
  opened?: SentOpened & { actor: string },
  errors?: { text: string; href: string }[],
  legacy?: LegacyTextOpened & { actor: string },
): Promise<FastifyReply> {
  const lineage = await storyLineage(ctx.runtime.store, story);
  const sameCase = await casePanel(ctx, story);
  const record = opened?.sent ?? undefined;
  const state = story.row?.state;
  return ctx.render(
    req,
    reply,
    'submission.njk',
    {
      title: `Submission ${story.reference}`,
      story: { pipeline: story.pipeline, key: story.key, reference: story.reference, erased: Boolean(story.erasedAt), purged: !story.row },
      header: headerRows(story),
      timeline: timelineRows(story),
      lineage: 'fields' in lineage ? { version: lineage.version, href: mappingHref(lineage.version) } : { version: lineage.version, unavailable: lineage.unavailable },
      fields: fieldRows(story, lineage, record),
      sentOpened: opened ? (opened.sent ? { seq: opened.seq, actor: opened.actor } : { why: opened.why }) : undefined,
      canOpenSent: Boolean(story.delivery && story.sentKept && !story.erasedAt),
      canOpenLegacyText: Boolean(story.row?.lastError?.textHash && story.row.state !== 'delivered' && !story.erasedAt),
      legacyOpened: legacy ? (legacy.text !== null ? { text: legacy.text, seq: legacy.seq, actor: legacy.actor } : { why: legacy.why }) : undefined,
      evidenceFiles: story.files.filter((f) => f.kind === 'evidence').map((f) => f.file),
      selfHref: submissionHref(story.pipeline, story.key),
      ...(sameCase && { sameCase }),
      deadLetterHref: state && PROBLEM_STATES.includes(state) ? `/dead-letters/${encodeURIComponent(story.pipeline)}/${encodeURIComponent(story.key)}` : undefined,
      ...(errors && { errors }),
    },
    errors ? 400 : 200,
  );
}

/** What the Case panel shows of one row of a case: never a value of the submission. */
interface CasePanelRow {
  route: string;
  state: string;
  attempts: number;
  legacyRef: string | null;
  error: string | null;
  href: string;
  current: boolean;
}

/**
 * The Case panel of a submission of a pipeline with routes (issue 19): the
 * case's state and its rows in the pipeline and every lane, each linking to
 * that row's page; undefined for a pipeline without routes.
 */
async function casePanel(ctx: ConsoleContext, story: SubmissionStory): Promise<{ pipeline: string; state: string; text: string; rows: CasePanelRow[]; notTold: string[] } | undefined> {
  const store = ctx.runtime.store;
  const owner = laneOwner(story.pipeline) ?? ((await routesOf(store, story.pipeline)).length ? story.pipeline : undefined);
  if (owner === undefined) return undefined;
  const c = await caseOf(store, owner, story.key);
  if (!c) return undefined;
  const rows = [...(c.intake ? [c.intake] : []), ...c.routes].map((r) => ({
    route: r.route ?? `${owner} (no route applied)`,
    state: r.state,
    attempts: r.attempts,
    legacyRef: r.legacyRef,
    error: r.error ? `${r.error.code}${r.error.field ? ` on ${r.error.field}` : ''}: ${r.error.message}` : null,
    href: submissionHref(r.pipeline, c.key),
    current: r.pipeline === story.pipeline,
  }));
  return { pipeline: owner, state: c.state, text: CASE_STATE_TEXT[c.state], rows, notTold: c.notTold };
}

const NOT_FOUND = 'No submission has that pipeline and key: neither the ledger nor the audit log names it. Search for it by any reference on the Submissions page.';

/** Registers the Submissions pages and the mapping version page. */
export const submissionsPages: ConsolePages = (app, ctx) => {
  app.get('/submissions', { preHandler: ctx.guard('read') }, (req, reply) => listPage(ctx, req, reply));

  app.get('/submissions/:pipeline/:key', { preHandler: ctx.guard('read') }, async (req, reply) => {
    const { pipeline, key } = target(req);
    const story = await loadStory(ctx.runtime.store, ctx.runtime.audit, pipeline, key);
    if (!story) return notFound(ctx, req, reply, 'Submission not found', NOT_FOUND);
    return renderSubmission(ctx, req, reply, story);
  });

  app.post('/submissions/:pipeline/:key/sent', { preHandler: [ctx.guard('evidence'), ctx.csrf] }, async (req, reply) => {
    const { pipeline, key } = target(req);
    const { store, audit, ledger } = ctx.runtime;
    const story = await loadStory(store, audit, pipeline, key);
    if (!story) return notFound(ctx, req, reply, 'Submission not found', NOT_FOUND);
    const actor = ctx.actorOf(req.consoleUser!);
    let opened: SentOpened;
    try {
      opened = await openSentRecord(ledger, audit, story, actor);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== PipelineCodes.SUBMISSION_ERASED.code && code !== PipelineCodes.BODY_PURGED.code) throw e;
      return renderSubmission(ctx, req, reply, story, undefined, [{ text: (e as Error).message, href: '#sent' }]);
    }
    if (opened.sent) ctx.log.info({ pipeline, user: req.consoleUser!.name, seq: opened.seq }, 'console: record as sent opened');
    // Read again so the timeline holds the access just recorded.
    const after = (await loadStory(store, audit, pipeline, key)) ?? story;
    return renderSubmission(ctx, req, reply, after, { ...opened, actor });
  });

  app.post('/submissions/:pipeline/:key/legacy-text', { preHandler: [ctx.guard('evidence'), ctx.csrf] }, async (req, reply) => {
    const { pipeline, key } = target(req);
    const { store, audit, ledger } = ctx.runtime;
    const story = await loadStory(store, audit, pipeline, key);
    if (!story) return notFound(ctx, req, reply, 'Submission not found', NOT_FOUND);
    const actor = ctx.actorOf(req.consoleUser!);
    const opened = await openLegacyText(ledger, audit, pipeline, key, story.row?.lastError ?? null, actor);
    if (opened.text !== null) ctx.log.info({ pipeline, user: req.consoleUser!.name, seq: opened.seq }, "console: the legacy system's error text opened");
    const after = (await loadStory(store, audit, pipeline, key)) ?? story;
    return renderSubmission(ctx, req, reply, after, undefined, undefined, { ...opened, actor });
  });

  app.post('/submissions/:pipeline/:key/evidence', { preHandler: [ctx.guard('evidence'), ctx.csrf] }, async (req, reply) => {
    const { pipeline, key } = target(req);
    const file = typeof (req.body as { file?: unknown } | undefined)?.file === 'string' ? (req.body as { file: string }).file : '';
    const { store, audit, ledger } = ctx.runtime;
    const { opened, failed } = file ? await openEvidence(store, ledger, audit, pipeline, key, ctx.actorOf(req.consoleUser!), [file]) : { opened: [], failed: [] };
    const got = opened[0];
    if (!got) {
      const why = failed[0] ? `The evidence file ${failed[0].file} could not be opened (${failed[0].code}).` : 'This submission keeps no evidence file of that name (none was taken, or it was purged or erased).';
      return notFound(ctx, req, reply, 'Evidence not found', why);
    }
    ctx.log.info({ pipeline, user: req.consoleUser!.name, files: [got.sealed] }, 'console: evidence opened');
    const name = got.file.replace(/[^A-Za-z0-9_.-]+/g, '_');
    return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${name}"`).header('x-content-type-options', 'nosniff').send(got.bytes);
  });

  app.get('/mappings/:version', { preHandler: ctx.guard('read') }, async (req, reply) => {
    const ref = (req.params as { version: string }).version;
    let version: string;
    try {
      version = await resolveMappingVersion(ctx.runtime.store, ref);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== PipelineCodes.MAPPING_VERSION_UNKNOWN.code && code !== PipelineCodes.MAPPING_VERSION_AMBIGUOUS.code) throw e;
      return notFound(ctx, req, reply, 'Mapping version not found', (e as Error).message);
    }
    const text = (await readMappingText(ctx.runtime.store, version))!;
    const use = (await listMappingVersionUse(ctx.runtime.store)).find((v) => v.version === version);
    return ctx.render(req, reply, 'mapping.njk', {
      title: 'Mapping version',
      version,
      pipelines: use?.pipelines ?? [],
      firstSeen: use?.firstSeen?.toISOString(),
      lastUsed: use?.lastUsed?.toISOString(),
      fields: lineageRows(lineageFromCanonical(text, version)),
      yaml: storedMappingYaml(text, { version }),
    });
  });
};
