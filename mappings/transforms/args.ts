/**
 * Reading a transform's arguments inside `create`. The loader has already
 * checked them against the JSON Schema; these checks repeat only what a
 * direct caller could get wrong, and every error names the transform and the
 * argument so the loader can report it at the step's position.
 */

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * A transform's arguments as an object, with typed getters that throw a plain
 * `Error` on bad values. Messages name the argument but not the transform:
 * the caller reports them at the step, prefixed with its name.
 */
export class Args {
  private constructor(
    private readonly o: Record<string, unknown>,
    private readonly prefix: string,
  ) {}

  /**
   * Wraps `args`: `undefined` gives no arguments; a non-object becomes
   * `{ [shorthand]: args }` when the transform has a shorthand; keys outside
   * `allowed` are refused. `prefix` qualifies argument names in messages
   * (`values.` for arguments nested under `values`).
   */
  static of(args: unknown, allowed: readonly string[], shorthand?: string, prefix = ''): Args {
    let o: Record<string, unknown>;
    if (args === undefined || args === null) o = {};
    else if (isPlainObject(args)) o = args;
    else if (shorthand !== undefined) o = { [shorthand]: args };
    else throw new Error(`expects an object of arguments (${allowed.map((k) => prefix + k).join(', ')})`);
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) {
        throw new Error(`unknown argument "${prefix}${key}" (expected one of: ${allowed.map((k) => prefix + k).join(', ')})`);
      }
    }
    return new Args(o, prefix);
  }

  /** Throws a plain `Error` saying what is wrong with argument `key`. */
  fail(key: string, problem: string): never {
    throw new Error(`argument "${this.prefix}${key}" ${problem}`);
  }

  /** Throws a plain `Error` that puts argument `key` before a message from elsewhere (a format or zone parser). */
  failWith(key: string, e: unknown): never {
    throw new Error(`argument "${this.prefix}${key}": ${e instanceof Error ? e.message : String(e)}`);
  }

  /** True when argument `key` is given. */
  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  /** Argument `key` as given, unchecked. */
  raw(key: string): unknown {
    return this.o[key];
  }

  /** A string argument; `dflt` when absent, else required. */
  string(key: string, dflt?: string): string {
    const v = this.o[key];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string') this.fail(key, v === undefined ? 'is required' : 'must be a string');
    return v;
  }

  /** A whole-number argument within `min`..`max`; `dflt` when absent, else required. */
  int(key: string, opts: { min?: number; max?: number; dflt?: number } = {}): number {
    const v = this.o[key];
    if (v === undefined && opts.dflt !== undefined) return opts.dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, v === undefined ? 'is required' : 'must be a whole number');
    if (opts.min !== undefined && v < opts.min) this.fail(key, `must be at least ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) this.fail(key, `must be at most ${opts.max}`);
    return v;
  }

  /** A boolean argument, `dflt` when absent. */
  bool(key: string, dflt: boolean): boolean {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(key, 'must be true or false');
    return v;
  }

  /** One of `choices`, `dflt` when absent. */
  choice<T extends string>(key: string, choices: readonly T[], dflt: T): T {
    const v = this.o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      this.fail(key, `must be one of: ${choices.join(', ')}`);
    }
    return v as T;
  }

  /** A string or a list of strings, as a non-empty list. */
  stringList(key: string, dflt?: readonly string[]): string[] {
    const v = this.o[key];
    if (v === undefined && dflt !== undefined) return [...dflt];
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string')) {
      this.fail(key, v === undefined ? 'is required' : 'must be a string or a non-empty list of strings');
    }
    return list as string[];
  }
}

/** Compiles a user regex once, turning a syntax error into a clear argument error. */
export function compileRegex(args: Args, key: string, flags: string): RegExp {
  const source = args.string(key);
  if (!/^[gimsuy]*$/.test(flags) || new Set(flags).size !== flags.length) {
    args.fail('flags', `must be distinct letters among i, m, s, u, y (got "${flags}")`);
  }
  try {
    return new RegExp(source, flags);
  } catch (e) {
    return args.fail(key, `is not a valid regular expression: ${(e as Error).message}`);
  }
}
