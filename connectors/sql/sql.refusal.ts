/**
 * What a record's error keeps of a database's own message. The message is
 * the legacy system's text and may quote a citizen's values (a trigger's
 * `RAISE`, a duplicate key's value), so the error's `message` is rekey's
 * sentence naming only the code, constraint and field, and the database's
 * text travels as `legacyText` with the one record it belongs to. A
 * failure of the whole batch carries no database text at all: one
 * record's message is never copied onto the others.
 */
import type { ErrorDef } from '../../lib/errors.js';
import { connectorError, ConnectorErrors, legacyRefusal } from '../connector.errors.js';
import type { ConnectorError } from '../connector.types.js';
import type { SqlErrorInfo } from './sql.dialect.js';

/** A database error code or constraint name that is safe to quote (a code or an identifier, never free text). */
const NAME = /^[A-Za-z0-9_$.]{1,128}$/;

const named = (v: string | undefined): string | undefined => (v !== undefined && NAME.test(v) ? v : undefined);

/** Code and constraint of `info`, as rekey's words: `code 23505, constraint customer_name_uq`. */
function which(info: SqlErrorInfo, field?: string): string {
  const constraint = named(info.constraint);
  const state = named(info.state);
  return [state && `code ${state}`, constraint && `constraint ${constraint}`, field && `field ${field}`].filter(Boolean).join(', ');
}

/**
 * The `SQL_CONSTRAINT` rejection of the one record the database refused:
 * a reason of rekey's own naming the code, constraint and `field` when
 * known; the database's message as `legacyText`.
 */
export function sqlRefusal(info: SqlErrorInfo, field: string | undefined): ConnectorError {
  const w = which(info, field);
  return legacyRefusal(ConnectorErrors.SQL_CONSTRAINT, `the legacy database refused the record${w ? ` (${w})` : ''}`, info.message, { field, constraint: named(info.constraint) });
}

/**
 * Why a write failed as a whole, for the fatal `SQL_SCHEMA` that stops the
 * pipeline: a schema error's own message (names of tables and columns);
 * for a refusal no record could be blamed for (a deferred constraint or
 * trigger at COMMIT), which may quote a value, only its code and
 * constraint.
 */
export function sqlWriteFailure(info: SqlErrorInfo): string {
  if (info.kind !== 'constraint') return info.message;
  const w = which(info);
  return `the database refused the batch${w ? ` (${w})` : ''}`;
}

/** The error each record of a batch the database failed as a whole gets: `def`'s code and the database's code, no database text. */
export function sqlBatchFailure(def: ErrorDef, info: SqlErrorInfo): ConnectorError {
  const w = which(info);
  return connectorError(def, `the legacy database failed the batch (${w || info.kind})`);
}
