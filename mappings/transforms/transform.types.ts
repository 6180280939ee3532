/**
 * The contract every transform meets. A transform is declared once (name,
 * argument schema, doc) and built once per use in a mapping by `create`,
 * which validates and pre-computes its arguments; the function it returns
 * runs per record and must be pure.
 */

/** Thrown by a transform when a value cannot be turned into what is wanted. */
export class TransformFailure extends Error {
  /** Short stable rule name (`postcode`, `date`, `nino`, ...), reported to the user. */
  readonly rule: string;
  constructor(rule: string, message: string) {
    super(message);
    this.rule = rule;
    this.name = 'TransformFailure';
  }
}

/** Passed to a transform on every call. */
export interface TransformCtx {
  /** Records a deliberate change to the value (for example a transliterated character). */
  note(rule: string, message: string): void;
}

/** What a transform built from its arguments does to one value. */
export type TransformFn = (value: unknown, ctx: TransformCtx) => unknown;

/** Things a transform may need at build time beyond its own arguments. */
export interface TransformEnv {
  /** Code lists by name, each already resolved to a function. */
  lookup(name: string): ((value: unknown, ctx: TransformCtx) => unknown) | undefined;
  /** User functions from the mapping's `functions` module. */
  userFunction(name: string): ((value: unknown, ctx: TransformCtx) => unknown) | undefined;
}

/** The declaration of one transform. */
export interface TransformDef<A = unknown> {
  name: string;
  /** One sentence for the reference page and editor hover. */
  doc: string;
  /** JSON Schema of the arguments; `undefined` means the transform takes none (written as a bare name). */
  args?: Record<string, unknown>;
  /**
   * When true, a transform that has `args` may also be written as a bare name;
   * `create` then receives `undefined` and uses its defaults. The loader skips
   * schema validation of absent arguments for such transforms.
   */
  argsOptional?: boolean;
  /** Example arguments for the reference page (as written in YAML). */
  example?: unknown;
  /**
   * Builds the per-record function. Throws `Error` with a clear message when
   * the arguments are wrong in a way the schema cannot say (a bad regex, an
   * unknown date format token); the loader reports it at the step's position.
   */
  create(args: A, env: TransformEnv): TransformFn;
}
