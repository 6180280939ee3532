/**
 * The mapping layer's error catalogue (STYLE §3), built with lib/errors.
 * Mapping code never produces `retry`: a record is `reject`ed (report
 * why, never retry) or the mapping is `fatal` (it cannot be used: stop).
 */
import { CodedError, defineErrors } from '../lib/errors.js';
import { formatProblem, type Problem } from '../lib/problem.js';

export type { Disposition, ErrorData } from '../lib/errors.js';
export { formatProblem, type Problem };

/** Every error of this layer, defined once. */
export const MappingErrors = defineErrors({
  INVALID_MAPPING: {
    code: 'MAPPING_INVALID',
    disposition: 'fatal',
    means: 'The mapping file is not valid YAML or breaks the mapping schema, so the pipeline cannot map anything.',
    hint: 'Fix each problem listed at its file:line:col (rekey validate lists them all) and run again.',
  },
  RECORD_REJECTED: {
    code: 'MAPPING_RECORD_REJECTED',
    disposition: 'reject',
    means: 'A submission broke one or more field rules of the mapping; the message names each field, rule and reason.',
    hint: 'Correct the submission (or the mapping rule if the rule is wrong), then replay it with rekey replay.',
  },
  TEXT_INVALID: {
    code: 'MAPPING_TEXT_INVALID',
    disposition: 'fatal',
    means: 'A stored mapping version is not the canonical JSON rekey writes ({document, related, functions}), so its rules cannot be shown.',
    hint: 'The state store row was edited or damaged: compare it with the audit log (rekey audit verify) and restore the state store from a backup.',
  },
});

/** Thrown when a mapping cannot be loaded; carries every problem found, not only the first. */
export class MappingInvalidError extends CodedError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(MappingErrors.INVALID_MAPPING, problems.map(formatProblem).join('\n'));
    this.name = 'MappingInvalidError';
    this.problems = problems;
  }
}
