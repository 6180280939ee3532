/**
 * PostgreSQL's bulk load for the writer: rows streamed with `COPY ... FROM
 * STDIN` (pg-copy-streams) on the batch's own connection, inside its
 * transaction. Values are sent in COPY's text format, built here.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sequelize, Transaction } from 'sequelize';
import { from as copyFrom } from 'pg-copy-streams';
import type { ClientBase } from 'pg';
import { SequelizeTx } from './sequelize.connection.js';

/** Characters COPY's text format escapes, and how. */
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value in COPY's text format: `\N` for NULL, `t`/`f`, ISO dates, escaped text. Pure. */
export function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return value.toISOString();
  const s = String(value);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] as string) : s;
}

/** Rows as COPY text lines, in chunks of about 64 KiB. */
function* chunks(rows: readonly (readonly unknown[])[]): Generator<string> {
  let buf = '';
  for (const row of rows) {
    buf += row.map(copyText).join('\t') + '\n';
    if (buf.length >= 65_536) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

const quote = (id: string) =>
  id
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');

/** A {@link SequelizeTx} on PostgreSQL that can also bulk-load rows with COPY. */
export class PostgresTx extends SequelizeTx {
  private readonly client: ClientBase;

  constructor(db: Sequelize, transaction: Transaction) {
    super(db, transaction);
    this.client = (transaction as unknown as { connection: ClientBase }).connection;
  }

  /**
   * Streams `rows` into `table` with COPY in the transaction. Rejects with
   * the database's error (a refused value fails the whole COPY; the writer
   * then undoes it and inserts row by statement).
   */
  async copyRows(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    const stream = this.client.query(copyFrom(`COPY ${quote(table)} (${columns.map(quote).join(', ')}) FROM STDIN`));
    await pipeline(Readable.from(chunks(rows)), stream);
  }
}
