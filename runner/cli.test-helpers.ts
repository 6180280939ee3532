/** Test helpers that run the built `rekey` CLI: as a real process, or its entry inside the test's process. */
import { execFile, spawn } from 'node:child_process';
import { Console } from 'node:console';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_DATA_KEY } from '../lib/envelope.test-helpers.js';

/** The repository root. */
export const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist/runner/main.js');

/**
 * A port for a `rekey serve` under test: free when asked, and below the
 * range Linux hands out to outgoing connections (32768 and up), where a
 * test's database or HTTP client may already hold a random port. Where the
 * test need not know the port, `--port 0` is simpler still.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (free) return port;
  }
}

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

/** The code `dist/runner/main.js` runs, loaded once into this process by `rekeyInProcess`. */
interface BuiltCli {
  run(argv: string[]): Promise<number>;
  describeError(e: unknown, debug: boolean): string;
}
let built: Promise<BuiltCli> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** Node's own loader (require of an ES module), not the test runner's: dist/ is loaded as `node dist/runner/main.js` loads it, untransformed. */
const nodeRequire = createRequire(import.meta.url);

/** Loads the built CLI once, registering what `main.js` registers at start. */
function loadBuilt(): Promise<BuiltCli> {
  built ??= (async () => {
    const cli = nodeRequire(join(root, 'dist/runner/cli.js')) as BuiltCli;
    const logging = nodeRequire(join(root, 'dist/runner/logging.js')) as typeof import('./logging.js');
    logging.logTransactionFailures(() => logging.createLogger());
    return cli;
  })();
  return built;
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

/**
 * Runs the built CLI's entry (`run` of dist/runner/cli.js, what
 * dist/runner/main.js runs, with its handling of an error that escapes)
 * inside this process, as `rekey` would run in a process of its own: in
 * `cwd`, with the environment `rekey` gives it, standard output and error
 * captured (through their streams and file descriptors 1 and 2, as a
 * pipe: not a terminal), and the exit code main.js would set. Calls run
 * one at a time (cwd and environment belong to the process). For commands
 * whose process boundary is not under test: no signals, no `run`, `serve`
 * or worker threads (pools pass `--pool forks`, which `process.chdir` needs).
 */
export function rekeyInProcess(args: string[], cwd = root, env: Record<string, string> = {}): Promise<Run> {
  const next = queue.then(() => runInProcess(args, cwd, env));
  queue = next.catch(() => undefined);
  return next;
}

async function runInProcess(args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const cli = await loadBuilt();
  const saved = { env: { ...process.env }, cwd: process.cwd(), out: process.stdout.write, err: process.stderr.write, outTty: process.stdout.isTTY, errTty: process.stderr.isTTY, writeSync: fs.writeSync, write: fs.write, console: globalThis.console };
  const outs: Record<1 | 2, Buffer[]> = { 1: [], 2: [] };
  const keep = (fd: 1 | 2, chunk: unknown, encoding?: unknown) =>
    outs[fd].push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array));
  const capture = (fd: 1 | 2): Write => (chunk, encoding, cb) => {
    keep(fd, chunk, encoding);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  const wanted: NodeJS.ProcessEnv = { REKEY_DATA_KEY: TEST_DATA_KEY, ...saved.env, NO_COLOR: '1', ...env };
  for (const k of Object.keys(process.env)) if (!(k in wanted)) delete process.env[k];
  Object.assign(process.env, wanted);
  process.chdir(cwd);
  process.stdout.write = capture(1) as typeof process.stdout.write;
  process.stderr.write = capture(2) as typeof process.stderr.write;
  process.stdout.isTTY = false;
  process.stderr.isTTY = false;
  const sink = (fd: 1 | 2) => new Writable({ write: (chunk: Buffer, _encoding, done) => (keep(fd, chunk), done()) });
  globalThis.console = new Console({ stdout: sink(1), stderr: sink(2), colorMode: false });
  (fs as { writeSync: unknown }).writeSync = (fd: number, chunk: unknown, ...rest: unknown[]) => {
    if (fd !== 1 && fd !== 2) return (saved.writeSync as (...a: unknown[]) => number)(fd, chunk, ...rest);
    keep(fd, chunk, typeof rest[0] === 'string' ? rest[0] : undefined);
    return typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
  };
  (fs as { write: unknown }).write = (fd: number, chunk: unknown, ...rest: unknown[]) => {
    if (fd !== 1 && fd !== 2) return (saved.write as (...a: unknown[]) => void)(fd, chunk, ...rest);
    keep(fd, chunk);
    const cb = rest.at(-1) as (e: null, n: number) => void;
    process.nextTick(() => cb(null, typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength));
  };
  try {
    const code = await cli.run(args).catch((e: unknown) => {
      process.stderr.write(cli.describeError(e, args.includes('--debug')));
      return 1;
    });
    return { code, stdout: Buffer.concat(outs[1]).toString(), stderr: Buffer.concat(outs[2]).toString() };
  } finally {
    globalThis.console = saved.console;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.stdout.isTTY = saved.outTty;
    process.stderr.isTTY = saved.errTty;
    (fs as { writeSync: unknown }).writeSync = saved.writeSync;
    (fs as { write: unknown }).write = saved.write;
    process.chdir(saved.cwd);
    for (const k of Object.keys(process.env)) if (!(k in saved.env)) delete process.env[k];
    Object.assign(process.env, saved.env);
  }
}

/** The commands that run pipelines or stay up: worker threads, signal handlers, a logger of their own. */
const PROCESS_COMMANDS = new Set(['run', 'serve', 'record', 'console']);

/**
 * Runs `rekey args` as `rekey()` does (same arguments, environment and
 * result): `run`, `serve`, `record` and `console` as a process of their
 * own, every other command through `rekeyInProcess`.
 */
export function rekeyCli(args: string[], cwd = root, env: Record<string, string> = {}): Promise<Run> {
  const command = args.find((a) => !a.startsWith('-'));
  return command !== undefined && PROCESS_COMMANDS.has(command) ? rekey(args, cwd, env) : rekeyInProcess(args, cwd, env);
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
