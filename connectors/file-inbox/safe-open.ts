/**
 * Opening a file a sender dropped, so that what is read is the regular
 * file that was looked at and nothing else: never through a symbolic link
 * (which could point anywhere rekey may read), never a FIFO (which would
 * block the pass), a folder, a socket or a device; and, when the file was
 * looked at before it was claimed, the same file (a swap between the look
 * and the open is caught by its inode). Touches the file system only.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';

/** The device and inode of a file as it was looked at: the same numbers at open mean the same file. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

const NO_FOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** What an entry that is not a regular file is, for messages: `a symbolic link`, `a folder`, `a FIFO`... */
export function entryKind(s: Pick<Stats, 'isSymbolicLink' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice'>): string {
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isBlockDevice() || s.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * The `reject` failure of a source entry that is not a regular file:
 * `SOURCE_NOT_REGULAR_FILE`, naming the entry by `label` and what it is.
 */
export function notRegularFile(label: string, what: string): ConnectorFailure {
  return new ConnectorFailure(ConnectorErrors.SOURCE_NOT_REGULAR_FILE, `${label} is ${what}, not a regular file; it was not opened`, { disposition: 'reject' });
}

/** Whether `e` is the failure {@link notRegularFile} makes. */
export function isNotRegularFile(e: unknown): e is ConnectorFailure {
  return e instanceof ConnectorFailure && e.code === ConnectorErrors.SOURCE_NOT_REGULAR_FILE.code;
}

/**
 * Opens `path` for reading when it is a regular file: looked at without
 * following links, opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO
 * swapped in cannot block), then the open handle's own stat checked to be
 * a regular file with the inode looked at, and with `expect`'s when given
 * (the look before a claim's rename). Throws {@link notRegularFile} (naming
 * `label`) for anything else, before any byte is read; other file system
 * errors (ENOENT, EACCES) are thrown as they are.
 */
export async function openRegular(path: string, label: string, expect?: FileIdentity): Promise<FileHandle> {
  const before = await lstat(path);
  if (!before.isFile()) throw notRegularFile(label, entryKind(before));
  const replaced = () => notRegularFile(label, 'a file replaced between the look at it and its opening');
  if (expect && (before.ino !== expect.ino || before.dev !== expect.dev)) throw replaced();
  let fh: FileHandle;
  try {
    fh = await open(path, NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'ENOTDIR') throw replaced();
    throw e;
  }
  try {
    const now = await fh.stat();
    if (!now.isFile()) throw notRegularFile(label, entryKind(now));
    if (now.ino !== before.ino || now.dev !== before.dev) throw replaced();
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}
