/**
 * What the main thread and the ledger thread send each other (see
 * `ledger-thread.ts`): calls by number, answers by the same number, and
 * errors as plain data, since `instanceof` does not survive the trip.
 */
import { DISPOSITIONS, type Disposition } from '../../lib/errors.js';
import type { Ledger } from '../../pipelines/ledger/ledger.js';
import { LedgerTransitionError, PipelineCodes, PipelineError, type PipelineCode } from '../../pipelines/pipeline.errors.js';

/** What the ledger thread is started with. */
export interface LedgerThreadData {
  /** The state store's URL: a SQLite file the main thread opened and migrated. */
  stateUrl: string;
  /** The key-encryption keys (`KeyRing.material`). */
  keys: { current: Uint8Array; previous: Uint8Array[]; generated: boolean };
  /** The main thread's write lock on the file (`StateStore.writeLock`), so that the two threads' writes take turns. */
  writeLock?: SharedArrayBuffer;
}

/** The ledger operations run on the thread. */
export type LedgerThreadOp = 'receive' | 'receiveLanes' | 'apply';

/** A call to the ledger thread. */
export type LedgerCall =
  | { id: number; op: 'receive'; args: Parameters<Ledger['receive']> }
  | { id: number; op: 'receiveLanes'; args: Parameters<Ledger['receiveLanes']> }
  | { id: number; op: 'apply'; args: Parameters<Ledger['apply']> }
  | { op: 'close' };

/** An error as it crosses: its name and message, and the fields callers read (a code, a disposition, the move refused). */
export interface ThreadError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  disposition?: string;
  errno?: number;
  move?: { key: string; from: string; to: string };
}

/** What the ledger thread sends back. */
export type LedgerReply = { started: true } | { started: false; error: ThreadError } | { id: number; value: unknown } | { id: number; error: ThreadError } | { closed: true };

/** `e` as plain data for the trip to the main thread. */
export function threadError(e: unknown): ThreadError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as Error & { code?: unknown; disposition?: unknown; errno?: unknown };
  const out: ThreadError = { name: e.name, message: e.message };
  if (e.stack !== undefined) out.stack = e.stack;
  if (typeof x.code === 'string') out.code = x.code;
  if (typeof x.disposition === 'string') out.disposition = x.disposition;
  if (typeof x.errno === 'number') out.errno = x.errno;
  if (e instanceof LedgerTransitionError) out.move = { key: e.key, from: e.from, to: e.to };
  return out;
}

const PIPELINE_DEFS = new Map<string, PipelineCode>(Object.values(PipelineCodes).map((d) => [d.code, d]));

/**
 * The error `t` describes, as the ledger threw it where that can be
 * rebuilt: a refused move as `LedgerTransitionError`, a code of the
 * pipeline layer's catalogue as `PipelineError`; any other error as an
 * `Error` with its name, code, disposition and errno (another layer's
 * coded error, a driver's `SQLITE_BUSY`).
 * The stack is the ledger thread's.
 */
export function revivedError(t: ThreadError): Error {
  let e: Error & { code?: string; errno?: number };
  if (t.move) e = new LedgerTransitionError(t.move.key, t.move.from, t.move.to, t.code === PipelineCodes.LEDGER_ACTION_REFUSED.code);
  else if (t.code !== undefined && PIPELINE_DEFS.has(t.code)) e = new PipelineError(PIPELINE_DEFS.get(t.code)!, t.message);
  else {
    e = new Error(t.message);
    e.name = t.name;
    if (t.code !== undefined) e.code = t.code;
    if (t.errno !== undefined) e.errno = t.errno;
    // Another layer's coded error (a data key the ring lacks, say) stays coded: `isCoded` holds, and a run records its code.
    if (t.code !== undefined && DISPOSITIONS.includes(t.disposition as Disposition)) (e as Error & { disposition?: Disposition }).disposition = t.disposition as Disposition;
  }
  if (t.stack !== undefined) e.stack = t.stack;
  return e;
}
