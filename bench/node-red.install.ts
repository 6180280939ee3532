/**
 * Node-RED for the peer benchmark, installed on demand into a folder git
 * ignores (never a dependency of rekey), with the npm on PATH run by the
 * Node.js that runs the benchmark; sqlite3 is built from source there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { delimiter, dirname, join } from 'node:path';

/** The Node-RED release the benchmark was measured with. */
export const NODE_RED_VERSION = '4.1.15';
/** The node-red-node-sqlite release the benchmark was measured with (it brings sqlite3 ^5.1.7). */
export const NODE_RED_SQLITE_VERSION = '1.1.1';

/** A usable install: Node-RED's start script and the folder it lives in. */
export interface NodeRedInstall {
  dir: string;
  redJs: string;
}

function installedVersion(dir: string, name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Why the install in `dir` cannot be used as it is, or undefined when it can (both pinned versions, and a sqlite3 that loads). */
function unusable(dir: string): string | undefined {
  for (const [name, want] of [
    ['node-red', NODE_RED_VERSION],
    ['node-red-node-sqlite', NODE_RED_SQLITE_VERSION],
  ] as const) {
    const got = installedVersion(dir, name);
    if (got !== want) return `${name} ${got ?? 'not installed'} (want ${want})`;
  }
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(dir, 'node_modules', 'sqlite3'))})`], { encoding: 'utf8' });
  if (probe.status !== 0) return `sqlite3 does not load: ${probe.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return undefined;
}

/** The environment npm runs in: this Node.js first on PATH, its headers for node-gyp, no prebuilt download attempted. */
function npmEnv(): NodeJS.ProcessEnv {
  const bin = dirname(process.execPath);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, npm_config_build_from_source: 'true' };
  const home = dirname(bin);
  if (existsSync(join(home, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = home;
  return env;
}

/**
 * Node-RED `NODE_RED_VERSION` with node-red-node-sqlite
 * `NODE_RED_SQLITE_VERSION` in `dir`: reused when both are there at those
 * versions and sqlite3 loads, else installed with `npm install --prefix`
 * (output in `dir`/install.log). Resolves to the install, or to a string
 * saying why there is none (offline, no compiler...); never throws for a
 * failed install.
 */
export async function ensureNodeRed(dir: string, log: (line: string) => void): Promise<NodeRedInstall | string> {
  const found = { dir, redJs: join(dir, 'node_modules', 'node-red', 'red.js') };
  const before = unusable(dir);
  if (!before) return found;
  log(`node-red bench: installing Node-RED ${NODE_RED_VERSION} and node-red-node-sqlite ${NODE_RED_SQLITE_VERSION} into ${dir} (${before}); a few minutes, sqlite3 builds from source`);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'install.log');
  const out = createWriteStream(logFile);
  const args = ['install', '--prefix', dir, '--no-audit', '--no-fund', '--save-exact', `node-red@${NODE_RED_VERSION}`, `node-red-node-sqlite@${NODE_RED_SQLITE_VERSION}`];
  const child = spawn('npm', args, { cwd: dir, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const timer = setTimeout(() => child.kill('SIGTERM'), 20 * 60_000);
  const [code, signal] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([e]) => [String(e), null])])) as [number | string | null, string | null];
  clearTimeout(timer);
  out.end();
  await once(out, 'finish');
  if (code !== 0) return `npm install failed (${typeof code === 'string' ? code : signal ? `signal ${signal}` : `exit ${code}`}); see ${logFile}`;
  const after = unusable(dir);
  return after ? `installed, but not usable: ${after}; see ${logFile}` : found;
}
