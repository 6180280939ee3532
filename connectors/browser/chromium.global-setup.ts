/**
 * Vitest global setup: makes sure a Chromium is there for the browser
 * target's tests. When none is installed and this runs as root with
 * apt-get, installs Debian's chromium-headless-shell (else chromium); no
 * browser download is needed. Otherwise the browser tests skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium } from './chromium.js';

/** Installs Chromium when missing and allowed; never throws. */
export default function setup(): void {
  if (findChromium() || process.env.REKEY_SKIP_CHROMIUM_INSTALL) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    process.stderr.write('browser tests: no Chromium and not root with apt-get: they will be skipped\n');
    return;
  }
  process.stderr.write('browser tests: installing Debian chromium-headless-shell (apt-get)...\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...pkgs: string[]) => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 600_000 }).status === 0;
  if (apt('chromium-headless-shell') || apt('chromium')) return;
  spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  if (!apt('chromium-headless-shell') && !apt('chromium')) process.stderr.write('browser tests: installing Chromium failed: they will be skipped\n');
}
