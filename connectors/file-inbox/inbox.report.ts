/**
 * What the inbox learns about one file while reading it, and the report
 * written beside the file when it is moved: `<name>.errors.json` in done
 * when some records could not be read, `<name>.error.json` in quarantine
 * when the file could not be read at all. Reports name records by number,
 * line and reason only; no value from the file is ever put in them.
 */
import type { ConnectorError, SourceItem } from '../connector.types.js';
import { ReaderCodes } from './readers/index.js';

/** At most this many bad records are listed in a report; the rest are counted. */
export const MAX_LISTED_ERRORS = 1000;

/**
 * Reader codes that speak of the whole file rather than one record: the file
 * is refused (entity declarations), its structure outside the records is
 * wrong, its header names a column twice, or it ends early. Reading stops at
 * them, so the rest of the file was never read.
 */
const FILE_CODES: ReadonlySet<string> = new Set([ReaderCodes.XML_FORBIDDEN, ReaderCodes.MALFORMED_FILE, ReaderCodes.DUPLICATE_COLUMN, ReaderCodes.TRUNCATED]);

/** One record that could not be read, as a report lists it. */
export interface ReportedError {
  record: number;
  line?: number;
  code: string;
  message: string;
}

/** Why a whole file was quarantined. */
export interface FileFailure {
  code: string;
  message: string;
  record?: number;
  line?: number;
}

/** Tallies one file's items as they pass; decides done or quarantine. */
export class FileTally {
  records = 0;
  unreadable = 0;
  readonly errors: ReportedError[] = [];
  failure: FileFailure | undefined;

  /** Counts `item`; a file-level reader code makes the file a quarantine case. */
  see(item: SourceItem): void {
    if (item.ok) {
      this.records++;
      return;
    }
    this.unreadable++;
    const { code, message } = item.error;
    const at: ReportedError = { record: item.at.record, code, message };
    if (item.at.line !== undefined) at.line = item.at.line;
    if (this.errors.length < MAX_LISTED_ERRORS) this.errors.push(at);
    if (this.failure === undefined && FILE_CODES.has(code)) this.failure = { code, message, record: at.record, ...(at.line !== undefined && { line: at.line }) };
  }

  /** Records that the file could not be read at all (an I/O error, or read options that do not fit it). */
  fail(error: Pick<ConnectorError, 'code' | 'message'>): void {
    this.failure ??= { code: error.code, message: error.message };
  }

  /** The quarantine reason, if any: a file-level failure, or a file of which no record could be read. */
  get quarantineReason(): FileFailure | undefined {
    if (this.failure) return this.failure;
    if (this.records === 0 && this.unreadable > 0) {
      const first = this.errors[0]!;
      return { code: first.code, message: `no record of the file could be read; the first: ${first.message}`, record: first.record, ...(first.line !== undefined && { line: first.line }) };
    }
    return undefined;
  }
}

/** Fields every report has. */
interface ReportBase {
  /** The file's name as it was dropped in the inbox. */
  file: string;
  /** Where the file is now, relative to the inbox folder's parent folder when below it. */
  movedTo: string;
  /** When it was moved (ISO 8601). */
  at: string;
  /** Records read and handed to the ledger. */
  recordsRead: number;
  /** Records that could not be read. */
  unreadable: number;
  /** Bad records listed (at most {@link MAX_LISTED_ERRORS}), in file order. */
  errors: ReportedError[];
  /** Bad records beyond the list (see the pass's log for them). */
  errorsNotListed: number;
}

/** `<name>.errors.json` beside a file in done. */
export type ErrorsReport = ReportBase & { outcome: 'done' };

/** `<name>.error.json` beside a file in quarantine. */
export type QuarantineReport = ReportBase & {
  outcome: 'quarantined';
  reason: FileFailure;
  /** What became of the records read before the failure. */
  note: string;
};

/** The report of a tallied file. */
export function reportOf(tally: FileTally, file: string, movedTo: string, at: Date): ErrorsReport | QuarantineReport {
  const base: ReportBase = {
    file,
    movedTo,
    at: at.toISOString(),
    recordsRead: tally.records,
    unreadable: tally.unreadable,
    errors: tally.errors,
    errorsNotListed: tally.unreadable - tally.errors.length,
  };
  const reason = tally.quarantineReason;
  if (!reason) return { ...base, outcome: 'done' };
  const note =
    tally.records > 0
      ? `the ${tally.records} record(s) read before the failure are in the ledger; send the file again, whole, and those already recorded are recognised by their key and not recorded twice`
      : 'nothing from this file was recorded';
  return { ...base, outcome: 'quarantined', reason, note };
}
