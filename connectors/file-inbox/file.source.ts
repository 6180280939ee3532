/**
 * Source `file`: reads the submissions in a file, or in the files of a
 * folder in name order, through the streaming input readers. It leaves the
 * files where they are; the file inbox (claiming files, moving them to done
 * or quarantine) builds on this class. In `rekey serve` (`Ctx.skipUnchanged`)
 * a file whose size and content hash are those of its last committed full
 * read is skipped with one log line (see `file-reads.ts`).
 */
import { readdir, stat } from 'node:fs/promises';
import type { Dirent, ReadStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ConnectorDef, ConnectorEnv, Ctx, InputFormat, ReadItem, Source, SourceItem } from '../connector.types.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import { formatFromName, readFileRecords, resolveOptions, type ReadOptions } from './readers/index.js';
import { jsonSchema } from '../config.schema.js';
import { DEFAULT_CHUNK_BYTES, fileSourceConfigSchema, type FileSourceConfig } from './file.config.js';
import { ndjsonChunks, refusedChunk, type FileChunk } from './ndjson-chunks.js';
import { namePattern, toSourceItem } from './source-items.js';
import { FileReads, fingerprintOf, readBefore, type FileFingerprint } from './file-reads.js';
import { entryKind, isNotRegularFile, notRegularFile, openRegular, type FileIdentity } from './safe-open.js';
import { readRecords } from './readers/index.js';

export type { FileChunk } from './ndjson-chunks.js';

/** What a source folder holds that matches: regular files to read, and entries refused unopened (links, folders, FIFOs...), each with what it is. */
export interface FolderListing {
  files: string[];
  refused: { path: string; kind: string }[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function unreadable(path: string, e: unknown): ConnectorFailure {
  const code = (e as NodeJS.ErrnoException).code;
  const transient = code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES' && code !== 'EPERM';
  const what = code === 'ENOENT' ? 'does not exist' : `cannot be read: ${code ?? (e as Error).message}`;
  return new ConnectorFailure(ConnectorErrors.SOURCE_UNREADABLE, `source path "${path}" ${what}`, { disposition: transient ? 'retry' : 'fatal', cause: e });
}

/** Reads submissions from `config.path`; see {@link FileSourceConfig}. */
export class FileSource implements Source {
  /** The configured path, resolved against the pipeline file's folder. */
  readonly path: string;
  protected readonly config: FileSourceConfig;
  private readonly matches: (name: string) => boolean;
  /**
   * The worker-thread path, present only when every file this source reads
   * is UTF-8 NDJSON (by `format`, or the name of the file or `pattern`):
   * each file as byte chunks of about `chunkBytes` (default 1 MiB) cut at
   * line ends, each naming the NDJSON chunk parser that workers run on it.
   */
  readonly chunks?: (ctx: Ctx) => AsyncGenerator<FileChunk, void, undefined>;
  private readonly reads = new FileReads();

  /**
   * Checks the read options that do not depend on the files (a throw here is
   * a configuration problem: `ReaderOptionsError`); touches no file. With
   * `opts.chunks: false` the source never offers {@link chunks}.
   */
  constructor(config: FileSourceConfig, env: ConnectorEnv, opts: { chunks?: boolean } = {}) {
    this.config = config;
    this.path = resolve(env.baseDir, config.path);
    const pattern = config.pattern === undefined ? undefined : namePattern(config.pattern);
    this.matches = pattern
      ? (name) => pattern.test(name)
      : (name) => {
          const f = formatFromName(name);
          return f !== undefined && (config.format === undefined || f === config.format);
        };
    const format = config.format ?? formatFromName(config.path);
    if (format !== undefined) resolveOptions({ ...this.readOptions(this.path), format });
    const named = config.format ?? formatFromName(config.pattern ?? config.path);
    if (opts.chunks !== false && named === 'ndjson' && (config.encoding ?? 'utf-8') === 'utf-8' && config.keyBy !== 'position') this.chunks = (ctx) => this.chunkFiles(ctx);
  }

  /**
   * The files to read now: the path itself when it is a file, else the
   * folder's matching regular files (hidden ones left out) in name order.
   * Throws {@link ConnectorFailure} `SOURCE_UNREADABLE` (fatal when the path
   * is missing or forbidden, retry for other I/O errors).
   */
  async files(): Promise<string[]> {
    return (await this.listing()).files;
  }

  /**
   * {@link files}, and the matching entries of the folder that are not
   * regular files (symbolic links, folders, FIFOs, sockets, devices; hidden
   * ones left out), in name order, which are never opened. The configured
   * path itself is the operator's choice and may be a link. Throws as
   * {@link files} does.
   */
  async listing(): Promise<FolderListing> {
    let info;
    try {
      info = await stat(this.path);
    } catch (e) {
      throw unreadable(this.path, e);
    }
    if (!info.isDirectory()) return { files: [this.path], refused: [] };
    let entries: Dirent[];
    try {
      entries = await readdir(this.path, { withFileTypes: true });
    } catch (e) {
      throw unreadable(this.path, e);
    }
    const matching = entries.filter((e) => !e.name.startsWith('.') && this.matches(e.name)).sort((a, b) => byName(a.name, b.name));
    return {
      files: matching.filter((e) => e.isFile()).map((e) => join(this.path, e.name)),
      refused: matching.filter((e) => !e.isFile()).map((e) => ({ path: join(this.path, e.name), kind: entryKind(e) })),
    };
  }

  /** The reader options for one of {@link files}. */
  readOptions(file: string): ReadOptions {
    const c = this.config;
    return {
      file,
      ...(c.format !== undefined && { format: c.format }),
      ...(c.encoding !== undefined && { encoding: c.encoding }),
      ...(c.csv !== undefined && { csv: c.csv }),
      ...(c.xml !== undefined && { xml: c.xml }),
      ...(c.json !== undefined && { json: c.json }),
      ...(c.maxRecordBytes !== undefined && { maxRecordBytes: c.maxRecordBytes }),
    };
  }

  /** The format `file` is read in, or undefined when neither the config nor its name says. */
  formatOf(file: string): InputFormat | undefined {
    return this.config.format ?? formatFromName(file);
  }

  /**
   * Yields every record of every file, in order, located by file, record and
   * line. An unreadable record is an `{ ok: false }` item with the reader's
   * code (disposition `reject`) and reading goes on. Stops between records
   * when `ctx.signal` is aborted. Throws {@link ConnectorFailure} when a file
   * cannot be read, and `ReaderOptionsError` when the options do not
   * fit a file (e.g. XML without `xml.recordPath`).
   */
  async *read(ctx: Ctx): AsyncGenerator<SourceItem, void, undefined> {
    const { files, refused } = await this.listing();
    for (const entry of refused) if (entry.kind !== 'a folder') yield this.refusal(notRegularFile(entry.path, entry.kind), entry.path);
    for (const file of files) {
      if (ctx.signal.aborted) return;
      const fp = await this.toRead(file, ctx);
      if (fp === 'unchanged') continue;
      try {
        yield* this.readFile(file, ctx);
      } catch (e) {
        if (!isNotRegularFile(e)) throw e;
        yield this.refusal(e, file);
        continue;
      }
      if (fp && !ctx.signal.aborted) this.reads.readToEnd(file, fp);
    }
  }

  /** The one unreadable item of an entry refused unopened. */
  private refusal(e: ConnectorFailure, file: string): SourceItem {
    return { ok: false, error: { code: e.code, disposition: 'reject', message: e.message }, at: { file, record: 1 } };
  }

  /**
   * With `ctx.skipUnchanged` and connector state: `unchanged` when `file`
   * has the size and content hash of its last full read (logged once), else
   * its fingerprint, to remember once the read is committed. Without them:
   * undefined (read it, remember nothing).
   */
  private async toRead(file: string, ctx: Ctx): Promise<FileFingerprint | 'unchanged' | undefined> {
    if (!ctx.skipUnchanged || !ctx.state) return undefined;
    let fp: FileFingerprint;
    try {
      fp = await fingerprintOf(file);
    } catch (e) {
      throw unreadable(file, e);
    }
    if (!(await readBefore(ctx.state, file, fp))) return fp;
    ctx.log.info({ file, bytes: fp.size }, 'source file unchanged since its last full read; skipped');
    return 'unchanged';
  }

  /** Remembers the files read to their end in this pass (see {@link toRead}); the flow calls it once their records are all in the ledger. */
  async commit(ctx: Ctx): Promise<void> {
    if (ctx.state) await this.reads.commit(ctx.state);
  }

  /**
   * Yields the records of one file as {@link read} does; locations name the
   * file `label` (default `file`). The file is opened only when it is a
   * regular file (and, with `expect`, the one with that identity), never
   * through a link: else throws `SOURCE_NOT_REGULAR_FILE` before reading
   * (see `openRegular`).
   */
  protected async *readFile(file: string, ctx: Ctx, label = file, expect?: FileIdentity): AsyncGenerator<SourceItem, void, undefined> {
    let records: AsyncGenerator<ReadItem, void, undefined>;
    let stream: ReadStream | undefined;
    if (file === this.path) records = readFileRecords(file, this.readOptions(label));
    else {
      try {
        stream = (await openRegular(file, label, expect)).createReadStream({ highWaterMark: 64 * 1024 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).syscall !== undefined) throw unreadable(file, e);
        throw e;
      }
      records = readRecords(stream, this.readOptions(label));
    }
    // keyBy: position keys a record by where it is: the file's name and content hash, and its line (or record number).
    const place = this.config.keyBy === 'position' ? await this.identityOf(file, label) : undefined;
    try {
      for await (const item of records) {
        const out = toSourceItem(item);
        if (place && out.ok) out.positionKey = `${place}:${item.at.line ?? `#${item.at.record}`}`;
        yield out;
        if (ctx.signal.aborted) return;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).syscall !== undefined) throw unreadable(file, e);
      throw e;
    } finally {
      stream?.destroy();
    }
  }

  /** `name@<first 16 hex of its SHA-256>`: the same file read again has the same identity, another file of that name another. */
  private async identityOf(file: string, label: string): Promise<string> {
    try {
      return `${basename(label)}@${(await fingerprintOf(file)).sha256.slice(0, 16)}`;
    } catch (e) {
      throw unreadable(file, e);
    }
  }

  /**
   * Every file as byte chunks (see {@link chunks}). Throws
   * {@link ConnectorFailure} `SOURCE_NOT_CHUNKABLE` for a UTF-16 file, and
   * `SOURCE_UNREADABLE` as {@link read} does.
   */
  protected async *chunkFiles(ctx: Ctx): AsyncGenerator<FileChunk, void, undefined> {
    const { files, refused } = await this.listing();
    for (const entry of refused) if (entry.kind !== 'a folder') yield refusedChunk(entry.path, notRegularFile(entry.path, entry.kind));
    for (const file of files) {
      if (ctx.signal.aborted) return;
      const fp = await this.toRead(file, ctx);
      if (fp === 'unchanged') continue;
      const opts = {
        chunkBytes: this.config.chunkBytes ?? DEFAULT_CHUNK_BYTES,
        signal: ctx.signal,
        ...(this.config.encoding !== undefined && { encoding: this.config.encoding }),
        ...(this.config.maxRecordBytes !== undefined && { maxRecordBytes: this.config.maxRecordBytes }),
        ...(this.config.json?.maxDepth !== undefined && { maxDepth: this.config.json.maxDepth }),
        ...(file === this.path && { configured: true }),
      };
      try {
        yield* ndjsonChunks(file, opts);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).syscall !== undefined) throw unreadable(file, e);
        throw e;
      }
      if (fp && !ctx.signal.aborted) this.reads.readToEnd(file, fp);
    }
  }

  /** Nothing is held between reads. */
  async close(): Promise<void> {}
}

/** The `file` source's declaration for the registry. */
export const fileSource: ConnectorDef<FileSourceConfig, FileSource> = {
  name: 'file',
  kind: 'source',
  doc: 'Reads JSON, NDJSON, CSV or XML submissions from a file, or from the files of a folder in name order; leaves the files in place.',
  configSchema: jsonSchema(fileSourceConfigSchema),
  create: (config, env) => new FileSource(config, env),
};
