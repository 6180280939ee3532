/**
 * rekey's version comes from its own package.json, found upwards from the
 * code, whatever npm puts in the environment: `npm run` in a deployer's
 * project sets `npm_package_version` to that project's version, and
 * `rekey --version` must not print it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rekey, root } from './cli.test-helpers.js';
import { packageRoot, rekeyVersion } from './package-info.js';

const own = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe("rekey's package", () => {
  const made: string[] = [];
  const folder = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    made.push(d);
    return d;
  };
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('is the package named rekey above the code, past any other package.json on the way', () => {
    const top = folder('rekey-package-');
    writeFileSync(join(top, 'package.json'), JSON.stringify({ name: 'rekey', version: '3.1.4' }));
    const inner = join(top, 'node_modules', 'other', 'lib');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(top, 'node_modules', 'other', 'package.json'), JSON.stringify({ name: 'other', version: '9.9.9' }));
    expect(packageRoot(inner)).toBe(top);
    expect(rekeyVersion(inner)).toBe('3.1.4');
    expect(packageRoot()).toBe(root.replace(/[\\/]$/, ''));
    expect(rekeyVersion()).toBe(own);
  });

  it('is an error where no package.json above names rekey, or it names no version', () => {
    const top = folder('rekey-package-');
    writeFileSync(join(top, 'package.json'), JSON.stringify({ name: 'rekey' }));
    expect(() => rekeyVersion(top)).toThrow(`rekey's package.json above ${top} names no version`);
    const alone = folder('rekey-no-package-');
    // The temporary folder has no package.json above it naming rekey.
    expect(() => packageRoot(alone)).toThrow(`rekey's package.json is not above ${alone}`);
  });

  it('gives `rekey --version`, not the version npm sets for the project that runs it', async () => {
    const r = await rekey(['--version'], tmpdir(), { npm_package_version: '9.9.9-deployers-project' });
    expect(r).toEqual({ code: 0, stdout: `${own}\n`, stderr: '' });
  });
});
