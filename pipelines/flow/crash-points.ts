/**
 * Named points where the crash tests kill the process (kill -9 semantics),
 * to prove that a restart finishes the work. Inert unless `REKEY_CRASH_AT`
 * names the point: `REKEY_CRASH_AT=after-target-commit` kills at its first
 * hit, `after-target-commit:3` at its third.
 */

/** The points the flow passes. */
export type CrashPoint = 'after-receive' | 'after-delivering' | 'after-target-commit' | 'after-ledger-delivered' | 'file-drop-before-rename';

const spec = process.env.REKEY_CRASH_AT;
const [wanted, nth] = spec ? spec.split(':') : [];
const hitsBeforeCrash = Number(nth ?? 1);
let hits = 0;

/** Kills this process with SIGKILL when `REKEY_CRASH_AT` names `point` and its hit count is reached. */
export function crashPoint(point: CrashPoint): void {
  if (wanted !== point) return;
  hits++;
  if (hits >= hitsBeforeCrash) process.kill(process.pid, 'SIGKILL');
}
