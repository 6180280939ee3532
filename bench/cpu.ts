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
 * A `/proc/.../stat` line: the command name (between the first `(` and the
 * last `)`, as it may hold either) and the fields after it, from field 3
 * (state) on, so that utime, stime, cutime and cstime (fields 14 to 17)
 * are `fields[11]` to `fields[14]`.
 */
function statFields(stat: string): { name: string; fields: string[] } {
  const close = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

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
    const parsed = statFields(stat);
    if (!parsed.name.startsWith(name)) continue;
    // A connection's process that has exited is counted in its parent's cutime and cstime (the postmaster reaps it).
    const { fields } = parsed;
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

/** One thread's CPU time so far and its time spent ready to run but waiting for a core, in µs, from `schedstat` (ns); without it, the CPU time from `stat` (ticks) and no wait. */
function taskTimesOf(tid: string): { micros: number; waitMicros?: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
    return { micros: Number(run) / 1000, waitMicros: Number(wait) / 1000 };
  } catch {
    try {
      const { fields } = statFields(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
      return { micros: ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND };
    } catch {
      return undefined;
    }
  }
}

interface TaskTimes {
  tid: number;
  name: string;
  micros: number;
  waitMicros?: number;
}

/** This process's threads now: id, name (`comm`), CPU µs so far and, where known, µs spent waiting for a core. */
function taskTimes(): TaskTimes[] {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return [];
  }
  const out: TaskTimes[] = [];
  for (const tid of tids) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const times = taskTimesOf(tid);
    if (times) out.push({ tid: Number(tid), name, ...times });
  }
  return out.sort((a, b) => a.tid - b.tid);
}

/** Per-record figures by thread: CPU µs, and µs ready to run but waiting for a core (where the kernel says). */
export interface ThreadFigures {
  cpu: Record<string, number>;
  waitingForCore?: Record<string, number>;
}

/**
 * Starts a per-thread clock for this process (Linux /proc); the function
 * returned gives, per record since, each thread's CPU µs and the µs it was
 * ready to run but waited for a core (a pass whose threads wait long for a
 * core is bound by CPU). Threads: `main`, each JavaScript worker as
 * `worker 1`, `worker 2`, ... in the order they were started (a thread
 * started during the run counts from its start; one that ended before the
 * reading is missing), V8's helpers (mostly garbage collection) summed as
 * `v8`, libuv's pool as `libuv`, the rest as `other`. Empty where there is
 * no /proc.
 */
export function threadClock(): (records: number) => ThreadFigures {
  const start = new Map(taskTimes().map((t) => [t.tid, t]));
  return (records) => {
    const cpu: Record<string, number> = {};
    const wait: Record<string, number> = {};
    let worker = 0;
    let waits = false;
    for (const t of taskTimes()) {
      const label = t.name === 'MainThread' ? 'main' : t.name === 'WorkerThread' ? `worker ${++worker}` : t.name === 'V8Worker' ? 'v8' : t.name.startsWith('libuv') ? 'libuv' : 'other';
      const before = start.get(t.tid);
      cpu[label] = (cpu[label] ?? 0) + (t.micros - (before?.micros ?? 0)) / records;
      if (t.waitMicros !== undefined) {
        waits = true;
        wait[label] = (wait[label] ?? 0) + (t.waitMicros - (before?.waitMicros ?? 0)) / records;
      }
    }
    const tenths = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
    return waits ? { cpu: tenths(cpu), waitingForCore: tenths(wait) } : { cpu: tenths(cpu) };
  };
}
