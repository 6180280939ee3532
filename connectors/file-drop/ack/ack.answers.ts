/**
 * The reconciliation of one acknowledgement file as the flow takes it: an
 * answer set (see `AnswerSet` in connector.types.ts) whose results name the
 * delivery they answer (`file#record`, the `legacyRef` the target gave).
 */
import type { AnswerSet } from '../../connector.types.js';
import type { Reconciliation } from './ack.reconcile.js';

/** The answer set of one reconciled data file: its id is the data file's name. */
export function answerSet(r: Reconciliation): AnswerSet {
  const problems = r.problems.map((p) => `${r.ack} line ${p.line}: ${p.message}`);
  if (r.unanswered.length) problems.push(`${r.ack}: ${r.unanswered.length} record(s) of ${r.file} not answered`);
  return {
    id: r.file,
    source: r.ack,
    results: r.results.map((a) =>
      a.status === 'accepted' ? { key: a.key, legacyRef: `${r.file}#${a.record}`, accepted: true as const } : { key: a.key, legacyRef: `${r.file}#${a.record}`, accepted: false as const, reason: a.reason },
    ),
    problems,
  };
}
