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
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright';
import type { SealedFileMeta, SealedFiles } from '../connector.types.js';
import { redactTrace } from './browser.trace.js';

/** The path of an evidence file: `name.ext.sealed` in `dir`, the name made safe for a file system. */
export function evidencePath(dir: string, name: string, ext: 'png' | 'trace.zip' | 'dialog.json'): string {
  return join(dir, `${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}.${ext}.sealed`);
}

/** The evidence of submission `key`, for `SealedFiles`. */
export const evidenceOf = (key: string): SealedFileMeta => ({ kind: 'evidence', subject: key });

/** Shows a blank page, so that nothing of the previous form is on screen or in the DOM a trace snapshots. Never throws. */
export async function clearPage(page: Page): Promise<void> {
  if (page.isClosed() || page.url() === 'about:blank') return;
  await page.goto('about:blank', { timeout: 5000 }).catch(() => undefined);
}

/** A running trace of one form: its context, its name, and the browser's folder of trace working files when known. */
export interface FormTrace {
  context: BrowserContext;
  name: string;
  dir?: string;
}

/**
 * Starts a trace of one form (DOM snapshots and network, no screencast) on
 * `context`, signed in and showing a blank page; `dir` is the browser's
 * tracesDir. A trace left running by a failure is stopped first. Resolves
 * to undefined, never throws, when tracing cannot start: the form then
 * goes untraced.
 */
export async function startTrace(context: BrowserContext, dir?: string): Promise<FormTrace | undefined> {
  const name = `rekey-${randomBytes(8).toString('hex')}`;
  const start = () => context.tracing.start({ name, snapshots: true, screenshots: false, sources: false });
  const ok = await start().then(
    () => true,
    () => context.tracing.stop().then(start).then(() => true, () => false),
  );
  return ok ? { context, name, ...(dir !== undefined && { dir }) } : undefined;
}

/**
 * Removes the trace's own working files (its event log with the DOM
 * snapshots, its network log) from the browser's trace folder. The
 * content-addressed resources (page and request bodies) stay until the
 * browser closes: Playwright remembers having written them and would not
 * write them again for a later trace.
 */
async function forget(t: FormTrace): Promise<void> {
  if (!t.dir) return;
  const names = await readdir(t.dir).catch(() => [] as string[]);
  const own = names.filter((n) => n.startsWith(t.name) && (n.endsWith('.trace') || n.endsWith('.network')));
  await Promise.all(own.map((n) => rm(join(t.dir!, n), { force: true })));
}

/** Stops the form's trace (when there is one) and throws it away. Never throws. */
export async function dropTrace(t: FormTrace | undefined): Promise<void> {
  if (!t) return;
  await t.context.tracing.stop().catch(() => undefined);
  await forget(t);
}

/**
 * Stops the form's trace and seals it into `path` under `meta`: Playwright
 * writes the zip into a private temporary folder (mode 0700, outside the
 * evidence folder), its cookies and credential headers are replaced (see
 * browser.trace.ts), it is sealed from memory, and the folder is removed.
 * Rejects when the trace could not be saved or sealed (nothing is left in
 * clear either way).
 */
export async function sealTrace(t: FormTrace, files: SealedFiles, path: string, meta: SealedFileMeta): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'rekey-trace-'));
  try {
    const zip = join(tmp, 'trace.zip');
    await t.context.tracing.stop({ path: zip });
    await files.write(path, redactTrace(await readFile(zip)), meta);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await forget(t);
  }
}

/** Takes a full-page screenshot of `page` as bytes (never a file) and seals it into `path` under `meta`. Rejects when either fails. */
export async function sealScreenshot(page: Page, files: SealedFiles, path: string, meta: SealedFileMeta, timeout?: number): Promise<void> {
  const bytes = await page.screenshot({ fullPage: true, ...(timeout !== undefined && { timeout }) });
  await files.write(path, bytes, meta);
}
