/**
 * The file-drop target's error helpers; its codes, dispositions and hints
 * are catalogued in connectors/connector.errors.ts (`FileDropErrors`). A
 * record the formats cannot write is that record's `rejected` outcome with
 * `FILE_DROP_VALUE` or `FILE_DROP_ENCODING`, naming the field; when the
 * target as a whole cannot go on it throws a `ConnectorFailure`.
 */
import type { ErrorDef } from '../../lib/errors.js';
import { connectorError } from '../connector.errors.js';
import type { ConnectorError } from '../connector.types.js';

/** The plain-data error of one record that a format refused (disposition `reject`), naming the field. */
export function valueError(def: ErrorDef, field: string, message: string): ConnectorError {
  return connectorError(def, `${field}: ${message}`, field);
}
