/**
 * The console's dead letters and rejections: `/dead-letters` lists the
 * dead, failed (waiting to retry) and rejected submissions of the served
 * pipelines, newest change first, a keyset page at a time, each with its
 * reason in plain words (never a value); `/dead-letters/:pipeline/:key`
 * shows one, and offers an operator retry, discard (with a reason) and
 * correct and resubmit, each a CSRF-protected form, each audited with the
 * console user as actor through the same ledger calls as `rekey dlq`.
 * Needs `read`; the actions need `act`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { piiHash } from '../../../pipelines/audit/pii.js';
import type { LedgerState } from '../../../pipelines/ledger/ledger.types.js';
import { formReference } from '../../../pipelines/ledger/run-problems.js';
import { searchSubmissions } from '../../../pipelines/ledger/search.js';
import type { ConsolePages } from '../console.js';
import { may, type ConsolePipeline } from '../context.js';
import { correctionForm, formCorrections, type CorrectionForm } from './dead-letters.correct.js';
import { problemWords } from './problem-words.js';

/** The states the list shows, and their names on the page. */
export const PROBLEM_STATES: readonly { state: LedgerState; text: string }[] = [
  { state: 'dead', text: 'Dead (gave up after retries)' },
  { state: 'failed', text: 'Failed (waiting to retry)' },
  { state: 'rejected', text: 'Rejected (refused, never retried)' },
];

/** Rows per page of the list. */
export const DEAD_LETTERS_PAGE = 50;

/** Codes of ledger refusals shown to the user as they are (the action was not allowed now), not as a failure of the console. */
const REFUSALS = new Set(['LEDGER_ACTION_REFUSED', 'LEDGER_BAD_REQUEST', 'LEDGER_UNKNOWN_KEY', 'SUBMISSION_ERASED', 'BODY_PURGED', 'CORRECTION_INVALID', 'CORRECTION_UNKNOWN_FIELD', 'SEARCH_CURSOR_INVALID', 'SEARCH_FILTER_INVALID']);

type Params = { pipeline: string; key: string };
type ErrorItem = { text: string; href: string };

function refusal(e: unknown): { code: string; message: string } | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && REFUSALS.has(code) ? { code, message: (e as Error).message } : undefined;
}

function list(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((s): s is string => typeof s === 'string');
}

/** The path of one submission's page. */
export function deadLetterPath(pipeline: string, key: string): string {
  return `/dead-letters/${encodeURIComponent(pipeline)}/${encodeURIComponent(key)}`;
}

const DONE: Record<string, string> = {
  retried: 'Sent back to received: the next pass delivers it.',
  discarded: 'Discarded: it will not be delivered. The reason is on the audit log.',
  corrected: 'Corrected and sent back to received: the next pass delivers it, corrected, under the same key.',
};

/** Registers the dead-letter pages. */
export const deadLetterPages: ConsolePages = (app, ctx) => {
  const served = (name: string): ConsolePipeline | undefined => ctx.pipelines.find((p) => p.name === name);

  app.get('/dead-letters', { preHandler: ctx.guard('read') }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const pipeline = typeof q.pipeline === 'string' && q.pipeline ? q.pipeline : undefined;
    const chosen = list(q.state).filter((s) => PROBLEM_STATES.some((p) => p.state === s)) as LedgerState[];
    const states = chosen.length ? chosen : PROBLEM_STATES.map((p) => p.state);
    const after = typeof q.after === 'string' && q.after ? q.after : undefined;
    const filters = { pipelines: ctx.pipelines.map((p) => p.name), pipeline, states, chosen: chosen.length ? chosen : states };
    try {
      const page = await searchSubmissions(ctx.runtime.store, { pipeline, states, limit: DEAD_LETTERS_PAGE, after });
      const rows = page.rows.map((r) => ({ ...r, href: deadLetterPath(r.pipeline, r.key), words: problemWords(r.error && { code: r.error.code, message: r.error.reason, field: r.error.field }, r.state) }));
      const pairs: [string, string][] = [...(pipeline ? [['pipeline', pipeline] as [string, string]] : []), ...chosen.map((s): [string, string] => ['state', s])];
      const base = new URLSearchParams(pairs);
      const nextHref = page.next ? `/dead-letters?${new URLSearchParams([...pairs, ['after', page.next]]).toString()}` : undefined;
      const firstHref = after ? `/dead-letters${base.size ? `?${base.toString()}` : ''}` : undefined;
      return ctx.render(req, reply, 'dead-letters.njk', { title: 'Dead letters and rejections', rows, nextHref, firstHref, filters, stateOptions: PROBLEM_STATES });
    } catch (e) {
      const r = refusal(e);
      if (!r) throw e;
      return ctx.render(req, reply, 'dead-letters.njk', { title: 'Dead letters and rejections', rows: [], filters, stateOptions: PROBLEM_STATES, errors: [{ text: r.message, href: '#pipeline' }] }, 400);
    }
  });

  /** Renders one submission's page, with `extra` (errors, typed answers) and `status`. */
  async function show(req: FastifyRequest, reply: FastifyReply, extra: { errors?: ErrorItem[]; fieldErrors?: Record<string, string>; typed?: Record<string, unknown>; status?: number } = {}) {
    const { pipeline, key } = req.params as Params;
    const row = await ctx.runtime.ledger.get(pipeline, key, { body: false });
    if (!row) return ctx.render(req, reply, 'message.njk', { title: 'Submission not found', text: `${pipeline} has no submission with that key.` }, 404);
    const words = problemWords(row.lastError, row.state);
    const p = served(pipeline);
    const user = req.consoleUser!;
    let correction: CorrectionForm | undefined;
    if (may(user, 'act')) {
      correction = p ? await correctionForm(ctx.runtime.ledger, p, key, row.state, words?.field ?? null, user.evidence) : { ok: false, why: `this rekey serve does not run ${pipeline}` };
    }
    const done = (req.query as { done?: string }).done;
    return ctx.render(
      req,
      reply,
      'dead-letter.njk',
      {
        title: `Submission ${formReference(key)}`,
        row,
        words,
        path: deadLetterPath(pipeline, key),
        submissionHref: `/submissions/${encodeURIComponent(pipeline)}/${encodeURIComponent(key)}`,
        canRetry: row.state === 'dead' || row.state === 'failed',
        canDiscard: row.state === 'dead',
        correction,
        // Sent back to received: with serve's steering, an operator may start the pass that delivers it now (the Pipelines page's run-now form).
        runNow: ctx.steering && p && row.state === 'received' ? `/pipelines/${encodeURIComponent(pipeline)}/run` : undefined,
        banner: done && DONE[done],
        errors: extra.errors,
        fieldErrors: extra.fieldErrors ?? {},
        typed: extra.typed ?? {},
      },
      extra.status ?? 200,
    );
  }

  app.get('/dead-letters/:pipeline/:key', { preHandler: ctx.guard('read') }, async (req, reply) => show(req, reply));

  const act = { preHandler: [ctx.guard('act'), ctx.csrf] };
  const back = (reply: FastifyReply, { pipeline, key }: Params, done: string) => reply.redirect(`${deadLetterPath(pipeline, key)}?done=${done}`, 303);
  const refused = (req: FastifyRequest, reply: FastifyReply, e: unknown, href: string, typed?: Record<string, unknown>) => {
    const r = refusal(e);
    if (!r) throw e;
    const status = r.code === 'LEDGER_ACTION_REFUSED' || r.code === 'SUBMISSION_ERASED' || r.code === 'BODY_PURGED' ? 409 : 400;
    return show(req, reply, { errors: [{ text: r.message, href }], typed, status });
  };

  app.post('/dead-letters/:pipeline/:key/retry', act, async (req, reply) => {
    const params = req.params as Params;
    try {
      await ctx.runtime.ledger.retry(params.pipeline, params.key, ctx.actorOf(req.consoleUser!));
    } catch (e) {
      return refused(req, reply, e, '#retry');
    }
    return back(reply, params, 'retried');
  });

  app.post('/dead-letters/:pipeline/:key/discard', act, async (req, reply) => {
    const params = req.params as Params;
    const reason = String((req.body as Record<string, unknown> | undefined)?.reason ?? '').trim();
    if (!reason) {
      const text = 'Enter why this submission is given up';
      return show(req, reply, { errors: [{ text, href: '#discard-reason' }], fieldErrors: { 'discard-reason': text }, status: 400 });
    }
    try {
      await ctx.runtime.ledger.discard(params.pipeline, params.key, reason, ctx.actorOf(req.consoleUser!));
    } catch (e) {
      return refused(req, reply, e, '#discard-reason', { 'discard-reason': reason });
    }
    return back(reply, params, 'discarded');
  });

  app.post('/dead-letters/:pipeline/:key/correct', act, async (req, reply) => {
    const params = req.params as Params;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const reason = String(body.reason ?? '').trim();
    const p = served(params.pipeline);
    const row = await ctx.runtime.ledger.get(params.pipeline, params.key, { body: false });
    if (!row) return show(req, reply);
    if (!p) return show(req, reply, { errors: [{ text: `This rekey serve does not run ${params.pipeline}: correct it where its runner is served`, href: '#correct' }], status: 409 });
    const form = await correctionForm(ctx.runtime.ledger, p, params.key, row.state, problemWords(row.lastError, row.state)?.field ?? null, false);
    if (!form.ok) return show(req, reply, { errors: [{ text: `This submission cannot be corrected: ${form.why}`, href: '#correct' }], status: 409 });
    const corrections = formCorrections(form, body);
    const errors: ErrorItem[] = [];
    const fieldErrors: Record<string, string> = {};
    if (!Object.keys(corrections).length) errors.push({ text: 'Enter a corrected value for at least one field', href: `#${form.fields.find((f) => f.refused && f.status !== 'keyed-only')?.input ?? form.fields.find((f) => f.status !== 'keyed-only')?.input ?? 'correct'}` });
    if (!reason) {
      errors.push({ text: 'Enter why the values are corrected', href: '#correct-reason' });
      fieldErrors['correct-reason'] = 'Enter why the values are corrected';
    }
    if (errors.length) return show(req, reply, { errors, fieldErrors, typed: body, status: 400 });
    try {
      await ctx.runtime.ledger.correct(params.pipeline, params.key, corrections, reason, ctx.actorOf(req.consoleUser!), { mapping: form.mapping, piiHash: (v) => piiHash(v, ctx.piiKey) });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const named = /^cannot correct (\S+): /.exec((e as Error).message)?.[1];
      const f = form.fields.find((x) => x.name === named);
      if ((code === 'CORRECTION_INVALID' || code === 'CORRECTION_UNKNOWN_FIELD') && f) {
        return show(req, reply, { errors: [{ text: (e as Error).message, href: `#${f.input}` }], fieldErrors: { [f.input]: (e as Error).message }, typed: body, status: 400 });
      }
      return refused(req, reply, e, '#correct', body);
    }
    return back(reply, params, 'corrected');
  });
};
