/**
 * A chain of built-in transforms outside a mapping, written as a mapping's
 * `transform:` list (`upper`, `{ replace: { pattern: "\\s+" } }`): used
 * where a connector compares values after the same named transforms (the
 * browser target's read-back `normalise`). No lookups and no user
 * functions: those belong to a mapping.
 */
import { TRANSFORMS } from './index.js';
import type { TransformCtx, TransformEnv, TransformFn } from './transform.types.js';

const NO_ENV: TransformEnv = {
  lookup: () => {
    throw new Error('lookups can only be used in a mapping');
  },
  userFunction: () => {
    throw new Error('user functions can only be used in a mapping');
  },
};
const QUIET: TransformCtx = { note: () => undefined };

/**
 * Builds the chain once; the function it returns applies each step in
 * order and throws the transform's `TransformFailure` for a value it
 * cannot take. Throws an Error naming the step (`[1] replace: ...`) for an
 * unknown transform or arguments it refuses.
 */
export function compileTransformChain(steps: readonly unknown[]): (value: unknown) => unknown {
  const fns: TransformFn[] = steps.map((step, i) => {
    const [name, args] = typeof step === 'string' ? [step, undefined] : step && typeof step === 'object' && Object.keys(step).length === 1 ? Object.entries(step)[0]! : ['', undefined];
    const def = TRANSFORMS.get(name);
    if (!def) throw new Error(`[${i}] ${name ? `unknown transform "${name}"` : 'a transform step is a name (upper) or a single-key mapping ({ truncate: 35 })'}`);
    try {
      return def.create(args as never, NO_ENV);
    } catch (e) {
      throw new Error(`[${i}] ${name}: ${(e as Error).message}`, { cause: e });
    }
  });
  return (value) => fns.reduce((v, fn) => fn(v, QUIET), value);
}
