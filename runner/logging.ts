/**
 * The process logger: pino, JSON on stderr (pretty in a terminal), with
 * secrets removed wherever they appear and record contents never logged.
 * Connectors receive it through their context; nothing reads it globally.
 */
import pino, { type Logger } from 'pino';
import { isCoded } from '../lib/errors.js';
import { scrubMessage } from '../lib/redact.js';
import { reportTransactionFailures } from '../lib/sequelize-transactions.js';
import { PipelineCodes } from '../pipelines/pipeline.errors.js';

/** Paths whose values are never logged, whatever they hold. */
export const REDACTED_PATHS = [
  'body',
  'record',
  'records',
  'submission',
  '*.body',
  '*.record',
  '*.submission',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.privateKey',
  'config.*.password',
  'headers.authorization',
];

/** Options of `createLogger`. */
export interface LoggerOptions {
  level?: string;
  /** Secret values (resolved passwords, tokens) to replace with `[secret]` in every string logged. */
  secrets?: readonly string[];
  /** Pretty, coloured lines; default: when stderr is a terminal. */
  pretty?: boolean;
  /** Where to write (tests); default stderr. */
  destination?: pino.DestinationStream;
}

function scrub(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') {
    let s = value;
    for (const secret of secrets) if (secret.length >= 4 && s.includes(secret)) s = s.split(secret).join('[secret]');
    return s;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return scrub(errSerializer(value), secrets, depth + 1);
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, secrets, depth + 1);
  return out;
}

/**
 * Logs an error as pino does, except that the message and stack of an
 * error rekey did not raise itself are scrubbed of quoted passages (where
 * libraries echo the data they choked on); rekey's own coded messages
 * never carry values and are kept whole.
 */
function errSerializer(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const out = pino.stdSerializers.err(e as Error) as unknown as Record<string, unknown> | undefined;
  if (!out || typeof out !== 'object' || isCoded(e)) return out;
  if (typeof out.message === 'string') out.message = scrubMessage(out.message);
  if (typeof out.stack === 'string') out.stack = out.stack.split('\n').map((l) => scrubMessage(l)).join('\n');
  return out;
}

/** Creates the logger. Call once per process (or per test) and pass it down. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets ?? [];
  const pretty = opts.pretty ?? (process.stderr.isTTY === true && !process.env.CI);
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.REKEY_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: errSerializer },
    formatters: { log: (obj) => (secrets.length ? (scrub(obj, secrets) as Record<string, unknown>) : obj) },
    hooks: {
      logMethod(args, method) {
        if (secrets.length) args = args.map((a) => scrub(a, secrets)) as typeof args;
        method.apply(this, args);
      },
    },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  return pino(options, pino.destination(2));
}

/**
 * Sends every failed COMMIT or ROLLBACK (state store or SQL target) to
 * `log` as a `DB_TRANSACTION_UNSETTLED` warning with the action, dialect
 * and database code, instead of Sequelize's raw line on stderr (which
 * carries the database's message). `log` may be a function making the
 * logger when the first failure comes.
 */
export function logTransactionFailures(log: Logger | (() => Logger)): void {
  let made: Logger | undefined = typeof log === 'function' ? undefined : log;
  reportTransactionFailures((f) => {
    made ??= (log as () => Logger)();
    made.warn({ code: PipelineCodes.DB_TRANSACTION_UNSETTLED.code, ...f }, `a database ${f.action.toUpperCase()} failed${f.dbCode ? ` (code ${f.dbCode})` : ''}; its connection was closed`);
  });
}
