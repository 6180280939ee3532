/**
 * `rekey steps review PIPELINE`: what the browser target's drift guard
 * found when a legacy screen changed (what changed, the proposed steps),
 * for an operator to approve: `--approve` takes the proposal as it is;
 * `--out FILE` writes the proposed steps (YAML) to edit, and
 * `--approve --steps FILE` approves the edited list instead. Approval is
 * audited (`steps-approved`), creates a new step version the target keys
 * with from its next pass, and resumes the pipeline the guard paused.
 * Exit 1 when nothing waits for review or the edited steps are not valid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import type { Step } from '../../connectors/browser/browser.config.js';
import { UsageError } from '../runtime.js';
import { approveSteps, readStepsReview, stepListProblems, type StepsReview } from '../steps-review.js';
import { operatorActor, printJson, withStateOptions, withStore, type StateOptions } from './status.command.js';

/** The review as text, for a terminal. */
export function reviewText(r: StepsReview): string {
  const lines: string[] = [];
  const c = r.control;
  lines.push(c?.paused ? `${r.pipeline} is paused since ${c.since.toISOString()} by ${c.by}: ${c.reason ?? ''}` : `${r.pipeline} is not paused`);
  lines.push(r.active ? `steps keyed: version ${r.active.id}, approved by ${r.active.approvedBy} at ${r.active.approvedAt}` : 'steps keyed: the pipeline file\'s');
  const rep = r.report;
  if (!rep) {
    lines.push('no screen change waits for review');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`report ${rep.id}, ${rep.at}: page ${rep.page + 1} of the form changed (steps version ${rep.stepsVersion})`);
  for (const ch of rep.changes) lines.push(`  - ${ch.says}`);
  lines.push('proposed:');
  for (const w of rep.proposal.rewritten) lines.push(`  - step ${w.step}: now found by ${JSON.stringify(w.locator)}`);
  for (const u of rep.proposal.unresolved) lines.push(`  - left to you: ${u}`);
  if (!rep.proposal.rewritten.length && !rep.proposal.unresolved.length) lines.push('  - the same steps (the change does not move any step): approve to key the changed screen as it is');
  lines.push(`approve: rekey steps review ${r.pipeline} --approve`);
  lines.push(`edit:    rekey steps review ${r.pipeline} --out steps.yaml, then rekey steps review ${r.pipeline} --approve --steps steps.yaml`);
  return `${lines.join('\n')}\n`;
}

function readSteps(file: string): Step[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  const steps = (doc && typeof doc === 'object' && !Array.isArray(doc) && 'steps' in doc ? (doc as { steps: unknown }).steps : doc) as unknown;
  const problems = stepListProblems(steps);
  if (problems.length) throw new UsageError(`${file}: ${problems.join('; ')}`);
  return steps as Step[];
}

/** Registers `steps review`. */
export function stepsCommand(program: Command): void {
  const steps = program.command('steps').description('the browser target\'s steps: review what a changed legacy screen needs');
  withStateOptions(steps.command('review').description('show what changed on a legacy screen and the proposed steps; approve them (as they are or edited)').argument('<pipeline>'))
    .option('--approve', 'approve the proposal (or, with --steps, the edited steps): a new step version, audited; the pipeline resumes')
    .option('--steps <file>', 'with --approve: a YAML list of steps (or a mapping with steps:) to approve instead of the proposal')
    .option('--out <file>', 'write the proposed steps as YAML, to edit')
    .option('--report <id>', 'with --approve: only if this is the report waiting (the one you reviewed)')
    .option('--operator <name>', 'who is acting (default: $USER)')
    .action(async (pipeline: string, opts: StateOptions & { approve?: boolean; steps?: string; out?: string; report?: string; operator?: string }) => {
      if (opts.steps && !opts.approve) throw new UsageError('--steps needs --approve');
      const edited = opts.steps ? readSteps(opts.steps) : undefined;
      await withStore(opts.state, async (store) => {
        if (!opts.approve) {
          const r = await readStepsReview(store, pipeline);
          if (opts.out) {
            if (!r.report) throw new UsageError(`pipeline ${pipeline} has no proposal to write`);
            writeFileSync(opts.out, stringify({ steps: r.report.proposal.steps }));
          }
          if (opts.json) return printJson(r);
          process.stdout.write(reviewText(r));
          if (opts.out) process.stdout.write(`proposed steps written to ${opts.out}\n`);
          return;
        }
        const actor = operatorActor(opts.operator);
        const a = await approveSteps(store, new AuditLog(store), pipeline, actor, { ...(edited && { edited }), ...(opts.report && { reportId: opts.report }) });
        if (opts.json) return printJson(a);
        process.stdout.write(`approved step version ${a.version.id}${a.version.edited ? ' (edited)' : ''} for ${pipeline} as ${actor}\n${a.resumed ? `resumed ${pipeline}: its records are keyed on its next pass\n` : ''}`);
      });
    });
}
