/**
 * The submissions a run rejected or dead-lettered, as `rekey run` prints
 * them below its counts: the first 20 in text (and how many more,
 * counted by the database), every one in `--json`, read a page at a time
 * from the run's audit entries (`runProblems`), so a run of a million
 * rejections is printed without holding them.
 */
import type { Writable } from 'node:stream';
import type { PassResult } from '../../pipelines/flow/flow.types.js';
import type { RunProblem } from '../../pipelines/ledger/run-problems.js';
import { formatTable } from './status.command.js';

/** How many rejected or dead-lettered submissions the text summary lists. */
export const LISTED_PROBLEMS = 20;

/** Whether a pass rejected or dead-lettered anything (so there is a list to read). */
export function hasProblems(r: PassResult): boolean {
  return r.rejected + r.dead + (r.rejectedByLegacy ?? 0) > 0;
}

/** One line's cells: reference, outcome, field, reason (code and already-masked message). */
function cells(p: RunProblem): string[] {
  return [p.reference, p.outcome, p.field ?? '', `${p.code}: ${p.message}`];
}

/**
 * The list a person reads: the first `LISTED_PROBLEMS` of `problems` as a
 * table, then, when there are more (`total` says how many in all, asked
 * only then), how many and the command that lists them; empty when there
 * are none. Stops reading `problems` once it has enough.
 */
export async function renderProblems(pipeline: string, problems: AsyncIterable<RunProblem[]>, total: () => Promise<number>): Promise<string> {
  const first: RunProblem[] = [];
  for await (const page of problems) {
    first.push(...page.slice(0, LISTED_PROBLEMS + 1 - first.length));
    if (first.length > LISTED_PROBLEMS) break;
  }
  if (!first.length) return '';
  const count = first.length > LISTED_PROBLEMS ? await total() : first.length;
  const lines = formatTable(['REFERENCE', 'OUTCOME', 'FIELD', 'REASON'], first.slice(0, LISTED_PROBLEMS).map(cells)).split('\n').filter(Boolean);
  let out = `\nrejected or dead-lettered: ${count}\n${lines.map((l) => `  ${l}\n`).join('')}`;
  if (count > LISTED_PROBLEMS) out += `  ... and ${count - LISTED_PROBLEMS} more: rekey dlq list ${pipeline} --rejected\n`;
  return out;
}

function writeTo(out: Writable, text: string): Promise<void> {
  return out.write(text) ? Promise.resolve() : new Promise((done) => out.once('drain', done));
}

/**
 * Writes the summary as JSON to `out`: the pipeline, the counts and
 * `problems`, every rejected or dead-lettered submission of the run (key,
 * reference, outcome, field, code, message, at), one per line, streamed
 * page by page.
 */
export async function writeJsonSummary(out: Writable, pipeline: string, summary: PassResult, problems: AsyncIterable<RunProblem[]>): Promise<void> {
  const head = JSON.stringify({ pipeline, ...summary }, null, 2);
  await writeTo(out, `${head.slice(0, -2)},\n  "problems": [`);
  let sep = '\n    ';
  for await (const page of problems) {
    for (const p of page) {
      await writeTo(out, `${sep}${JSON.stringify(p)}`);
      sep = ',\n    ';
    }
  }
  await writeTo(out, sep === '\n    ' ? ']\n}\n' : '\n  ]\n}\n');
}
