/**
 * Vitest global setup: makes sure the system programs some connector tests
 * run for real are there: a Chromium for the browser target (Debian's
 * chromium-headless-shell, else chromium; no browser download is needed),
 * for the headed recording test a Chromium that can show a window (Debian's
 * chromium) and a virtual display (xvfb), and OpenSSH's sshd for SFTP
 * delivery (Debian's openssh-server). A missing
 * one is installed with apt-get when this runs as root; otherwise, or when
 * installing fails, the tests that need it skip and say why.
 * REKEY_SKIP_SYSTEM_INSTALL=1 installs nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium } from './browser/chromium.js';
import { XVFB } from './browser/display.test-helpers.js';

const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (pkg: string) => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 600_000 }).status === 0;
let updated = false;

/** Installs the first of `choices` that installs (refreshing the package lists once if none does); true on success. */
function install(what: string, choices: string[]): boolean {
  process.stderr.write(`${what}: installing Debian's ${choices.join(' or ')} (apt-get)...\n`);
  if (choices.some(apt)) return true;
  if (!updated) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
    updated = true;
    if (choices.some(apt)) return true;
  }
  process.stderr.write(`${what}: installing failed: those tests will be skipped\n`);
  return false;
}

/** Installs what is missing and allowed; never throws. */
export default function setup(): void {
  const missing: [string, string[]][] = [];
  if (!findChromium()) missing.push(['browser tests (Chromium)', ['chromium-headless-shell', 'chromium']]);
  if (!findChromium(undefined, true)) missing.push(['headed recording test (Chromium with a window)', ['chromium']]);
  if (!process.env.DISPLAY && !existsSync(XVFB)) missing.push(['headed recording test (a virtual display)', ['xvfb']]);
  if (!existsSync('/usr/sbin/sshd')) missing.push(['SFTP tests (sshd)', ['openssh-server']]);
  if (!missing.length || process.env.REKEY_SKIP_SYSTEM_INSTALL) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    for (const [what] of missing) process.stderr.write(`${what}: not installed, and not root with apt-get: those tests will be skipped\n`);
    return;
  }
  for (const [what, choices] of missing) install(what, choices);
}
