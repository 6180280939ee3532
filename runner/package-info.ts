/**
 * rekey's own package: where its package.json is (the source tree or the
 * installed package) and the version it names. Read from the file, never
 * from `npm_package_version`: npm sets that to the version of whichever
 * project runs the script, which is a deployer's own when its `npm run`
 * starts rekey.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  name?: string;
  version?: string;
}

/** The folder and contents of rekey's package.json, found upwards from `from`. */
function findPackage(from: string): { dir: string; json: PackageJson } {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (json.name === 'rekey') return { dir, json };
    }
    if (dirname(dir) === dir) throw new Error(`rekey's package.json is not above ${from}`);
  }
}

const here = () => dirname(fileURLToPath(import.meta.url));

/** The folder of rekey's package.json (the source tree or the installed package), found upwards from `from` (this file's folder). */
export function packageRoot(from = here()): string {
  return findPackage(from).dir;
}

/** The version rekey's package.json names. */
export function rekeyVersion(from = here()): string {
  const { version } = findPackage(from).json;
  if (typeof version !== 'string' || !version) throw new Error(`rekey's package.json above ${from} names no version`);
  return version;
}
