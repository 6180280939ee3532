/**
 * `rekey show PIPELINE REFERENCE [--json] [--lineage] [--sent]`: one
 * submission's whole story for an auditor, found by any reference a person
 * holds (full key, form reference, legacy reference, or the start of one):
 * what the ledger says now, then every audit step in time order (see
 * pipelines/audit/story.ts). `--lineage` adds which source paths and
 * transforms produced each field, from the mapping version it was keyed
 * with. `--sent` decrypts the record exactly as it was sent, which holds
 * citizens' data: that access is audited (`evidence-opened`, kind `sent`).
 * Exit 1 for an unknown or ambiguous reference (`SUBMISSION_NOT_FOUND`,
 * `SUBMISSION_AMBIGUOUS`), or when `--sent` cannot print the record.
 */
import type { Command } from 'commander';
import { formatLineage } from '../../mappings/lineage.js';
import { openSentRecord, storyLineage, type SentOpened } from '../../pipelines/audit/story-open.js';
import { formReference, loadStory, resolveReference, type SubmissionStory } from '../../pipelines/audit/story.js';
import { caseOf, resolveCase, routesOf, type Case } from '../../pipelines/ledger/cases.js';
import type { CommandResult } from '../cli.js';
import { formatCase, formatStory, wrap } from './show.text.js';
import { formatTable, operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

interface ShowOptions extends StateOptions {
  lineage?: boolean;
  sent?: boolean;
  operator?: string;
}

function sentLines(opened: SentOpened, actor: string): string {
  if (!opened.sent) return `
record as sent
  ${opened.why}
`;
  const rows = (r: Record<string, unknown>) => Object.entries(r).map(([k, v]) => [`  ${k}`, JSON.stringify(v)]);
  let out = `
record as sent (citizens' data in clear; opened as ${actor}, audit entry #${opened.seq})
${formatTable(['  FIELD', 'VALUE'], rows(opened.sent.record))}`;
  for (const [group, children] of Object.entries(opened.sent.children)) {
    children.forEach((child, i) => (out += `
${group}[${i}]
${formatTable(['  FIELD', 'VALUE'], rows(child))}`));
  }
  return out;
}

/** Registers `show`. */
export function showCommand(program: Command, result: CommandResult): void {
  withStateOptions(
    program
      .command('show')
      .description("one submission's whole story, found by its key, form reference, legacy reference or the start of one")
      .argument('<pipeline>')
      .argument('<reference>'),
  )
    .option('--lineage', 'also show which source fields and transforms produced each delivered field')
    .option('--sent', "also print the record exactly as sent (decrypts citizens' data; the access is audited)")
    .option('--operator <name>', 'who is looking, for the audit entry --sent makes (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: ShowOptions) => {
      const actor = operatorActor(opts.operator);
      const found = await withLedger(opts.state, async (ledger, audit, store) => {
        if (!(await routesOf(store, pipeline)).length) return undefined;
        const key = await resolveCase(store, pipeline, reference);
        const c = (await caseOf(store, pipeline, key))!;
        return { case: c, story: c.intake ? await loadStory(store, audit, pipeline, key) : null };
      });
      if (found) return showCase(found.case, found.story, opts);
      const { story, lineage, opened } = await withLedger(opts.state, async (ledger, audit, store) => {
        const key = await resolveReference(store, pipeline, reference);
        const story = (await loadStory(store, audit, pipeline, key))!;
        const lineage = opts.lineage ? await storyLineage(store, story) : undefined;
        const opened = opts.sent ? await openSentRecord(ledger, audit, story, actor) : undefined;
        return { story, lineage, opened };
      });
      if (opened && !opened.sent) result.code = 1;
      if (opts.json) return printJson({ ...story, ...(lineage && { lineage }), ...(opened && { sentRecord: opened.sent, ...(opened.sent ? { openedAs: actor, openedSeq: opened.seq } : { why: opened.why }) }) });
      const ref = shellArg(story.reference);
      const short = story.mappingVersion?.slice(0, 'sha256:'.length + 12);
      const hints = {
        mapping: story.mappingVersion ? [`its text: rekey audit mapping ${short}`, ...(opts.lineage ? [] : [`field lineage: rekey show ${shellArg(pipeline)} ${ref} --lineage`])] : [],
        sent: story.sentKept && !opts.sent ? [`the record itself: rekey show ${shellArg(pipeline)} ${ref} --sent (audited)`] : [],
      };
      process.stdout.write(formatStory(story, hints));
      if (lineage) {
        process.stdout.write(`\nfield lineage (mapping ${lineage.version ?? 'unknown'})\n`);
        process.stdout.write('fields' in lineage ? indent(formatLineage(lineage.fields)) : `${wrap(lineage.unavailable, '  ', '  ').join('\n')}\n`);
      }
      if (opened) process.stdout.write(sentLines(opened, actor));
    });
}

/**
 * `rekey show` of a pipeline with routes: the case (each route's state,
 * attempts, legacy reference and last error), then the story of the
 * pipeline's own row when it holds one (a submission no route applied
 * to). `--lineage` and `--sent` belong to a route: `rekey show P~ROUTE`.
 */
function showCase(c: Case, story: SubmissionStory | null, opts: ShowOptions): void {
  if (opts.json) return printJson({ ...(story ?? { pipeline: c.pipeline, key: c.key }), case: c });
  process.stdout.write(formatCase(c, shellArg(formReference(c.key))));
  if (opts.lineage || opts.sent) process.stdout.write(`  ${opts.sent ? '--sent' : '--lineage'} is for one route: rekey show ${c.pipeline}~ROUTE ${shellArg(formReference(c.key))} ${opts.sent ? '--sent' : '--lineage'}\n`);
  if (story) process.stdout.write(`\n${formatStory(story)}`);
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

/** `text` as one shell word: as it is when plain, else single-quoted. */
function shellArg(text: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
