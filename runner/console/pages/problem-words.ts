/**
 * A submission's last error in plain words for the console's dead-letter
 * pages: who refused it (the mapping, the legacy system, or a delivery
 * that kept failing), which field, which rule or code, and what was said.
 * Built from the error as stored, which never holds a value of the
 * submission (PII is masked where the error is made).
 */
import type { ErrorData } from '../../../lib/errors.js';
import { MappingErrors } from '../../../mappings/mapping.errors.js';
import { errorFields } from '../../../pipelines/ledger/run-problems.js';
import type { LedgerState } from '../../../pipelines/ledger/ledger.types.js';

/** A reason as a page shows it. */
export interface ProblemWords {
  /** One sentence: who refused or what failed, and which field. */
  summary: string;
  /** The field(s) the error names, comma-separated, or null. */
  field: string | null;
  /** The error's code (the rule a mapping names is in `said`). */
  code: string;
  /** What the mapping or the legacy system said. */
  said: string;
}

/** An error as the ledger keeps it, or as a submission list carries it (`field` already worked out, no disposition). */
export type StoredProblem = Pick<ErrorData, 'code' | 'message'> & { disposition?: string; field?: string | null };

/** Who is answerable for an error of a submission now in `state`. */
function refusedBy(error: StoredProblem, state: LedgerState): string {
  if (error.code === MappingErrors.RECORD_REJECTED.code || error.code.startsWith('MAPPING_')) return 'The mapping refused';
  if (state === 'rejected' || error.disposition === 'reject') return 'The legacy system refused';
  if (state === 'dead') return 'Delivery to the legacy system kept failing for';
  return 'Delivery to the legacy system failed for';
}

/** The plain-language reason of `error` for a submission in `state`; null when there is none. */
export function problemWords(error: StoredProblem | null | undefined, state: LedgerState): ProblemWords | null {
  if (!error) return null;
  const field = error.field ?? errorFields({ code: error.code, message: error.message, disposition: 'reject' });
  const who = refusedBy(error, state);
  const what = field ? `${field.includes(',') ? 'fields' : 'field'} ${field}` : 'this submission';
  return { summary: `${who} ${what} (${error.code}).`, field, code: error.code, said: error.message };
}
