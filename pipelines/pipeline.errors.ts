/**
 * The flow layer's error catalogue (state store, ledger, audit log,
 * delivery), built with lib/errors: each code once, with its disposition
 * (STYLE §3), what it means and what to do. Other parts of `pipelines/`
 * add their codes here.
 */
import { CodedError, defineErrors } from '../lib/errors.js';

export type { Disposition } from '../lib/errors.js';

/** Every error of this layer, defined once; pass an entry to {@link PipelineError}. */
export const PipelineCodes = defineErrors({
  STORE_URL_INVALID: {
    code: 'STORE_URL_INVALID',
    disposition: 'fatal',
    means: '`--state` or REKEY_STATE_URL is not a state store URL rekey can open (or the SQLite found is too old).',
    hint: 'Give a sqlite: file path or a postgres:// URL, as the message says.',
  },
  STORE_UNAVAILABLE: {
    code: 'STORE_UNAVAILABLE',
    disposition: 'fatal',
    means: 'The state store cannot be created, opened or reached (a folder that cannot be written, a file SQLite cannot open, a refused connection).',
    hint: 'Check the place named in the message exists and is writable (or the database is up), or point --state elsewhere.',
  },
  STORE_MIGRATION_FAILED: {
    code: 'STORE_MIGRATION_FAILED',
    disposition: 'fatal',
    means: 'The state store schema could not be brought up to date.',
    hint: 'Read the database error in the message, fix its cause (permissions, disk space), and run again; the migration is retried whole.',
  },
  DB_TRANSACTION_UNSETTLED: {
    code: 'DB_TRANSACTION_UNSETTLED',
    disposition: 'retry',
    means:
      "A COMMIT or ROLLBACK on the state store or a SQL target failed, most often because the connection was lost; the connection was closed, and whether a failed COMMIT took effect is the database's to say. Logged as a warning naming the action, the dialect and the database's code, never its message; the operation that ran it fails with its own code.",
    hint: 'Check the database and the network between them. What failed is retried (a pass, a request); the ledger and the target key decide from what the database holds, so nothing is delivered twice.',
  },
  LEDGER_ILLEGAL_TRANSITION: {
    code: 'LEDGER_ILLEGAL_TRANSITION',
    disposition: 'fatal',
    means: 'A requested state move is not one the ledger allows; nothing was written.',
    hint: 'This is a bug in rekey: report it with the message and the submission key.',
  },
  LEDGER_ACTION_REFUSED: {
    code: 'LEDGER_ACTION_REFUSED',
    disposition: 'reject',
    means: "An operator asked for a move the submission's state does not allow (retrying a delivered or rejected submission, discarding one that is not dead, replaying one still on its way); nothing was written.",
    hint: '`rekey show PIPELINE REFERENCE` gives its state: `dlq retry` takes dead or failed submissions, `replay` delivered or rejected ones, `dlq discard` dead ones.',
  },
  LEDGER_UNKNOWN_KEY: {
    code: 'LEDGER_UNKNOWN_KEY',
    disposition: 'reject',
    means: 'A transition or operator action named a submission key the ledger does not hold.',
    hint: 'Check the key and pipeline (rekey dlq list shows the keys held).',
  },
  LEDGER_BAD_REQUEST: {
    code: 'LEDGER_BAD_REQUEST',
    disposition: 'reject',
    means: 'A call broke the ledger\'s input rules (a missing reason or key, PII not hashed).',
    hint: 'Give what the message says is missing and try again.',
  },
  LEDGER_UNKNOWN_RUN: {
    code: 'LEDGER_UNKNOWN_RUN',
    disposition: 'fatal',
    means: 'A run was finished that was never started.',
    hint: 'This is a bug in rekey: report it with the message.',
  },
  PIPELINE_PAUSED: {
    code: 'PIPELINE_PAUSED',
    disposition: 'reject',
    means: 'The pipeline is paused (`rekey pause` or the console): no pass runs, by schedule or by hand, until it is resumed. Submissions still arrive and wait in the ledger.',
    hint: '`rekey status` says who paused it and why; `rekey resume PIPELINE` lets it run again, or `rekey run --even-if-paused` runs one pass without resuming it.',
  },
  PIPELINE_UNKNOWN: {
    code: 'PIPELINE_UNKNOWN',
    disposition: 'reject',
    means: 'A command named a pipeline the state store holds nothing of: no submission, run or pause, under that name or its routes (`NAME~ROUTE`). Often a misspelt name, a pipeline file given for its name, or another --state.',
    hint: 'Give the name of the pipeline (its `pipeline:` key), as `rekey status` lists them; check --state or REKEY_STATE_URL point at the store it runs with.',
  },
  PIPELINE_ALREADY_PAUSED: {
    code: 'PIPELINE_ALREADY_PAUSED',
    disposition: 'reject',
    means: 'A pause was asked for a pipeline that is paused already; nothing was written.',
    hint: '`rekey status` says who paused it, when and why.',
  },
  PIPELINE_NOT_PAUSED: {
    code: 'PIPELINE_NOT_PAUSED',
    disposition: 'reject',
    means: 'A resume was asked for a pipeline that is not paused; nothing was written.',
    hint: 'Nothing to do: the pipeline runs. `rekey status` lists the paused pipelines.',
  },
  AUDIT_KEY_INVALID: {
    code: 'AUDIT_KEY_INVALID',
    disposition: 'fatal',
    means: 'A signing, verifying or PII key is missing or unreadable.',
    hint: 'Give the key the message names: the PII key (REKEY_AUDIT_PII_KEY or REKEY_AUDIT_PII_KEY_FILE), the signing key (REKEY_AUDIT_SIGNING_KEY or --key) or the verify key (REKEY_AUDIT_VERIFY_KEY or --public-key), readable by rekey.',
  },
  AUDIT_CHECKPOINT_INVALID: {
    code: 'AUDIT_CHECKPOINT_INVALID',
    disposition: 'fatal',
    means: 'A checkpoint file or entry cannot be parsed.',
    hint: 'Give the checkpoint file rekey audit checkpoint wrote, unedited.',
  },
  AUDIT_EXPORT_INVALID: {
    code: 'AUDIT_EXPORT_INVALID',
    disposition: 'fatal',
    means: 'The file given to `rekey audit verify --export` is not an audit export this version of rekey can verify (its first line is not a rekey-audit-export header).',
    hint: 'Give the file `rekey audit export --format jsonl` wrote; CSV and JSON exports are for reading, not for offline verification.',
  },
  AUDIT_PROOF_INVALID: {
    code: 'AUDIT_PROOF_INVALID',
    disposition: 'fatal',
    means: 'No audit entry names the submission given to `rekey audit prove`, or the file given to `rekey audit verify --proof` is not a proof this version of rekey reads.',
    hint: 'Check the pipeline and reference (`rekey show` finds the submission); give `rekey audit verify --proof` the file `rekey audit prove` wrote.',
  },
  AUDIT_CHECKPOINTS_UNAVAILABLE: {
    code: 'AUDIT_CHECKPOINTS_UNAVAILABLE',
    disposition: 'fatal',
    means: 'REKEY_AUDIT_CHECKPOINTS names neither a folder rekey can write to nor an http(s) URL.',
    hint: 'Set REKEY_AUDIT_CHECKPOINTS to an existing write-once folder or an http(s) URL that accepts PUT (see docs/audit-checkpoints.md).',
  },
  MAPPING_TEXT_ALTERED: {
    code: 'MAPPING_TEXT_ALTERED',
    disposition: 'fatal',
    means: 'The mapping text stored for a version no longer hashes to that version: the state store was edited.',
    hint: 'Treat the state store as tampered with: run rekey audit verify, and restore the mapping_texts table from a backup.',
  },
  AUDIT_CHECK_FIELD_UNKNOWN: {
    code: 'AUDIT_CHECK_FIELD_UNKNOWN',
    disposition: 'reject',
    means: 'The field given to `rekey audit check` was not among the fields the audit log recorded as sent for that submission; the message lists those.',
    hint: 'Give one of the fields the message lists (a group field as GROUP.FIELD).',
  },
  AUDIT_CHECK_NOT_SENT: {
    code: 'AUDIT_CHECK_NOT_SENT',
    disposition: 'reject',
    means: 'The submission given to `rekey audit check` was never delivered, so the audit log holds nothing sent to compare with.',
    hint: 'Check the reference and pipeline; `rekey show` prints what happened to the submission.',
  },
  AUDIT_EMPTY: {
    code: 'AUDIT_EMPTY',
    disposition: 'reject',
    means: 'There is nothing to checkpoint: the audit log is empty.',
    hint: 'Run a pipeline first; a checkpoint signs the head of a non-empty audit log.',
  },
  TARGET_HELD_WITHOUT_FLUSH: {
    code: 'TARGET_HELD_WITHOUT_FLUSH',
    disposition: 'fatal',
    means: 'A target answered `held` for records but no flush follows to settle them (a connector bug); the records stay in delivering and are checked again on the next pass.',
    hint: 'Report it against the connector named in the message; until it is fixed that target cannot be used.',
  },
  TARGET_UNAVAILABLE: {
    code: 'TARGET_UNAVAILABLE',
    disposition: 'retry',
    means: 'The target failed a whole batch with an error that carries no code of its own.',
    hint: 'Nothing to do if it passes: the records are retried with backoff; if they end dead-lettered, read the message and fix the target.',
  },
  TARGET_NO_OUTCOME: {
    code: 'TARGET_NO_OUTCOME',
    disposition: 'retry',
    means: 'The target answered for a batch but said nothing about this record.',
    hint: 'Nothing to do if it passes on retry; if it keeps happening, report it against the connector.',
  },
  LEGACY_REJECTED: {
    code: 'LEGACY_REJECTED',
    disposition: 'reject',
    means: "The legacy system rejected a delivered record in its own answer (an acknowledgement file); its reason, the legacy system's text, is kept sealed with the submission (rekey dlq show --reveal).",
    hint: 'Correct the submission (or the legacy system) as its reason says, then send it again with rekey dlq retry.',
  },
  NO_ROUTE_APPLIES: {
    code: 'NO_ROUTE_APPLIES',
    disposition: 'reject',
    means: "A pipeline with routes read a submission for which no route's `when` holds: no back office is told of it. The rejection names the routes; the pipeline's ledger (not a route's) keeps it.",
    hint: 'Check the routes\' conditions against the submission (rekey preview with each route\'s mapping); if one should apply, fix its condition and send the submission through again with rekey replay PIPELINE REFERENCE: the next pass routes it under the conditions as they are then.',
  },
  UNEXPECTED_ERROR: {
    code: 'UNEXPECTED_ERROR',
    disposition: 'fatal',
    means: 'A pass stopped on an error that has no code (a bug in rekey or a connector).',
    hint: 'Run again with --debug to see its stack, and report it.',
  },
  SEALED_FILE_UNKNOWN: {
    code: 'SEALED_FILE_UNKNOWN',
    disposition: 'reject',
    means: 'A file rekey keeps encrypted (evidence, an inbox copy) has no data key in the state store: it was purged or erased, or rekey never sealed it.',
    hint: 'Check the path and pipeline; a purged or erased file cannot be read again, by design.',
  },
  SUBMISSION_NOT_FOUND: {
    code: 'SUBMISSION_NOT_FOUND',
    disposition: 'reject',
    means: 'No submission of the pipeline matches the reference given: not its full key, the form platform\'s reference, the legacy system\'s reference, nor the start of one.',
    hint: 'Check the pipeline name and the reference (`rekey dlq list PIPELINE --all` lists what the ledger holds).',
  },
  SUBMISSION_AMBIGUOUS: {
    code: 'SUBMISSION_AMBIGUOUS',
    disposition: 'reject',
    means: 'The reference given matches more than one submission of the pipeline; the message lists them.',
    hint: 'Give more of the reference, or one of the full keys the message lists.',
  },
  SEARCH_CURSOR_INVALID: {
    code: 'SEARCH_CURSOR_INVALID',
    disposition: 'reject',
    means: 'A submission list was asked for the page after a cursor that is not one the list handed out (changed, cut short, or from another list order).',
    hint: 'Start again from the first page, and follow the `next` cursor each page gives, unchanged.',
  },
  SEARCH_FILTER_INVALID: {
    code: 'SEARCH_FILTER_INVALID',
    disposition: 'reject',
    means: 'A submission list was asked for with a filter it cannot apply: a page size out of range, an unknown state, or a date that is not a date.',
    hint: 'Read the field the message names and give a value in the range it states.',
  },
  MAPPING_VERSION_UNKNOWN: {
    code: 'MAPPING_VERSION_UNKNOWN',
    disposition: 'reject',
    means: 'The mapping version given is not `sha256:` and hex digits, or no stored mapping version starts with it.',
    hint: 'Give a version as the audit log or `rekey audit mapping --list` shows it, in full or its first hex digits.',
  },
  MAPPING_VERSION_AMBIGUOUS: {
    code: 'MAPPING_VERSION_AMBIGUOUS',
    disposition: 'reject',
    means: 'The version prefix given starts more than one stored mapping version; the message lists them.',
    hint: 'Give more hex digits, or one of the full versions the message lists.',
  },
  SUBMISSION_ERASED: {
    code: 'SUBMISSION_ERASED',
    disposition: 'reject',
    means: "The submission was erased (right to erasure): its data key, body and evidence are destroyed, so it cannot be retried, replayed or shown.",
    hint: 'Nothing can bring it back; `rekey dlq show` and the audit log still explain what was done with it. If it must be keyed again, the citizen submits again.',
  },
  BODY_PURGED: {
    code: 'BODY_PURGED',
    disposition: 'reject',
    means: "The submission's body was removed by the retention policy, so it cannot be retried, replayed or shown.",
    hint: 'Its audit trail still explains it. Lengthen `retention.bodies` for this pipeline if operators need bodies for longer.',
  },
  CORRECTION_UNKNOWN_FIELD: {
    code: 'CORRECTION_UNKNOWN_FIELD',
    disposition: 'reject',
    means: "A correction named a field the pipeline's mapping does not have (or a child row the submission does not have); nothing was written.",
    hint: 'Name a target field as the mapping does: FIELD for the record, GROUP[n].FIELD for the n-th child row (counted from 1). `rekey dlq show` names the field the legacy system refused.',
  },
  CORRECTION_INVALID: {
    code: 'CORRECTION_INVALID',
    disposition: 'reject',
    means: "A corrected value breaks the field's rules in the mapping (pattern, length, list of values, range, required), or the submission cannot be corrected (its mapping refuses it, or its body is not sealed); nothing was written.",
    hint: 'The message names the field and the rule; give a value that keeps it, or fix the mapping and replay for a value the mapping refused.',
  },
});

/** One entry of the catalogue. */
export type PipelineCode = (typeof PipelineCodes)[keyof typeof PipelineCodes];

/** Base of every error this layer throws: a catalogue entry's code, disposition and hint, and a PII-free message. */
export class PipelineError extends CodedError {
  constructor(kind: PipelineCode, message: string, options?: { cause?: unknown }) {
    super(kind, message, options);
    this.name = 'PipelineError';
  }
}

/** Thrown by the ledger when a move is not allowed by `TRANSITIONS`; the whole call wrote nothing. */
export class LedgerTransitionError extends PipelineError {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  /** `operator`: the move was an operator's action (`LEDGER_ACTION_REFUSED`, an operator's mistake), not the runner's (`LEDGER_ILLEGAL_TRANSITION`, a bug). */
  constructor(key: string, from: string, to: string, operator = false) {
    super(operator ? PipelineCodes.LEDGER_ACTION_REFUSED : PipelineCodes.LEDGER_ILLEGAL_TRANSITION, `submission ${JSON.stringify(key)} cannot move from ${from} to ${to}`);
    this.name = 'LedgerTransitionError';
    this.key = key;
    this.from = from;
    this.to = to;
  }
}

