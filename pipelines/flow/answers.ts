/**
 * The legacy system's answers at the start of a pass: a target that reads
 * them (acknowledgement and reject files) hands them over, the ledger
 * applies them (accepted records confirmed, rejected ones dead with the
 * legacy reason), and only then does the target mark them applied. A crash
 * between the two applies them again on the next pass, which the ledger
 * makes harmless.
 */
import type { Ctx } from '../../connectors/connector.types.js';
import type { FlowLedger, FlowPipeline, PassOptions } from './flow.types.js';

/** What applying the answers did in one pass. */
export interface AnswerCounts {
  /** Records newly confirmed by the legacy system. */
  confirmed: number;
  /** Records newly dead-lettered because the legacy system rejected them. */
  rejectedByLegacy: number;
}

/**
 * Reads the target's unapplied answers and applies each set to the ledger
 * in one transaction, then marks it applied. Answers the ledger could
 * not apply (unknown key, a later delivery, another state) and the
 * target's problems with the answer files are logged as warnings, by key
 * and file, never with values. Resolves to zero counts for a target
 * without `answers`. Throws when the ledger or the target fails; the set
 * under way is not marked applied then.
 */
export async function applyAnswers(p: FlowPipeline, ledger: FlowLedger, runId: string, opts: PassOptions, ctx: Ctx): Promise<AnswerCounts> {
  const counts: AnswerCounts = { confirmed: 0, rejectedByLegacy: 0 };
  if (!p.target.answers) return counts;
  const sets = await p.target.answers(ctx);
  for (const set of sets) {
    const report = await ledger.reconcile(p.name, runId, set.results, opts.actor, { target: p.targetName, hashText: opts.piiHash });
    counts.confirmed += report.confirmed.length;
    counts.rejectedByLegacy += report.dead.length;
    const log = { pipeline: p.name, answers: set.source };
    if (set.problems.length) ctx.log.warn({ ...log, problems: set.problems }, 'lines of an answer file could not be used');
    if (report.skipped.length) ctx.log.warn({ ...log, skipped: report.skipped }, 'answers that do not fit their submission were left alone');
    ctx.log.info({ ...log, confirmed: report.confirmed.length, dead: report.dead.length, already: report.already.length }, 'applied the answers of the legacy system');
    await p.target.answered?.(ctx, [set.id]);
  }
  return counts;
}
