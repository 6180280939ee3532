/**
 * The two forms of the main test suite. `npm test` runs the bounded form:
 * every kind of test, heavy ones (browser runs, kill -9 points, chaos) with
 * small counts, so the default run stays near ten minutes. `npm run
 * test:long` (REKEY_TESTS=long) runs them at full size: every kill point,
 * hundreds of submissions through the browser.
 */

/** True in the long form of the suite (`REKEY_TESTS=long`). */
export const LONG_TESTS = process.env.REKEY_TESTS === 'long';

/** `bounded` in the default run, `long` in the long form; `override` (an environment variable's value) wins when it is a positive whole number. */
export function sized(bounded: number, long: number, override?: string): number {
  if (override && /^[1-9][0-9]*$/.test(override)) return Number(override);
  return LONG_TESTS ? long : bounded;
}

/**
 * The kill points to run: all of them in the long form; in the bounded
 * form the first of each kind (the name before `:n`), so every kind of
 * moment is still killed at once.
 */
export function killPoints<T extends string | { at: string }>(cases: readonly T[]): T[] {
  if (LONG_TESTS) return [...cases];
  const seen = new Set<string>();
  return cases.filter((c) => {
    const kind = (typeof c === 'string' ? c : c.at).split(':')[0]!;
    if (seen.has(kind)) return false;
    seen.add(kind);
    return true;
  });
}
