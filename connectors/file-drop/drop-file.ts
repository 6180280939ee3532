/**
 * Durable file operations of the drop folder: a data file written under a
 * hidden temporary name in the same folder and published by rename, and
 * small files (manifest, trigger) written the same atomic way. Every
 * publication fsyncs the file before the rename and the folder after it.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConnectorFailure, FileDropErrors } from '../connector.errors.js';
import { encodeText, fileStartBytes, type OutputEncoding } from './formats/encoding.js';

/** The hidden temporary name of `name` while it is written. */
export function tempName(name: string): string {
  return `.${name}.tmp`;
}

/** Flushes a folder's entries (a rename in it) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `bytes` to `dir/name` atomically: temporary file, fsync, rename, fsync of the folder. */
export async function writeAtomic(dir: string, name: string, bytes: Buffer): Promise<void> {
  const tmp = join(dir, tempName(name));
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

const CHUNK = 1 << 20;
const TEXT_CHUNK = 1 << 16;

/**
 * One data file being written under its temporary name. Text is buffered
 * and encoded in chunks of 64 Ki characters; bytes are copied into chunks
 * of 1 MiB; each chunk is written while the next one fills. `finish` writes the tail, puts the
 * final head in place (same length as the start), fsyncs and closes; the
 * caller then publishes it with {@link publishDataFile}.
 */
export class DropFile {
  readonly path: string;
  private fh?: FileHandle;
  private pending: string[] = [];
  private pendingLength = 0;
  /** Bytes waiting to be written; only one of `pending` and `chunk` holds anything at a time, so the order is kept. */
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK);
  private chunkLength = 0;
  private offset = 0;
  private headOffset = 0;
  private headBytes = 0;
  private hash?: Hash;
  /** The write under way, so that encoding the next chunk overlaps it; at most one at a time. */
  private inflight: Promise<void> = Promise.resolve();

  /** `hashAsWritten`: hash while writing (the head will not be replaced); otherwise the file is read back to hash it. */
  constructor(
    readonly dir: string,
    readonly name: string,
    readonly encoding: OutputEncoding,
    hashAsWritten: boolean,
  ) {
    this.path = join(dir, tempName(name));
    if (hashAsWritten) this.hash = createHash('sha256');
  }

  /** Creates the temporary file (replacing a leftover) and writes the start of the file. */
  async open(begin: string): Promise<void> {
    this.fh = await open(this.path, 'w');
    const start = fileStartBytes(this.encoding);
    const head = encodeText(begin, this.encoding);
    this.headOffset = start.length;
    this.headBytes = head.length;
    await this.write(Buffer.concat([start, head]));
  }

  private async write(bytes: Buffer): Promise<void> {
    if (!bytes.length) return;
    this.hash?.update(bytes);
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh!.write(bytes, done, bytes.length - done, this.offset);
      done += bytesWritten;
      this.offset += bytesWritten;
    }
  }

  /** Adds text; written out once about 64 Ki characters are buffered. */
  async append(text: string): Promise<void> {
    if (this.chunkLength) await this.drainBytes();
    this.pending.push(text);
    this.pendingLength += text.length;
    if (this.pendingLength >= TEXT_CHUNK) await this.drain();
  }

  /**
   * Adds bytes, copied at once (the caller may reuse its buffer). Resolves
   * at once (undefined) unless a full chunk had to be handed to the writer
   * first: then the returned promise must be awaited before the next call.
   */
  appendBytes(bytes: Uint8Array): Promise<void> | undefined {
    if (this.pending.length || this.chunkLength + bytes.length > CHUNK) return this.drainThenCopy(bytes);
    this.chunk.set(bytes, this.chunkLength);
    this.chunkLength += bytes.length;
    return undefined;
  }

  private async drainThenCopy(bytes: Uint8Array): Promise<void> {
    await this.drain();
    await this.drainBytes();
    if (bytes.length > CHUNK) {
      await this.inflight;
      await this.write(Buffer.from(bytes));
      return;
    }
    this.chunk.set(bytes, 0);
    this.chunkLength = bytes.length;
  }

  private async drainBytes(): Promise<void> {
    if (!this.chunkLength) return;
    const bytes = this.chunk.subarray(0, this.chunkLength);
    this.chunk = Buffer.allocUnsafe(CHUNK);
    this.chunkLength = 0;
    await this.inflight;
    this.inflight = this.write(bytes);
    this.inflight.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    if (!this.pending.length) return;
    const bytes = encodeText(this.pending.join(''), this.encoding);
    this.pending = [];
    this.pendingLength = 0;
    await this.inflight;
    this.inflight = this.write(bytes);
    this.inflight.catch(() => undefined);
  }

  /** Writes the rest and `tail`, replaces the head with `head` when given (it must encode to the same length), fsyncs, closes; resolves to the size and SHA-256. */
  async finish(tail: string, head?: string): Promise<{ bytes: number; sha256: string }> {
    await this.drain();
    await this.drainBytes();
    await this.inflight;
    await this.write(encodeText(tail, this.encoding));
    if (head !== undefined) {
      const h = encodeText(head, this.encoding);
      if (h.length !== this.headBytes) throw new Error(`${this.name}: the final header is ${h.length} bytes, the placeholder ${this.headBytes}`);
      await this.fh!.write(h, 0, h.length, this.headOffset);
    }
    await this.fh!.sync();
    await this.fh!.close();
    this.fh = undefined;
    const sha256 = this.hash && head === undefined ? this.hash.digest('hex') : await hashFile(this.path);
    return { bytes: this.offset, sha256 };
  }

  /** Closes and deletes the temporary file (a file given up). */
  async abandon(): Promise<void> {
    await this.inflight.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    await rm(this.path, { force: true });
  }
}

/** SHA-256 (hex) of a file's bytes. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Error codes of file systems without hard links (some network shares). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

function refuse(dir: string, name: string): ConnectorFailure {
  return new ConnectorFailure(FileDropErrors.EXISTS, `"${name}" is already in the drop folder ${dir} and is not this run's file: it is never replaced (move it away; check the name template and, if the state store was replaced, the sequence counter)`);
}

/**
 * Puts a finished temporary file in place under its final name, never
 * replacing a file already there: a hard link to the final name (which
 * fails when the name exists), then the temporary name removed, then an
 * fsync of the folder. A final name that is already this file (linked
 * before a crash) completes the move. Where the file system has no hard
 * links, the name is checked and the file renamed. Throws
 * `FILE_DROP_EXISTS` (fatal) when another file has the name.
 */
export async function publishDataFile(dir: string, name: string): Promise<void> {
  const tmp = join(dir, tempName(name));
  const final = join(dir, name);
  try {
    await link(tmp, final);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') {
      const [a, b] = await Promise.all([stat(tmp), stat(final)]);
      if (a.ino !== b.ino || a.dev !== b.dev) throw refuse(dir, name);
    } else if (NO_LINKS.has(code)) {
      if (await stat(final).then(() => true, () => false)) throw refuse(dir, name);
      await rename(tmp, final);
      await fsyncDir(dir);
      return;
    } else throw e;
  }
  await rm(tmp);
  await fsyncDir(dir);
}

/** Throws `FILE_DROP_EXISTS` (fatal) when `dir/name` exists: checked before a file is written under that name. */
export async function assertFree(dir: string, name: string): Promise<void> {
  if (await stat(join(dir, name)).then(() => true, () => false)) throw refuse(dir, name);
}

/** The folder and name of a path, for checks that a name stayed in its folder. */
export function splitPath(path: string): { dir: string; name: string } {
  return { dir: dirname(path), name: basename(path) };
}
