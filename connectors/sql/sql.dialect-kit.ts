/**
 * Small helpers the server dialects share: reading a driver error out of
 * Sequelize's wrapper, and `$N` placeholder lists.
 */

/** The fields of a driver error the dialects read, whatever wrapped it. */
export interface DriverErrorFields {
  /** SQLSTATE (PostgreSQL), error name (MariaDB `ER_DUP_ENTRY`), or a network code. */
  code?: string;
  /** MariaDB errno / SQL Server error number. */
  errno?: number;
  sqlState?: string;
  message: string;
  column?: string;
  constraint?: string;
  table?: string;
}

/** The driver's own error inside Sequelize's (`parent` / `original`), or the error itself. */
export function driverError(error: unknown): DriverErrorFields {
  const outer = error as { parent?: unknown; original?: unknown };
  const e = (outer?.parent ?? outer?.original ?? error) as Record<string, unknown> | undefined;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const message = str(e?.sqlMessage) ?? str(e?.text) ?? str(e?.message) ?? String(error);
  const out: DriverErrorFields = { message };
  const code = str(e?.code);
  if (code) out.code = code;
  const errno = typeof e?.errno === 'number' ? e.errno : typeof e?.number === 'number' ? e.number : undefined;
  if (errno !== undefined) out.errno = errno;
  const sqlState = str(e?.sqlState) ?? str(e?.state);
  if (sqlState) out.sqlState = sqlState;
  const column = str(e?.column);
  if (column) out.column = column;
  const constraint = str(e?.constraint);
  if (constraint) out.constraint = constraint;
  const table = str(e?.table);
  if (table) out.table = table;
  return out;
}

/** Identifiers quoted in a database message (`"x"`, `'x'`, `` `x` ``), in order. */
export function identifiersIn(message: string): string[] {
  return [...message.matchAll(/["'`]([A-Za-z_][A-Za-z0-9_.]*)["'`]/g)].map((m) => (m[1] as string).split('.').pop() as string);
}

/** `$from, $from+1, ...` for `count` parameters. */
export function placeholders(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
