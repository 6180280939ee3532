/**
 * CPU clocks for benchmark figures: this process's CPU time (all of its
 * threads) and, when the database server runs on this machine, the CPU time
 * of its processes. On two cores, a run that keeps both busy is bound by
 * the CPU it needs per record, so these say what a rate could become.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Starts a CPU clock for the whole process; the function returned gives µs of CPU per record since. */
export function cpuClock(): (records: number) => number {
  const start = process.cpuUsage();
  return (records) => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / records;
  };
}

/** This thread's CPU time so far, in µs (unlike wall time, not inflated when other processes take the cores). */
export function threadCpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

/** Clock ticks per second of `/proc/<pid>/stat` on Linux. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds used so far by the processes whose command name starts with
 * `name` and by their children that have exited, from /proc; undefined
 * where there is no /proc or no such process.
 */
function processCpuSeconds(name: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  let ticks = 0;
  let found = false;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (!stat.slice(open + 1, close).startsWith(name)) continue;
    // After the command name: state is field 3; utime, stime, cutime and cstime are fields 14 to 17. A
    // connection's process that has exited is counted in its parent's cutime and cstime (the postmaster reaps it).
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    found = true;
  }
  return found ? ticks / TICKS_PER_SECOND : undefined;
}

/**
 * Starts a CPU clock for the local server processes named `name`
 * (`postgres`); the function returned gives their µs of CPU per record
 * since, or undefined when they cannot be seen (no /proc, a remote server).
 * It counts every process of that name, so it is only meaningful when the
 * benchmark is the server's only client.
 */
export function serverCpuClock(name = 'postgres'): (records: number) => number | undefined {
  const start = processCpuSeconds(name);
  return (records) => {
    const now = processCpuSeconds(name);
    return start === undefined || now === undefined ? undefined : ((now - start) * 1e6) / records;
  };
}
