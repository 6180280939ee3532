/**
 * Which Chromium to run: a configured path, else Playwright's own download
 * where one is installed, else Debian's chromium-headless-shell (faster
 * per form; headless only), else Debian's full chromium. Launch flags fit
 * running as root and offline.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserType } from 'playwright';
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';

/** Playwright's Chromium, loaded on first use: loading Playwright takes about half a second, which every `rekey` command paid before, browser target or not. */
const load = createRequire(import.meta.url);
function chromium(): BrowserType {
  return (load('playwright') as typeof import('playwright')).chromium;
}

/** Debian's Chromium binaries, in order of preference. */
export const SYSTEM_CHROMIUMS = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'] as const;

/** Debian's Chromium that can open a window: the headless shell cannot. */
export const SYSTEM_CHROMIUM_WITH_WINDOW = '/usr/bin/chromium';

/** The Chromium executable to use, or undefined when none is installed; `headed`: one that can show a window (never the headless shell). */
export function findChromium(configured?: string, headed = false): string | undefined {
  if (configured) return configured;
  try {
    const own = chromium().executablePath();
    if (own && existsSync(own)) return own;
  } catch {
    /* Playwright has no browser of its own here */
  }
  return SYSTEM_CHROMIUMS.find((p) => existsSync(p) && (!headed || p === SYSTEM_CHROMIUM_WITH_WINDOW));
}

/** Flags for a headless Chromium as root, offline, with no background traffic. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/**
 * Launches headless Chromium; throws `BROWSER_LAUNCH` (fatal) when there is
 * none or it will not start. `tracesDir`: where Playwright keeps the
 * working files of traces (the caller removes it; by default a folder of
 * Playwright's own, removed when the browser closes).
 */
export async function launchChromium(configured?: string, tracesDir?: string): Promise<Browser> {
  const executablePath = findChromium(configured);
  if (!executablePath) throw new ConnectorFailure(BrowserErrors.LAUNCH, `no Chromium found: install Debian's chromium-headless-shell or chromium, or set executablePath (looked in ${SYSTEM_CHROMIUMS.join(', ')})`);
  try {
    return await chromium().launch({ executablePath, headless: true, args: CHROMIUM_ARGS, ...(tracesDir !== undefined && { tracesDir }) });
  } catch (e) {
    throw new ConnectorFailure(BrowserErrors.LAUNCH, `Chromium at ${executablePath} did not start: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}
