/**
 * Sequelize's `Transaction.commit` and `rollback` write the database's
 * error message to `console.warn` when a COMMIT or ROLLBACK fails
 * ("Committing transaction … failed with error …"), whatever the
 * `logging` option says. That line is raw text on stderr, and the
 * database's message can quote a citizen's value (a trigger's RAISE).
 * {@link reportTransactionFailures} silences those lines and hands the
 * failure to a reporter instead: what was being done, the dialect and the
 * driver's error code, never the message. Process-wide, installed once.
 */
import { Transaction } from 'sequelize';

/** A failed COMMIT or ROLLBACK, without the database's message. */
export interface TransactionFailure {
  action: 'commit' | 'rollback';
  /** `postgres`, `mariadb`, `sqlite`, ... */
  dialect: string;
  /** The driver's or database's code (SQLSTATE `57P01`, `ECONNRESET`), when it gives one. */
  dbCode?: string;
}

/** Sequelize's own line for a failed COMMIT or ROLLBACK. */
export const SEQUELIZE_TRANSACTION_WARNING = /^(?:Committing|Rolling back) transaction \S+ failed with error /;

let reporter: ((f: TransactionFailure) => void) | undefined;
let installed = false;

function codeOf(e: unknown): string | undefined {
  const err = e as { code?: unknown; parent?: { code?: unknown }; original?: { code?: unknown } };
  const code = err?.parent?.code ?? err?.original?.code ?? err?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

function install(): void {
  if (installed) return;
  installed = true;
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && SEQUELIZE_TRANSACTION_WARNING.test(args[0])) return;
    warn(...args);
  };
  const proto = Transaction.prototype as unknown as Record<'commit' | 'rollback', (this: Transaction) => Promise<void>>;
  for (const action of ['commit', 'rollback'] as const) {
    const original = proto[action];
    proto[action] = async function (this: Transaction) {
      try {
        return await original.call(this);
      } catch (e) {
        // Sequelize's own refusals (already finished, never started) never reached the database and print nothing.
        if (!(e instanceof Error && e.message.startsWith('Transaction cannot be'))) {
          const dialect = (this as unknown as { sequelize: { getDialect(): string } }).sequelize.getDialect();
          const dbCode = codeOf(e);
          reporter?.({ action, dialect, ...(dbCode ? { dbCode } : {}) });
        }
        throw e;
      }
    };
  }
}

/**
 * From now on, Sequelize's failed-COMMIT/ROLLBACK lines no longer reach
 * stderr, and each such failure is handed to `report` (the last one given
 * replaces any before it).
 */
export function reportTransactionFailures(report: (f: TransactionFailure) => void): void {
  install();
  reporter = report;
}
