/**
 * What the staging-table source asks of its mode (status or watermark),
 * and small SQL helpers the modes share.
 */
import type { Logger } from 'pino';
import type { Row } from './staging.db.js';

/** The staging table with its real names (as the database spells them). */
export interface TableInfo {
  table: string;
  key: string;
}

/** One way of taking rows from the table and letting go of them. */
export interface StagingMode {
  /** Prepares a read; false when another runner holds the table's work now (read nothing). */
  start(log: Logger): Promise<boolean>;
  /** The next rows taken for this runner, at most `limit`, in order; [] when there are no more. */
  next(limit: number): Promise<Row[]>;
  /** Notes that `row` went to the flow, as a submission or (with `message`) as an error. */
  handed(row: Row, message?: string): void;
  /** Lets go of every row handed over: called once they are all in the ledger. */
  commit(log: Logger): Promise<void>;
  /** Gives up what was taken and not committed (the rows are read again later). */
  release(): Promise<void>;
}

/** `$from, $from+1, … ` for `n` values. */
export function placeholders(from: number, n: number): string {
  return Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');
}

/** `list` cut into parts of at most `size`. */
export function inChunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
