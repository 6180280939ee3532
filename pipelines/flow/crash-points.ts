/**
 * Named points where the crash tests kill the process (kill -9 semantics),
 * to prove that a restart finishes the work. The runner makes one hook per
 * process from `REKEY_CRASH_AT` and hands it to the flow (`PassOptions.crash`),
 * which hands it on to connectors (`Ctx.crash`); nothing reads the
 * environment at a crash point.
 */
import type { CrashPoint } from '../../connectors/connector.types.js';

export type { CrashPoint };

/** Called at each named point; kills the process when its point and hit count are reached. */
export type CrashHook = (point: CrashPoint) => void;

/** The environment variable the runner reads the crash spec from. */
export const CRASH_ENV = 'REKEY_CRASH_AT';

/**
 * The hook `spec` asks for, or undefined when it is empty or unset:
 * `after-target-commit` kills (SIGKILL) at that point's first hit,
 * `after-target-commit:3` at its third. Hits are counted per hook, so
 * make one per process.
 */
export function crashHook(spec: string | undefined): CrashHook | undefined {
  if (!spec) return undefined;
  const [wanted, nth] = spec.split(':');
  const hitsBeforeCrash = Number(nth ?? 1);
  let hits = 0;
  return (point) => {
    if (wanted !== point) return;
    hits++;
    if (hits >= hitsBeforeCrash) process.kill(process.pid, 'SIGKILL');
  };
}
