/**
 * The console's review of a changed legacy screen (see
 * connectors/browser/browser.drift.ts and `rekey steps review`):
 * - `/pipelines/:name/steps`: what changed, the proposed steps (YAML), the
 *   step version keyed now (needs `read`: screen words, never a value);
 * - `POST /pipelines/:name/steps/approve`: approves the report shown (its
 *   id comes with the form), as proposed or as edited in the form's text
 *   box (needs `act`); audited `steps-approved` with the console user as
 *   actor, and the pipeline resumes when the guard paused it.
 */
import { parse, stringify } from 'yaml';
import type { Step } from '../../../connectors/browser/browser.config.js';
import type { ConsolePages } from '../console.js';
import { approveSteps, readStepsReview, stepListProblems } from '../../steps-review.js';

/** Registers the steps review pages. */
export const stepsPages: ConsolePages = (app, ctx) => {
  const names = new Set(ctx.pipelines.map((p) => p.name));
  const missing = { title: 'No such pipeline', text: 'This rekey serve runs no pipeline of that name.' };

  app.get('/pipelines/:name/steps', { preHandler: ctx.guard('read') }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    if (!names.has(name)) return ctx.render(req, reply, 'message.njk', missing, 404);
    const review = await readStepsReview(ctx.runtime.store, name);
    const done = (req.query as { done?: string }).done === 'approved';
    return ctx.render(req, reply, 'steps.njk', { title: `Steps of ${name}`, name, review, proposal: review.report ? stringify(review.report.proposal.steps) : '', done });
  });

  app.post('/pipelines/:name/steps/approve', { preHandler: [ctx.guard('act'), ctx.csrf] }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    if (!names.has(name)) return ctx.render(req, reply, 'message.njk', missing, 404);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const reportId = typeof body.report === 'string' ? body.report : '';
    const text = typeof body.steps === 'string' ? body.steps.trim() : '';
    const review = await readStepsReview(ctx.runtime.store, name);
    const refuse = (message: string) => ctx.render(req, reply, 'steps.njk', { title: `Steps of ${name}`, name, review, proposal: text, errors: [{ text: message, href: '#steps' }] }, 400);
    let edited: Step[] | undefined;
    if (text && review.report && text !== stringify(review.report.proposal.steps).trim()) {
      let doc: unknown;
      try {
        doc = parse(text);
      } catch {
        return refuse('The steps are not valid YAML');
      }
      const problems = stepListProblems(doc);
      if (problems.length) return refuse(`The steps are not valid: ${problems.join('; ')}`);
      edited = doc as Step[];
    }
    try {
      const a = await approveSteps(ctx.runtime.store, ctx.runtime.audit, name, ctx.actorOf(req.consoleUser!), { reportId, ...(edited && { edited }) });
      ctx.log.info({ pipeline: name, version: a.version.id, resumed: a.resumed }, 'console: steps approved');
    } catch (e) {
      if ((e as { code?: string }).code === 'LEDGER_BAD_REQUEST') return refuse((e as Error).message);
      throw e;
    }
    return reply.redirect(`/pipelines/${encodeURIComponent(name)}/steps?done=approved`, 303);
  });
};
