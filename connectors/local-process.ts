/**
 * Whether a process on this host is still running, for taking back the
 * claims and leases of runners that died (kill -9, a lost container).
 */

/**
 * True while process `pid` exists. A process owned by another user (EPERM)
 * counts as alive; a process id reused by another program also reads as
 * alive, so work is at worst taken back late, never from a live runner.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
