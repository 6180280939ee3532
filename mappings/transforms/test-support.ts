/**
 * Helpers for the transform tests: build a built-in transform by name and run
 * it on one value, capturing notes or the failure.
 */
import { TRANSFORMS } from './index.js';
import { TransformFailure, type TransformEnv, type TransformFn } from './transform.types.js';

/** An environment with no lookups and no user functions. */
export const EMPTY_ENV: TransformEnv = { lookup: () => undefined, userFunction: () => undefined };

/** Builds the built-in transform `name` with `args`; throws what `create` throws. */
export function build(name: string, args?: unknown, env: TransformEnv = EMPTY_ENV): TransformFn {
  const def = TRANSFORMS.get(name);
  if (def === undefined) throw new Error(`no built-in transform "${name}"`);
  return def.create(args, env);
}

/** Runs transform `name` once on `value` and returns the result and the notes it made. */
export function runWithNotes(name: string, args: unknown, value: unknown): { value: unknown; notes: string[] } {
  const notes: string[] = [];
  const out = build(name, args)(value, { note: (rule, message) => notes.push(`${rule}: ${message}`) });
  return { value: out, notes };
}

/** Runs transform `name` once on `value` and returns the result. */
export function run(name: string, args: unknown, value: unknown): unknown {
  return runWithNotes(name, args, value).value;
}

/** Runs transform `name` on `value`, which must fail; returns the failure's rule and message. */
export function failure(name: string, args: unknown, value: unknown): { rule: string; message: string } {
  try {
    run(name, args, value);
  } catch (e) {
    if (e instanceof TransformFailure) return { rule: e.rule, message: e.message };
    throw e;
  }
  throw new Error(`transform "${name}" accepted ${JSON.stringify(value)}`);
}

/** The message of the plain `Error` that building transform `name` with `args` throws. */
export function argError(name: string, args: unknown, env: TransformEnv = EMPTY_ENV): string {
  try {
    build(name, args, env);
  } catch (e) {
    if (e instanceof TransformFailure || !(e instanceof Error)) throw e;
    return e.message;
  }
  throw new Error(`transform "${name}" accepted arguments ${JSON.stringify(args)}`);
}
