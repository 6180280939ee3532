/**
 * The one shape of rekey's errors (STYLE §3). Each layer keeps one
 * catalogue file built with {@link defineErrors}: every code is written
 * there once, with its disposition (what the runner must do), a sentence of
 * what it means and a sentence of what to do. Errors are thrown as
 * {@link CodedError} (or a layer's subclass) and cross worker threads and
 * the ledger as plain {@link ErrorData}.
 */

/** What the runner must do with an error: back off and retry, reject the record for good, or stop the pipeline. */
export type Disposition = 'retry' | 'reject' | 'fatal';

/** Every disposition, in the order the docs list them. */
export const DISPOSITIONS: readonly Disposition[] = ['retry', 'reject', 'fatal'];

/** Plain-data form of an error: what crosses a worker-thread boundary and what the ledger stores. */
export interface ErrorData {
  code: string;
  disposition: Disposition;
  message: string;
  field?: string;
  /** The legacy system's constraint (or trigger) the error names, a name from its schema, never a value. */
  constraint?: string;
  /**
   * The legacy system's own error text (a database message, a screen's
   * message, an answer file's reason), when it gave one: data, since it may
   * quote a citizen's values. Only the record it came from carries it; the
   * ledger never stores it in clear (see {@link storedError}).
   */
  legacyText?: string;
  /** The keyed hash (`piiHash`) of `legacyText`, once the flow took the text out: what the ledger and audit log keep of it. */
  textHash?: string;
}

/** The fields of an {@link ErrorData} the ledger row and the audit log may hold: everything but `legacyText`. */
export const STORED_ERROR_FIELDS = ['code', 'disposition', 'message', 'field', 'constraint', 'textHash'] as const;

/** The stored form of `e`: its {@link STORED_ERROR_FIELDS} that are set, in that order; never `legacyText`. */
export function storedError(e: ErrorData): ErrorData {
  const out: Record<string, unknown> = {};
  for (const k of STORED_ERROR_FIELDS) if (e[k] !== undefined && e[k] !== '') out[k] = e[k];
  return out as unknown as ErrorData;
}

/** One catalogue entry: a stable code, its disposition and two sentences for people. */
export interface ErrorDef {
  /** Stable code, UPPER_SNAKE_CASE, unique across every catalogue. */
  readonly code: string;
  /** What the runner does with it. */
  readonly disposition: Disposition;
  /** One sentence: what it means. */
  readonly means: string;
  /** One sentence: what to do about it. */
  readonly hint: string;
  /** Other dispositions a thrower may give this code, each with a sentence of when. */
  readonly otherwise?: Partial<Record<Disposition, string>>;
}

/** A layer's catalogue: call-site names to entries. */
export type Catalogue = Readonly<Record<string, ErrorDef>>;

const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/**
 * Declares a layer's catalogue. Throws a `TypeError` (at import, so any test
 * of the layer finds it) for a code that is not UPPER_SNAKE_CASE, a code
 * given twice, or an entry without both sentences.
 */
export function defineErrors<const T extends Record<string, ErrorDef>>(entries: T): T {
  const seen = new Set<string>();
  for (const [name, e] of Object.entries(entries)) {
    if (!CODE.test(e.code)) throw new TypeError(`error catalogue: ${name}: code ${JSON.stringify(e.code)} is not UPPER_SNAKE_CASE`);
    if (seen.has(e.code)) throw new TypeError(`error catalogue: code ${e.code} is defined twice`);
    seen.add(e.code);
    if (!e.means.trim() || !e.hint.trim()) throw new TypeError(`error catalogue: ${e.code} needs what it means and what to do`);
  }
  return Object.freeze(entries);
}

/** The codes of a catalogue by call-site name, e.g. `{ MALFORMED_RECORD: 'INPUT_MALFORMED_RECORD' }`. */
export function codesOf<const T extends Catalogue>(catalogue: T): { readonly [K in keyof T]: T[K]['code'] } {
  return Object.freeze(Object.fromEntries(Object.entries(catalogue).map(([k, e]) => [k, e.code]))) as { readonly [K in keyof T]: T[K]['code'] };
}

/** Whether `def` may be given `disposition` (its own or one listed under `otherwise`). */
export function allows(def: ErrorDef, disposition: Disposition): boolean {
  return def.disposition === disposition || def.otherwise?.[disposition] !== undefined;
}

function dispositionFor(def: ErrorDef, wanted: Disposition | undefined): Disposition {
  if (wanted === undefined) return def.disposition;
  if (!allows(def, wanted)) throw new TypeError(`error catalogue: ${def.code} is never ${wanted} (add it under otherwise with when)`);
  return wanted;
}

/** Options of a coded error. */
export interface CodedErrorOptions {
  /** Another disposition the entry lists under `otherwise`. */
  disposition?: Disposition;
  /** Structured, PII-free details (paths, counts) for logs and answers. */
  data?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * Base of every coded error rekey throws: the entry's code, disposition and
 * hint, a PII-free message, and optional data. Throws `TypeError` when
 * given a disposition its entry does not allow (a programming mistake).
 */
export class CodedError extends Error {
  readonly code: string;
  readonly disposition: Disposition;
  readonly hint: string;
  readonly data: Readonly<Record<string, unknown>>;
  constructor(def: ErrorDef, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CodedError';
    this.code = def.code;
    this.disposition = dispositionFor(def, options.disposition);
    this.hint = def.hint;
    this.data = options.data ?? {};
  }

  /** Plain data for logs, the ledger and worker boundaries. */
  toData(): ErrorData {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}

/**
 * The plain-data error of one record (never thrown), with `def`'s
 * disposition or another it allows, and the field it names when known.
 */
export function errorData(def: ErrorDef, message: string, opts: { field?: string | undefined; disposition?: Disposition } = {}): ErrorData {
  const disposition = dispositionFor(def, opts.disposition);
  return opts.field === undefined ? { code: def.code, disposition, message } : { code: def.code, disposition, message, field: opts.field };
}

/** Whether `e` carries a code and a disposition (a coded error, or its plain data after a worker trip). */
export function isCoded(e: unknown): e is { code: string; disposition: Disposition; message: string } {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return typeof x.code === 'string' && typeof x.message === 'string' && DISPOSITIONS.includes(x.disposition as Disposition);
}
