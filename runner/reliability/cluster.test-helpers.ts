/**
 * Several runners on one PostgreSQL state store (issue 22, "Several
 * runners"): `rekey serve` and `rekey run` as real child processes sharing
 * a schema, each with a runner id of its own (its process id).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TEST_DATA_KEY } from '../../lib/envelope.test-helpers.js';
import { root, TEST_PII_KEY_HEX, type PassExit } from '../cli.test-helpers.js';

/** A runner process: its child, everything it wrote, and a promise of its exit. */
export interface RunnerProcess {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<PassExit>;
}

function start(args: string[], cwd: string, env: Record<string, string>): RunnerProcess {
  const child = spawn(process.execPath, [join(root, 'dist/runner/main.js'), ...args], {
    cwd,
    env: { REKEY_DATA_KEY: TEST_DATA_KEY, ...process.env, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_PII_KEY: TEST_PII_KEY_HEX, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<PassExit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** `rekey serve FOLDER --state STATE --port 0` in `cwd`. */
export function serveProcess(cwd: string, folder: string, state: string, env: Record<string, string> = {}): RunnerProcess {
  return start(['serve', folder, '--state', state, '--port', '0'], cwd, env);
}

/** `rekey run --json --state STATE FILE` in `cwd`. */
export function runProcess(cwd: string, file: string, state: string, env: Record<string, string> = {}, args: string[] = []): RunnerProcess {
  return start(['run', '--json', '--state', state, ...args, file], cwd, env);
}
