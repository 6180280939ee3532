/**
 * The mapping layer's error catalogue. Every error that leaves this layer has
 * a stable code and a disposition telling the runner what to do with it:
 * `reject` (this record is wrong: report why, never retry) or `fatal` (the
 * mapping cannot be used: stop). Mapping code never produces `retry`.
 */

/** What the runner must do with an error. */
export type Disposition = 'retry' | 'reject' | 'fatal';

/** Plain-data form of an error, safe to send across a worker-thread boundary. */
export interface ErrorData {
  code: string;
  disposition: Disposition;
  message: string;
  field?: string;
}

/** Stable codes of this layer. */
export const MappingCodes = {
  /** The mapping file is not valid YAML or breaks the mapping schema. */
  INVALID_MAPPING: 'MAPPING_INVALID',
  /** A record broke one or more field rules. */
  RECORD_REJECTED: 'MAPPING_RECORD_REJECTED',
  /** A golden case file is malformed. */
  INVALID_CASES: 'MAPPING_CASES_INVALID',
} as const;

import { formatProblem, type Problem } from '../lib/problem.js';

export { formatProblem, type Problem };

/** Thrown when a mapping cannot be loaded; carries every problem found, not only the first. */
export class MappingInvalidError extends Error {
  readonly code = MappingCodes.INVALID_MAPPING;
  readonly disposition: Disposition = 'fatal';
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'MappingInvalidError';
    this.problems = problems;
  }

  /** Plain data for logs and worker boundaries. */
  toData(): ErrorData {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}
