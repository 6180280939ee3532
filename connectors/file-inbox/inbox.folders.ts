/**
 * The file inbox's moves between its folders: claiming a file by rename,
 * moving without overwriting, reserving the name of a sealed copy,
 * writing reports atomically, telling
 * temporary and still-changing files apart, and finding the claims of
 * runners that are gone. Every function here touches the file system and
 * nothing else.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, open, readdir, rename, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { processAlive } from '../local-process.js';
import { extname, join } from 'node:path';
import type { Stats } from 'node:fs';

const TEMPORARY_EXTENSIONS = new Set(['.tmp', '.temp', '.part', '.partial', '.crdownload', '.filepart', '.download', '.swp']);

/**
 * Whether `name` is a file still being written by its sender, by the
 * conventions of common tools: a leading dot (rsync, many editors), a `~`
 * suffix, or the extension `.tmp`, `.temp`, `.part`, `.partial`,
 * `.crdownload`, `.filepart` (WinSCP), `.download` or `.swp` (any case).
 */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('~') || TEMPORARY_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Size and modification time, the two things that show a file is still being written, and the device and inode that say which file it is. */
export interface FileLook {
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
}

/** A look at `path` (never through a link), or undefined when it is gone or not a regular file. Other errors are thrown. */
export async function look(path: string): Promise<FileLook | undefined> {
  let s: Stats;
  try {
    s = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs, dev: s.dev, ino: s.ino } : undefined;
}

/** Whether two looks see the same file with the same size and modification time. */
export function sameLook(a: FileLook, b: FileLook | undefined): boolean {
  return b !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

/** `name` with `-n` before its extension (`a.csv`, `a-2.csv`, `a-3.csv`, ...). */
export function numberedName(name: string, n: number): string {
  if (n <= 1) return name;
  const ext = extname(name);
  return ext === '' || ext === name ? `${name}-${n}` : `${name.slice(0, -ext.length)}-${n}${ext}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Moves `src` into `dir` under `name`, or the first free `numberedName`,
 * never replacing a file there; resolves to the new path. On file systems
 * with hard links the name is taken atomically (link, then unlink the
 * source); elsewhere it is checked, then renamed. Throws the file system's
 * error (ENOENT when `src` is gone, EXDEV when `dir` is on another file
 * system).
 */
export async function moveNoClobber(src: string, dir: string, name: string): Promise<string> {
  for (let n = 1; ; n++) {
    const dst = join(dir, numberedName(name, n));
    try {
      await link(src, dst);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') continue;
      if (!NO_HARD_LINKS.has(code)) throw e;
      if (await exists(dst)) continue;
      await rename(src, dst);
      return dst;
    }
    await unlink(src);
    return dst;
  }
}

/** The ending of every file the inbox keeps in done and quarantine: a sealed (encrypted) copy of the file read. */
export const SEALED_SUFFIX = '.sealed';

/** Whether a file from before sealing, or a report, already has `stem` in `dir`. */
async function takenStem(dir: string, stem: string): Promise<boolean> {
  for (const name of [stem, `${stem}.errors.json`, `${stem}.error.json`]) if (await exists(join(dir, name))) return true;
  return false;
}

/**
 * Reserves in `dir` the first `<numberedName(name, n)>.sealed` that is
 * free, and whose stem no report and no file from before sealing has
 * (unless `src` is that clear file, about to be sealed there), by
 * creating it empty with O_EXCL: two runners never seal into one name,
 * and a sealed file is never replaced (its key would be). Resolves to the
 * path and its stem, the name the file's report takes
 * (`<stem>.errors.json`). The sealed file is later renamed over the empty
 * one; an empty one left by a crash holds nothing.
 */
export async function reserveSealedName(dir: string, name: string, src?: string): Promise<{ path: string; stem: string }> {
  for (let n = 1; ; n++) {
    const stem = numberedName(name, n);
    const path = join(dir, stem + SEALED_SUFFIX);
    if (join(dir, stem) !== src && (await takenStem(dir, stem))) continue;
    try {
      await (await open(path, 'wx', 0o600)).close();
      return { path, stem };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
  }
}

/**
 * Whether `name`, in done or quarantine, is a clear copy an earlier version
 * of rekey kept there: not sealed, not a report, not a temporary file.
 */
export function isClearCopy(name: string): boolean {
  return !name.endsWith(SEALED_SUFFIX) && !name.endsWith('.errors.json') && !name.endsWith('.error.json') && !isTemporaryName(name);
}

/**
 * Moves the entry `src` (a link, FIFO, folder: anything that was refused
 * unopened) as it is into `dir` under `name` or the first `numberedName`
 * whose stem no sealed file, report or other entry has, never replacing
 * anything; never opens it or follows it. Resolves to the new path.
 */
export async function moveUnopened(src: string, dir: string, name: string): Promise<string> {
  for (let n = 1; ; n++) {
    const stem = numberedName(name, n);
    const dst = join(dir, stem);
    if ((await takenStem(dir, stem)) || (await exists(dst + SEALED_SUFFIX))) continue;
    try {
      await link(src, dst);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') continue;
      if (!NO_HARD_LINKS.has(code)) throw e;
      await rename(src, dst);
      return dst;
    }
    await unlink(src);
    return dst;
  }
}

/** Removes the reservation at `path` when it is still empty (the sealing failed before its file was put in place). */
export async function releaseReservation(path: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (s?.isFile() && s.size === 0) await unlink(path).catch(() => undefined);
}

/**
 * Claims `src` by renaming it into this runner's claim folder `own` (same
 * file system, so the rename is atomic) under `name` or the first free
 * `numberedName`. Resolves to the claimed path, or undefined when another
 * runner took the file first (ENOENT). Only this runner writes to `own`, so
 * checking for a free name first is safe.
 */
export async function claimFile(src: string, own: string, name: string): Promise<string | undefined> {
  for (let n = 1; ; n++) {
    const dst = join(own, numberedName(name, n));
    if (await exists(dst)) continue;
    try {
      await rename(src, dst);
      return dst;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}

/** Writes `value` as JSON to `path` atomically: a temporary file beside it, fsync, rename. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/**
 * This runner's claim folder name: `<host>~<pid>`, and `~<tag>` after it
 * when one process runs several claimants (tests).
 */
export function claimantName(tag?: string): string {
  return tag === undefined ? `${hostname()}~${process.pid}` : `${hostname()}~${process.pid}~${tag}`;
}


/**
 * The claim folders in `processing` whose runner is gone: on this host, a
 * process id that no longer runs; on another host, a folder untouched (see
 * {@link heartbeat}) for `staleMs`. `own` is never among them.
 */
export async function orphanedClaims(processing: string, own: string, staleMs: number, now = Date.now()): Promise<string[]> {
  const entries = await readdir(processing, { withFileTypes: true });
  const here = hostname();
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name === own) continue;
    const [host, pidText] = e.name.split('~');
    const pid = Number(pidText);
    const path = join(processing, e.name);
    if (host === here && Number.isInteger(pid) && pid > 0) {
      if (!processAlive(pid)) out.push(path);
    } else {
      const s = await stat(path).catch(() => undefined);
      if (s && now - s.mtimeMs >= staleMs) out.push(path);
    }
  }
  return out.sort();
}

/**
 * Moves the files of an orphaned claim folder into `own`, each under a free
 * name; a file another runner moved first is skipped. Resolves to the new
 * paths. The emptied folder is removed.
 */
export async function adoptClaims(orphan: string, own: string): Promise<string[]> {
  const names = (await readdir(orphan).catch(() => [] as string[])).sort();
  const out: string[] = [];
  for (const name of names) {
    try {
      out.push(await moveNoClobber(join(orphan, name), own, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  await rmdir(orphan).catch(() => undefined);
  return out;
}

/** Marks this runner's claim folder as in use now, so runners on other hosts leave its files alone. */
export async function heartbeat(claimDir: string): Promise<void> {
  const now = new Date();
  await utimes(claimDir, now, now).catch(() => undefined);
}
