/**
 * What the `file` source remembers of the files it has read to the end:
 * size, modification time and a SHA-256 of the content, one connector
 * state entry per file. A file is unchanged only when its size and content
 * hash are those remembered; the time alone never decides, so a file
 * rewritten in place within the same second is still read.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ConnectorState } from '../connector.types.js';

/** A file as it was when a read of it began. */
export interface FileFingerprint {
  size: number;
  mtimeMs: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** The connector state name under which `file`'s last full read is kept. */
export const fileReadStateName = (file: string): string => `file-read:${file}`;

/** Size, modification time and content hash of `file`, the hash streamed (the file is never held in memory). */
export async function fingerprintOf(file: string): Promise<FileFingerprint> {
  const info = await stat(file);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return { size: info.size, mtimeMs: info.mtimeMs, sha256: hash.digest('hex') };
}

/** Whether `now` has the size and content remembered in `state` for `file`. */
export async function readBefore(state: ConnectorState, file: string, now: FileFingerprint): Promise<boolean> {
  const kept = await state.get(fileReadStateName(file));
  if (kept === undefined) return false;
  try {
    const was = JSON.parse(kept) as Partial<FileFingerprint>;
    return was.size === now.size && was.sha256 === now.sha256;
  } catch {
    return false;
  }
}

/**
 * Files read to their end in this pass, remembered only by {@link commit}:
 * the flow calls the source's commit once every record read is durably in
 * the ledger, so a file cut short by a crash or a stop is read again.
 */
export class FileReads {
  private readonly done = new Map<string, FileFingerprint>();

  /** Notes that `file`, as `fp` says it was before the read began, was read to its end. */
  readToEnd(file: string, fp: FileFingerprint): void {
    this.done.set(file, fp);
  }

  /** Stores every file noted since the last commit in `state`. */
  async commit(state: ConnectorState): Promise<void> {
    for (const [file, fp] of this.done) await state.set(fileReadStateName(file), JSON.stringify(fp));
    this.done.clear();
  }
}
