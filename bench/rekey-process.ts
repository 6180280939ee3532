/**
 * `rekey run --json` as a real process, for benchmarks that measure a whole
 * runner (several runners at once, a runner's peak memory): fixed keys so
 * runs are comparable (never real ones), a warn-level log, and optionally
 * the process's peak resident memory (VmHWM from /proc, read every 200 ms
 * while it runs; its worker threads are in it).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './mapping.bench.js';

/** A fixed data key, so runs are comparable (never a real one). */
export const BENCH_DATA_KEY = 'b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4';

/** How a `rekey run` process ended; `peakRssBytes` only when asked for. */
export interface RekeyExit {
  code: number | null;
  stdout: string;
  stderr: string;
  peakRssBytes?: number;
}

/** A memory figure of process `pid` from /proc (`VmRSS` now, `VmHWM` its peak so far), in bytes; 0 when the process is gone. */
export function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs `rekey run --json --state STATE DIR/pipeline.yaml [args]` in `dir`; never rejects. */
export function rekeyRun(dir: string, state: string, env: Record<string, string>, opts: { args?: string[]; peakRss?: boolean } = {}): Promise<RekeyExit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'dist/runner/main.js'), 'run', '--json', '--state', state, ...(opts.args ?? []), join(dir, 'pipeline.yaml')], {
      cwd: dir,
      env: { ...process.env, REKEY_DATA_KEY: BENCH_DATA_KEY, REKEY_AUDIT_PII_KEY: '00112233445566778899aabbccddeeff', REKEY_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    const poll = opts.peakRss && child.pid !== undefined ? setInterval(() => (peak = Math.max(peak, procMemory(child.pid!, 'VmHWM'))), 200) : undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      if (poll) clearInterval(poll);
      resolve({ code, stdout, stderr, ...(opts.peakRss && { peakRssBytes: peak }) });
    });
  });
}
