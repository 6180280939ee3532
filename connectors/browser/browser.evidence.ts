/**
 * Evidence of one submission's form, kept so that it leaks nothing: a
 * screenshot or a Playwright trace is sealed through `ctx.files` (only
 * ciphertext reaches the evidence folder, under names ending `.sealed`),
 * covers one form only (the page is cleared before the form, and each
 * traced form is a trace of its own: Playwright carries a context's network
 * log and resources over from chunk to chunk, so chunks are not used), and
 * never holds a sign-in (a trace starts only once the context is signed
 * in, and is thrown away when the session expires under the form; the
 * session cookie is taken out of it before it is kept). Without `ctx.files`
 * nothing is kept.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright';
import type { SealedFileMeta, SealedFiles } from '../connector.types.js';
import { redactTrace } from './browser.trace.js';

/** The path of an evidence file: `name.ext.sealed` in `dir`, the name made safe for a file system. */
export function evidencePath(dir: string, name: string, ext: 'png' | 'trace.zip'): string {
  return join(dir, `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.${ext}.sealed`);
}

/** The evidence of submission `key`, for `SealedFiles`. */
export const evidenceOf = (key: string): SealedFileMeta => ({ kind: 'evidence', subject: key });

/** Shows a blank page, so that nothing of the previous form is on screen or in the DOM a trace snapshots. Never throws. */
export async function clearPage(page: Page): Promise<void> {
  if (page.isClosed() || page.url() === 'about:blank') return;
  await page.goto('about:blank', { timeout: 5000 }).catch(() => undefined);
}

/**
 * Starts a trace of one form (DOM snapshots and network, no screencast) on
 * `context`, signed in and showing a blank page. A trace left running by a
 * failure is stopped first. Resolves to false, never throws, when tracing
 * cannot start: the form then goes untraced.
 */
export async function startTrace(context: BrowserContext): Promise<boolean> {
  const start = () => context.tracing.start({ snapshots: true, screenshots: false, sources: false });
  return start().then(
    () => true,
    () => context.tracing.stop().then(start).then(() => true, () => false),
  );
}

/** Stops the form's trace (when `traced`) and throws it away. Never throws. */
export async function dropTrace(context: BrowserContext, traced: boolean): Promise<void> {
  if (traced) await context.tracing.stop().catch(() => undefined);
}

/**
 * Stops the form's trace and seals it into `path` under `meta`: Playwright
 * writes the zip into a private temporary folder (mode 0700, outside the
 * evidence folder), its cookies and credential headers are replaced (see
 * browser.trace.ts), it is sealed from memory, and the folder is removed.
 * Rejects when the trace could not be saved or sealed (nothing is left in
 * clear either way).
 */
export async function sealTrace(context: BrowserContext, files: SealedFiles, path: string, meta: SealedFileMeta): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'rekey-trace-'));
  try {
    const zip = join(tmp, 'trace.zip');
    await context.tracing.stop({ path: zip });
    await files.write(path, redactTrace(await readFile(zip)), meta);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Takes a full-page screenshot of `page` as bytes (never a file) and seals it into `path` under `meta`. Rejects when either fails. */
export async function sealScreenshot(page: Page, files: SealedFiles, path: string, meta: SealedFileMeta, timeout?: number): Promise<void> {
  const bytes = await page.screenshot({ fullPage: true, ...(timeout !== undefined && { timeout }) });
  await files.write(path, bytes, meta);
}
