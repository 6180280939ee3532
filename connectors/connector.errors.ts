/**
 * The connectors' error catalogue, built with lib/errors: every code of
 * every source and target, once, with its disposition (STYLE §3), what it
 * means and what to do. A connector reports one bad record as that
 * record's plain {@link ConnectorError}; it throws a
 * {@link ConnectorFailure} only when it cannot go on at all.
 */
import { CodedError, defineErrors, errorData, type CodedErrorOptions, type Disposition, type ErrorDef } from '../lib/errors.js';
import type { ConnectorError } from './connector.types.js';

/** Codes shared by sources and the SQL connectors. */
export const ConnectorErrors = defineErrors({
  SOURCE_UNREADABLE: {
    code: 'SOURCE_UNREADABLE',
    disposition: 'fatal',
    means: "A source's configured path is missing or cannot be read, or one of its settings cannot be used.",
    hint: 'Check the path (or setting) the message names exists and is readable by rekey.',
    otherwise: {
      retry: 'when the read failed for a reason that may pass (an I/O error other than a missing path or a refused permission)',
      reject: 'for one inbox file that could not be read: it is quarantined and the other files go on',
    },
  },
  SOURCE_NOT_REGULAR_FILE: {
    code: 'SOURCE_NOT_REGULAR_FILE',
    disposition: 'reject',
    means: 'An entry of a source folder (or an inbox file as it was about to be opened) is a symbolic link, a folder, a FIFO, a socket or a device, or was replaced between the look at it and its opening; it was never opened, and the inbox moved it to quarantine as it is.',
    hint: 'Drop regular files only: copy the file itself rather than a link to it; remove the entry from quarantine once the sender has been told.',
  },
  SOURCE_NOT_CHUNKABLE: {
    code: 'SOURCE_NOT_CHUNKABLE',
    disposition: 'fatal',
    means: 'Byte chunks were asked of a file that is not NDJSON in an ASCII-compatible encoding (UTF-16, say).',
    hint: 'Convert the file to UTF-8, or read it whole by mapping on the main thread (--workers 0).',
  },
  SQL_CONSTRAINT: {
    code: 'SQL_CONSTRAINT',
    disposition: 'reject',
    means: 'The database refused one record: NOT NULL, CHECK, UNIQUE (other than the key), foreign key or type.',
    hint: 'Correct the submission or the mapping for the field and constraint the message names, then replay it.',
  },
  SQL_VALUE: {
    code: 'SQL_VALUE',
    disposition: 'reject',
    means: 'A record holds a value no column can hold (a list or mapping), or child rows this target does not write.',
    hint: 'Change the mapping so the field the message names yields one plain value, then replay the record.',
  },
  SQL_NO_ROW: {
    code: 'SQL_NO_ROW',
    disposition: 'reject',
    means: "Update mode: no row has the record's key, so there is nothing to update.",
    hint: 'Create the row in the legacy system first (or use insert mode), then replay the record.',
  },
  SQL_BUSY: {
    code: 'SQL_BUSY',
    disposition: 'retry',
    means: 'The database is busy or locked by another writer.',
    hint: 'Nothing to do if it passes: the records are retried with backoff; if it persists, find the long-running writer.',
  },
  SQL_UNAVAILABLE: {
    code: 'SQL_UNAVAILABLE',
    disposition: 'retry',
    means: 'The database could not be reached or failed for a reason that may pass.',
    hint: 'Check the database is up and reachable at the configured URL; the records are retried with backoff.',
    otherwise: { fatal: 'when a SQLite database file does not exist and no setupSql would create it' },
  },
  SQL_ACCESS_DENIED: {
    code: 'SQL_ACCESS_DENIED',
    disposition: 'fatal',
    means: "The legacy database refused rekey's user: a wrong user name or password, or a grant missing on the database or table.",
    hint: "Check the user and password the target's url gives (from the environment or file it names) and the user's grants (connect, and insert, select and update on the table), then run again.",
  },
  SQL_SCHEMA: {
    code: 'SQL_SCHEMA',
    disposition: 'fatal',
    means: 'The table or its columns do not fit the configuration (a missing table or column, no UNIQUE key): nothing can be written until someone fixes it.',
    hint: 'Create or fix the table the message names (or change the pipeline or mapping to fit it), then run again.',
    otherwise: { reject: 'for one record whose row was inserted but cannot be found again by its key' },
  },
  STAGING_BODY: {
    code: 'STAGING_BODY',
    disposition: 'reject',
    means: 'A staging-table row whose body is not a submission (bad JSON, not an object, empty).',
    hint: 'Fix the row in the staging table (the message names the row and column); it is read again as a new submission.',
  },
  SEALED_FILES_MISSING: {
    code: 'SEALED_FILES_MISSING',
    disposition: 'fatal',
    means: "A connector that keeps copies of citizens' data (the inbox's done and quarantine files) was started without the encrypted file store (ctx.files), so it would have kept them in clear; it stopped instead.",
    hint: 'This is a bug in how the connector was started (the flow hands ctx.files to every call): report it.',
  },
});

/** The input readers' codes: a bad record is yielded as an error and the reading goes on. */
export const ReaderErrors = defineErrors({
  MALFORMED_RECORD: {
    code: 'INPUT_MALFORMED_RECORD',
    disposition: 'reject',
    means: 'One record is not valid in its format (JSON syntax, CSV quoting, XML well-formedness).',
    hint: 'Fix the record at the file and line the message names and drop the file in again; the other records went on.',
  },
  TRUNCATED: {
    code: 'INPUT_TRUNCATED',
    disposition: 'reject',
    means: 'The file ended inside a record or before its top-level structure was closed.',
    hint: 'Send the whole file again (it was probably cut off in transfer).',
  },
  MALFORMED_FILE: {
    code: 'INPUT_MALFORMED_FILE',
    disposition: 'reject',
    means: "The file's structure outside the records is wrong (records not found, content after the end, a bad header).",
    hint: 'Check the file against its format and recordPath, fix it and drop it in again.',
  },
  RECORD_TOO_LARGE: {
    code: 'INPUT_RECORD_TOO_LARGE',
    disposition: 'reject',
    means: 'One record is larger than maxRecordBytes; it was skipped without being held in memory.',
    hint: 'Raise maxRecordBytes if such records are genuine, or split the record at its source.',
  },
  TOO_DEEP: {
    code: 'INPUT_TOO_DEEP',
    disposition: 'reject',
    means: 'One record nests deeper than its limit: XML elements deeper than xml.maxDepth, JSON or NDJSON arrays and objects deeper than json.maxDepth; it was skipped and the other records went on.',
    hint: 'Raise the limit the message names (at most 1000) if the nesting is genuine, or fix the record.',
  },
  COLUMN_COUNT: {
    code: 'INPUT_COLUMN_COUNT',
    disposition: 'reject',
    means: 'A CSV row has a different number of fields from the header row.',
    hint: 'Fix the row (often an unquoted delimiter in a value) and drop the file in again.',
  },
  DUPLICATE_COLUMN: {
    code: 'INPUT_DUPLICATE_COLUMN',
    disposition: 'reject',
    means: "A CSV header names the same column twice (with csv.duplicateColumns: 'error').",
    hint: 'Rename one of the columns, or set csv.duplicateColumns to say which one wins.',
  },
  XML_FORBIDDEN: {
    code: 'INPUT_XML_FORBIDDEN',
    disposition: 'reject',
    means: 'An XML file declares entities in a DOCTYPE; the whole file is refused and nothing is expanded.',
    hint: 'Ask the sender for the file without a DOCTYPE and entity declarations.',
  },
  UNDECODABLE: {
    code: 'INPUT_UNDECODABLE',
    disposition: 'reject',
    means: "One record holds bytes that are not valid in the file's encoding (a windows-1252 file read as UTF-8, say). A U+FFFD character validly encoded (EF BF BD in UTF-8) is a character like any other, not an error.",
    hint: 'Set encoding to the encoding the file is written in.',
  },
  OPTIONS_INVALID: {
    code: 'INPUT_OPTIONS_INVALID',
    disposition: 'fatal',
    means: 'The read options are invalid (an unknown format or encoding, a bad delimiter, a missing recordPath).',
    hint: 'Fix each read option the message lists in the pipeline file (rekey validate checks them).',
  },
});

/** The webhook intake's codes: each refusal is answered to the client and never stored as a submission. */
export const IntakeErrors = defineErrors({
  WEBHOOK_UNSIGNED: { code: 'WEBHOOK_UNSIGNED', disposition: 'reject', means: 'The signature or timestamp header is missing.', hint: 'Sign each request with the shared secret and send both headers.' },
  WEBHOOK_BAD_TIMESTAMP: { code: 'WEBHOOK_BAD_TIMESTAMP', disposition: 'reject', means: 'The timestamp header is not unix seconds.', hint: 'Send the signing time as whole unix seconds.' },
  WEBHOOK_STALE: { code: 'WEBHOOK_STALE', disposition: 'reject', means: 'The timestamp is older than the replay window.', hint: "Sign the request afresh when sending it, and check the sender's clock." },
  WEBHOOK_FUTURE: { code: 'WEBHOOK_FUTURE', disposition: 'reject', means: 'The timestamp is further ahead than the replay window.', hint: "Check the sender's clock (and this server's)." },
  WEBHOOK_BAD_SIGNATURE: { code: 'WEBHOOK_BAD_SIGNATURE', disposition: 'reject', means: 'The signature does not match the body and timestamp.', hint: 'Check both sides use the same secret and sign the exact bytes sent.' },
  WEBHOOK_NOT_FOUND: { code: 'WEBHOOK_NOT_FOUND', disposition: 'reject', means: 'No intake listens at this path.', hint: "Send to the path of a pipeline's webhook source." },
  WEBHOOK_TOO_LARGE: { code: 'WEBHOOK_TOO_LARGE', disposition: 'reject', means: 'The body is larger than maxBodyBytes.', hint: 'Send a smaller body, or raise maxBodyBytes if such submissions are genuine.' },
  WEBHOOK_CONTENT_TYPE: { code: 'WEBHOOK_CONTENT_TYPE', disposition: 'reject', means: 'The content type is not JSON in UTF-8.', hint: 'Send Content-Type: application/json with a UTF-8 body.' },
  WEBHOOK_NOT_JSON: { code: 'WEBHOOK_NOT_JSON', disposition: 'reject', means: 'The body is empty, not UTF-8, or not JSON; the error gives the line, column and byte offset of the fault, never the body.', hint: 'Send the submission as one JSON object.' },
  WEBHOOK_TOO_DEEP: {
    code: 'WEBHOOK_TOO_DEEP',
    disposition: 'reject',
    means: "The body nests arrays and objects deeper than the source's maxDepth; nothing was stored.",
    hint: 'Send the submission with less nesting, or raise maxDepth (at most 1000) if such submissions are genuine.',
  },
  WEBHOOK_NOT_OBJECT: { code: 'WEBHOOK_NOT_OBJECT', disposition: 'reject', means: 'The body is JSON but not an object.', hint: 'Send the submission as one JSON object, not an array or a scalar.' },
  WEBHOOK_SCHEMA: { code: 'WEBHOOK_SCHEMA', disposition: 'reject', means: "The body fails the pipeline's JSON Schema; the answer lists each field path and reason.", hint: 'Fix the fields the answer lists and send the submission again.' },
  WEBHOOK_CONFLICT: {
    code: 'WEBHOOK_CONFLICT',
    disposition: 'reject',
    means: 'A submission with this key and different content is already recorded; the new content is kept aside as a conflict.',
    hint: 'Send a correction under a new key, or resolve the conflict with an operator.',
  },
  WEBHOOK_BUSY: { code: 'WEBHOOK_BUSY', disposition: 'retry', means: 'Too many submissions are waiting for the ledger; nothing was stored.', hint: 'Send it again after the Retry-After seconds.' },
  WEBHOOK_UNAVAILABLE: { code: 'WEBHOOK_UNAVAILABLE', disposition: 'retry', means: 'The ledger could not record the submission; nothing was stored.', hint: "Send it again later; if it persists, check the server's log and state store." },
  WEBHOOK_STOPPING: { code: 'WEBHOOK_STOPPING', disposition: 'retry', means: 'The server is shutting down; nothing was stored.', hint: 'Send it again after the Retry-After seconds.' },
});

/** The browser target's codes. */
export const BrowserErrors = defineErrors({
  REJECTED: {
    code: 'BROWSER_REJECTED',
    disposition: 'reject',
    means: 'The legacy app showed its own validation message (on the page, or in a dialog a dialogs: rule says rejects): the record is wrong for it.',
    hint: 'Correct the submission or the mapping as the message (the legacy app\'s own) says, then replay it.',
    otherwise: { retry: 'when the message came while signing in: the sign-in is tried again' },
  },
  TIMEOUT: { code: 'BROWSER_TIMEOUT', disposition: 'retry', means: 'A step did not finish in time (an element never appeared, a page never answered).', hint: 'Nothing to do if it passes; if it persists, check the legacy app is up and the step\'s selector still matches.' },
  SERVER_ERROR: { code: 'BROWSER_SERVER_ERROR', disposition: 'retry', means: 'The legacy app answered a page with HTTP 5xx.', hint: 'Nothing to do if it passes; if it persists, check the legacy app.' },
  CRASHED: { code: 'BROWSER_CRASHED', disposition: 'retry', means: 'The page or browser crashed or closed under the form.', hint: 'Nothing to do if it passes; if it persists, check the memory Chromium has.' },
  SESSION: { code: 'BROWSER_SESSION', disposition: 'retry', means: 'The session expired more often in one form than login.budget allows sign-ins.', hint: 'Check the legacy app\'s session settings and the expired: sign; raise login.budget, or resume: page so that each sign-in gets further.' },
  DIALOG: {
    code: 'BROWSER_DIALOG',
    disposition: 'retry',
    means: 'The legacy app showed a dialog (alert, confirm, prompt, beforeunload) that no dialogs: rule or dialog: step expected, or one a rule says to retry; the attempt ended there. Its text is kept sealed with the submission.',
    hint: 'Read the dialog\'s text (rekey dlq show --reveal); add a dialogs: rule saying what it means (accept, dismiss, reject, retry).',
  },
  NO_REFERENCE: { code: 'BROWSER_NO_REFERENCE', disposition: 'retry', means: 'The steps ran but captured no reference.', hint: 'Check the capture step\'s selector still matches the page that shows the reference.' },
  LOGIN_REFUSED: { code: 'BROWSER_LOGIN_REFUSED', disposition: 'fatal', means: 'Signing in did not work with the configured credentials.', hint: 'Check the user name and password secrets, and that the account is not locked.' },
  SCREEN_CHANGED: {
    code: 'BROWSER_SCREEN_CHANGED',
    disposition: 'fatal',
    means: 'A page of the legacy app no longer looks as it did when the steps first keyed it (a field renamed, moved or gone, a new required field, a select\'s options changed); nothing was keyed into it and the pipeline was paused.',
    hint: 'Run rekey steps review PIPELINE to see what changed and approve (or edit) the proposed steps; the pipeline resumes once approved.',
  },
  LAUNCH: { code: 'BROWSER_LAUNCH', disposition: 'fatal', means: 'No Chromium could be started.', hint: "Install Debian's chromium-headless-shell (or chromium), or set executablePath." },
  EVIDENCE_NOT_KEPT: {
    code: 'BROWSER_EVIDENCE_NOT_KEPT',
    disposition: 'retry',
    means: 'A screenshot or trace was not kept: it could not be sealed (no encrypted file store was handed to the target, or writing it failed). Evidence is never written in clear; the form itself is unaffected.',
    hint: 'Run the target through rekey run or serve, which seal evidence; if the state store failed, check it.',
  },
  STEP: {
    code: 'BROWSER_STEP',
    disposition: 'retry',
    means: 'Another step failure (a selector that matches nothing usable, an upload file missing).',
    hint: 'Read the message: fix the step or the file it names.',
    otherwise: { reject: 'when a file the record asks to upload cannot be read, a check box\'s value is not yes or no, or no radio button has the record\'s value or label' },
  },
});

/** The file-drop target's codes. */
export const FileDropErrors = defineErrors({
  VALUE: {
    code: 'FILE_DROP_VALUE',
    disposition: 'reject',
    means: 'A value the layout cannot hold: too long, not a number, too many decimals, a line break in a fixed-width field.',
    hint: 'Change the mapping (a transform that shortens or formats the field) or the layout, then replay the record.',
  },
  ENCODING: {
    code: 'FILE_DROP_ENCODING',
    disposition: 'reject',
    means: "A character the file's encoding cannot represent, or one XML 1.0 does not allow.",
    hint: 'Add a transliterating transform to the field, or choose an encoding that holds the character.',
  },
  CONFIG: { code: 'FILE_DROP_CONFIG', disposition: 'fatal', means: 'The configuration cannot work (a layout that overlaps, a name template that escapes the folder).', hint: 'Fix the layout or name template the message names.' },
  EXISTS: {
    code: 'FILE_DROP_EXISTS',
    disposition: 'fatal',
    means: 'A file of another run (or pipeline, or from before the state store was replaced) already has the name; it is never replaced.',
    hint: 'Move the file away, and check the name template and the sequence counter.',
  },
  IO: { code: 'FILE_DROP_IO', disposition: 'retry', means: 'The drop folder cannot be written now (a full disk, permissions, a remote that is down).', hint: 'Check the drop folder has space and is writable; the records are retried with backoff.' },
  NO_STATE: { code: 'FILE_DROP_NO_STATE', disposition: 'fatal', means: 'The target needs the state store (ctx.state) and was not given it.', hint: 'This is a bug in how the target was started: report it.' },
  JOURNAL: { code: 'FILE_DROP_JOURNAL', disposition: 'fatal', means: 'The journal in the connector state is damaged (a published file without its keys row).', hint: 'Restore the state store from a backup, or report it with the message.' },
});

/** The GOV.UK Notify target's codes. */
export const NotifyErrors = defineErrors({
  REJECTED: {
    code: 'NOTIFY_REJECTED',
    disposition: 'reject',
    means: "Notify refused the message with a 4xx (a ValidationError or BadRequestError: an address or phone number it does not accept, a missing personalisation, a recipient a trial service cannot send to); the message names Notify's error and reason.",
    hint: 'Correct the submission or the mapping field the message names (or the template in Notify), then replay the record.',
  },
  NO_RECIPIENT: {
    code: 'NOTIFY_NO_RECIPIENT',
    disposition: 'reject',
    means: "The record's recipient field (to:) is empty, so there is nobody to send to; nothing was sent.",
    hint: 'Make the field required in the mapping, or correct the submission and replay it.',
  },
  UNAVAILABLE: {
    code: 'NOTIFY_UNAVAILABLE',
    disposition: 'retry',
    means: 'Notify answered 5xx or 429 (rate limit), or gave no answer in time or could not be reached; the message may have reached Notify, so the next attempt looks it up by reference first.',
    hint: 'Nothing to do if it passes: the record is retried with backoff; if it persists, check status.notifications.service.gov.uk and the network to Notify.',
  },
  AUTH: {
    code: 'NOTIFY_AUTH',
    disposition: 'fatal',
    means: 'Notify refused the API key (401 or 403 AuthError: a revoked or mistyped key, a key of another service, or a clock more than 30 seconds out).',
    hint: 'Check the API key the pipeline reads (from the environment or file it names) and the clock of the machine rekey runs on, then run again.',
  },
  CONFIG: {
    code: 'NOTIFY_CONFIG',
    disposition: 'fatal',
    means: 'The notify target cannot work as configured (a key that is not a Notify API key, a sender of the other type, a field the mapping does not have).',
    hint: 'Fix each setting the message names in the pipeline file.',
  },
});

/** Every connector catalogue, for lookups by code. */
const ALL: readonly ErrorDef[] = [ConnectorErrors, ReaderErrors, IntakeErrors, BrowserErrors, FileDropErrors, NotifyErrors].flatMap((c) => Object.values(c));
const BY_CODE = new Map(ALL.map((e) => [e.code, e]));

/** The connectors' catalogues, for the docs and the catalogue test. */
export const CONNECTOR_CATALOGUES = { ConnectorErrors, ReaderErrors, IntakeErrors, BrowserErrors, FileDropErrors, NotifyErrors } as const;

/** The connector entry of `code`; undefined for a code no connector catalogue holds. */
export function connectorErrorDef(code: string): ErrorDef | undefined {
  return BY_CODE.get(code);
}

/** Builds the plain-data error of one record: `def`'s code and disposition (or another it allows), naming `field` when given. */
export function connectorError(def: ErrorDef, message: string, field?: string, disposition?: Disposition): ConnectorError {
  return errorData(def, message, disposition === undefined ? { field } : { field, disposition });
}

/**
 * The plain-data error of one record the legacy system refused: `reason`
 * is rekey's own sentence (names of fields and constraints, never a
 * value); `text` is the legacy system's message, carried as
 * `legacyText` for the flow to hash and seal with this record alone.
 */
export function legacyRefusal(def: ErrorDef, reason: string, text: string | undefined, opts: { field?: string | undefined; constraint?: string | undefined; disposition?: Disposition } = {}): ConnectorError {
  const e = connectorError(def, reason, opts.field, opts.disposition);
  if (opts.constraint) e.constraint = opts.constraint;
  if (text) e.legacyText = text;
  return e;
}

/**
 * Thrown when a connector (any source or target) as a whole cannot go on,
 * or inside a browser form when it cannot go on; its disposition (the
 * entry's, or another the entry allows) says whether trying later may help.
 */
export class ConnectorFailure extends CodedError {
  constructor(def: ErrorDef, message: string, options?: CodedErrorOptions) {
    super(def, message, options);
    this.name = 'ConnectorFailure';
  }
}
