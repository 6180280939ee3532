/** Test helpers that run the built `rekey` CLI as a real process. */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_DATA_KEY } from '../lib/envelope.test-helpers.js';

/** The repository root. */
export const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist/runner/main.js');

/** What a CLI process did. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (`npm run build` first) with `args` in `cwd`, with
 * `env` on top of this process's; its data key is `TEST_DATA_KEY` (the key
 * of `TEST_KEYS`) unless this process or `env` gives another.
 */
export function rekey(args: string[], cwd = root, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd, env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** How a `rekey run` process ended. */
export interface PassExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The PII key the crash tests' runs use. */
export const TEST_PII_KEY_HEX = '00112233445566778899aabbccddeeff';

/**
 * Runs `rekey run --json` as a real child process on `dir/pipeline.yaml`
 * with its state in `dir/state.sqlite`, `args` before the pipeline (e.g.
 * `--workers 0`) and `env` on top of this process's; with `killAfterMs`,
 * sends it SIGKILL after that long. Resolves when it exits.
 */
export function runPipelineProcess(dir: string, opts: { env?: Record<string, string>; args?: string[]; killAfterMs?: number } = {}): Promise<PassExit> {
  return new Promise((resolve) => {
    const args = [main, 'run', '--json', '--state', `sqlite:${join(dir, 'state.sqlite')}`, ...(opts.args ?? []), join(dir, 'pipeline.yaml')];
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
