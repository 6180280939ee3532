/**
 * Source `inbox`: a folder that senders drop files into. Each pass claims
 * the files that are complete (renamed into this runner's claim folder, so
 * two runners never take the same file), reads them with the `file`
 * source's readers, and, once every record read is in the ledger, moves each
 * to done (with a report of its bad records beside it, if it had any) or to
 * quarantine (with the reason beside it) when it could not be read at all.
 * Files a crashed runner had claimed are read again by the next pass; the
 * ledger knows the records already recorded by their keys.
 *
 * What is kept in done and quarantine is never the clear file: each is
 * sealed (encrypted under a key of its own, registered in the state store)
 * into `<name>.sealed` through `ctx.files`, and the clear file is removed
 * from the claim folder only once its sealed copy is in place. The clear
 * file lives only in the inbox and, while it is read, in the claim folder.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { ConnectorDef, ConnectorEnv, Ctx, SealedFiles, SourceItem } from '../connector.types.js';
import { isCoded } from '../../lib/errors.js';
import { ConnectorErrors, ConnectorFailure, connectorError } from '../connector.errors.js';
import { parseDuration } from '../../lib/duration.js';
import { FileSource, type FolderListing } from './file.source.js';
import { jsonSchema } from '../config.schema.js';
import { INBOX_DEFAULTS, inboxSourceConfigSchema, type InboxSourceConfig } from './inbox.config.js';
import {
  adoptClaims,
  claimantName,
  claimFile,
  heartbeat,
  isClearCopy,
  isTemporaryName,
  look,
  moveUnopened,
  orphanedClaims,
  releaseReservation,
  reserveSealedName,
  sameLook,
  writeJsonAtomic,
  type FileLook,
} from './inbox.folders.js';
import { FileTally, reportOf } from './inbox.report.js';
import { isNotRegularFile, type FileIdentity } from './safe-open.js';

/** The folders a file moves through, absolute. */
export interface InboxFolders {
  inbox: string;
  processing: string;
  done: string;
  quarantine: string;
  /** This runner's claim folder inside `processing`. */
  claim: string;
}

/** A claimed file: where it is now, the name it had in the inbox, and which file it was when looked at before the claim (when it was). */
interface Claimed {
  path: string;
  name: string;
  identity?: FileIdentity;
}

/** A file read to its end in this pass, waiting for {@link InboxSource.commit}; `refused` when it was not a regular file and was never opened. */
interface ReadFile extends Claimed {
  tally: FileTally;
  refused?: boolean;
}

/** Test and tool knobs that are not configuration. */
export interface InboxOptions {
  /** Tells claimants in one process apart (`<host>~<pid>~<tag>`). */
  claimant?: string;
  /** The clock; default `Date.now`. */
  now?: () => number;
}

const HEARTBEAT_MS = 30_000;

/** In {@link InboxSource}'s ready list: an entry that is not a regular file, taken at once and refused unopened. */
const REFUSED = 'refused';

function durationMs(value: string, name: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConnectorFailure(ConnectorErrors.SOURCE_UNREADABLE, `${name} must be a duration like 2s or 10m, got "${value}"`);
  return ms;
}

/** `ctx.files`, or the fatal failure of running without it: the inbox never keeps a clear copy. */
function sealedFilesOf(ctx: Ctx): SealedFiles {
  if (ctx.files) return ctx.files;
  throw new ConnectorFailure(ConnectorErrors.SEALED_FILES_MISSING, 'the inbox keeps only sealed copies of the files it reads, and was started without the sealed file store (ctx.files)');
}

function inboxFailure(path: string, e: unknown): ConnectorFailure {
  const code = (e as NodeJS.ErrnoException).code;
  const fatal = code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EXDEV';
  const what = code === 'ENOENT' ? 'does not exist' : code === 'EXDEV' ? 'is on another file system than the inbox' : `cannot be used: ${code ?? (e as Error).message}`;
  return new ConnectorFailure(ConnectorErrors.SOURCE_UNREADABLE, `inbox folder "${path}" ${what}`, { disposition: fatal ? 'fatal' : 'retry', cause: e });
}

/** Reads the files dropped in `config.path`; see {@link InboxSourceConfig}. */
export class InboxSource extends FileSource {
  readonly folders: InboxFolders;
  /** Milliseconds a file must be unchanged before it is taken. */
  readonly settleMs: number;
  /** Milliseconds between looks at the folder while serving. */
  readonly pollMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  private finished: ReadFile[] = [];
  private clearCopiesSealed = false;

  /** Checks the options; touches no file (folders are made by the first read). */
  constructor(config: InboxSourceConfig, env: ConnectorEnv, opts: InboxOptions = {}) {
    const { processing, done, quarantine, settle, pollInterval, staleClaim, ...read } = config;
    super(read, env, { chunks: false });
    const inbox = this.path;
    const at = (p: string | undefined, fallback: string) => (p === undefined ? join(inbox, fallback) : resolve(env.baseDir, p));
    const processingDir = at(processing, INBOX_DEFAULTS.processing);
    this.folders = {
      inbox,
      processing: processingDir,
      done: at(done, INBOX_DEFAULTS.done),
      quarantine: at(quarantine, INBOX_DEFAULTS.quarantine),
      claim: join(processingDir, claimantName(opts.claimant)),
    };
    this.settleMs = durationMs(settle ?? INBOX_DEFAULTS.settle, 'settle');
    this.pollMs = Math.max(100, durationMs(pollInterval ?? INBOX_DEFAULTS.pollInterval, 'pollInterval'));
    this.staleMs = durationMs(staleClaim ?? INBOX_DEFAULTS.staleClaim, 'staleClaim');
    this.now = opts.now ?? Date.now;
  }

  /**
   * Reads, in order: the files left in claim folders (this runner's from an
   * earlier pass that did not finish, and those of runners that are gone),
   * then each complete file of the inbox, claimed just before it is read. An
   * unreadable record is yielded as an error item and reading goes on; a
   * file that cannot be read at all yields one error item and the next file
   * is read. Throws {@link ConnectorFailure} `SOURCE_UNREADABLE` only when
   * the inbox's folders cannot be used, and `SEALED_FILES_MISSING` (before
   * claiming anything) when `ctx.files` is not set.
   */
  override async *read(ctx: Ctx): AsyncGenerator<SourceItem, void, undefined> {
    sealedFilesOf(ctx);
    await this.prepare();
    await this.sealClearCopies(ctx);
    for (const claimed of await this.leftovers(ctx)) {
      if (ctx.signal.aborted) return;
      yield* this.readClaimed(claimed, ctx);
    }
    const looks = await this.ready();
    for (const [path, first] of looks) {
      if (ctx.signal.aborted) return;
      const name = basename(path);
      if (first !== REFUSED && !sameLook(first, await look(path))) continue;
      const claimed = await claimFile(path, this.folders.claim, name).catch((e: unknown) => {
        throw inboxFailure(this.folders.processing, e);
      });
      if (claimed === undefined) continue;
      ctx.log.info({ file: name }, 'claimed a file from the inbox');
      yield* this.readClaimed(first === REFUSED ? { path: claimed, name } : { path: claimed, name, identity: first }, ctx);
    }
  }

  /**
   * Seals each file read to its end in this pass into done as
   * `<name>.sealed` (kind `inbox-done`), with `<name>.errors.json` beside it
   * when some records could not be read, or into quarantine (kind
   * `inbox-quarantine`) with `<name>.error.json` when it could not be read
   * at all; a name taken gets a number (`<name-2>.sealed`). The clear file
   * leaves the claim folder only once its sealed copy is in place, so a
   * crash at any point leaves it claimed (read again by the next pass, at
   * worst sealed twice) and never a clear copy in done or quarantine.
   * Called by the flow once everything read is in the ledger. A file that
   * cannot be sealed is logged and stays claimed (the next pass reads it
   * again and the ledger knows its records); commit itself never throws.
   */
  override async commit(ctx: Ctx): Promise<void> {
    const files = this.finished;
    this.finished = [];
    for (const f of files) {
      if (f.refused) {
        await this.quarantineUnopened(f, ctx);
        continue;
      }
      const reason = f.tally.quarantineReason;
      const dir = reason ? this.folders.quarantine : this.folders.done;
      let reserved: string | undefined;
      try {
        const sealed = sealedFilesOf(ctx);
        const { path: moved, stem } = await reserveSealedName(dir, f.name);
        reserved = moved;
        ctx.crash?.('inbox-before-seal');
        await sealed.moveIn(f.path, moved, { kind: reason ? 'inbox-quarantine' : 'inbox-done' });
        reserved = undefined;
        ctx.crash?.('inbox-after-seal');
        const shown = relative(dirname(this.folders.inbox), moved);
        const reportPath = join(dir, stem);
        if (reason) {
          await writeJsonAtomic(`${reportPath}.error.json`, reportOf(f.tally, f.name, shown, new Date(this.now())));
          ctx.log.warn({ file: f.name, movedTo: shown, code: reason.code }, `quarantined a file that could not be read: ${reason.message}`);
        } else {
          if (f.tally.unreadable > 0) await writeJsonAtomic(`${reportPath}.errors.json`, reportOf(f.tally, f.name, shown, new Date(this.now())));
          ctx.log.info({ file: f.name, movedTo: shown, records: f.tally.records, unreadable: f.tally.unreadable }, 'file done');
        }
      } catch (e) {
        if (reserved !== undefined) await releaseReservation(reserved);
        ctx.log.error({ file: f.name, err: e }, 'could not seal a read file out of processing; the next pass reads it again');
      }
    }
  }

  /**
   * Moves an entry that was refused unopened (a link, FIFO, folder...) as it
   * is into quarantine, never sealing it (sealing would read through it),
   * with `<name>.error.json` giving the reason. Logged, never thrown: an
   * entry that cannot be moved stays claimed and is refused again next pass.
   */
  private async quarantineUnopened(f: ReadFile, ctx: Ctx): Promise<void> {
    const reason = f.tally.quarantineReason;
    try {
      const moved = await moveUnopened(f.path, this.folders.quarantine, f.name);
      const shown = relative(dirname(this.folders.inbox), moved);
      await writeJsonAtomic(`${moved}.error.json`, reportOf(f.tally, f.name, shown, new Date(this.now())));
      ctx.log.warn({ file: f.name, movedTo: shown, code: reason?.code }, `quarantined, unopened, an inbox entry that is not a regular file: ${reason?.message ?? ''}`);
    } catch (e) {
      ctx.log.error({ file: f.name, err: e }, 'could not move an entry that is not a regular file out of processing; the next pass refuses it again');
    }
  }

  /**
   * Whether a pass would find work now: a file left claimed, or an inbox file
   * complete enough to take. `wait` is how long until a file still settling
   * may be ready (undefined when none is settling).
   */
  async pending(): Promise<{ ready: boolean; wait?: number }> {
    await this.prepare();
    const own = await readdir(this.folders.claim).catch(() => []);
    if (own.length > 0 || (await orphanedClaims(this.folders.processing, basename(this.folders.claim), this.staleMs, this.now())).length > 0) return { ready: true };
    let wait: number | undefined;
    const ready = await this.ready((ms) => (wait = Math.min(wait ?? ms, ms)));
    return ready.size > 0 ? { ready: true } : wait === undefined ? { ready: false } : { ready: false, wait };
  }

  /**
   * While `ctx.signal` is not aborted, calls `wake` when a pass would find
   * work: looked for every `pollInterval`, at once when the file system
   * reports a change in the inbox, and when a settling file should be ready.
   */
  watch(ctx: Ctx, wake: () => void): void {
    let busy = false;
    let again: NodeJS.Timeout | undefined;
    const check = async () => {
      if (busy || ctx.signal.aborted) return;
      busy = true;
      try {
        const p = await this.pending();
        if (p.ready) wake();
        else if (p.wait !== undefined) {
          clearTimeout(again);
          again = setTimeout(() => void check(), p.wait + 50);
        }
      } catch (e) {
        ctx.log.error({ err: e, inbox: this.folders.inbox }, 'cannot look at the inbox');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void check(), this.pollMs);
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(this.folders.inbox, { persistent: false }, () => {
        clearTimeout(again);
        again = setTimeout(() => void check(), 200);
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined;
    }
    ctx.signal.addEventListener('abort', () => {
      clearInterval(timer);
      clearTimeout(again);
      watcher?.close();
    });
    void check();
  }

  private async prepare(): Promise<void> {
    const { inbox, claim, done, quarantine } = this.folders;
    const info = await look(inbox).catch(() => undefined);
    if (info) throw inboxFailure(inbox, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
    for (const dir of [inbox, claim, done, quarantine]) {
      await mkdir(dir, { recursive: true }).catch((e: unknown) => {
        throw inboxFailure(dir, e);
      });
    }
  }

  /**
   * Once per source: seals the clear files an earlier version of rekey left
   * in done and quarantine (`<name>` becomes `<name>.sealed`, its report
   * keeping its name), so that those folders hold ciphertext only after an
   * upgrade too. A file that cannot be sealed is logged and left as it is.
   */
  private async sealClearCopies(ctx: Ctx): Promise<void> {
    if (this.clearCopiesSealed) return;
    const files = sealedFilesOf(ctx);
    const folders = [
      [this.folders.done, 'inbox-done'],
      [this.folders.quarantine, 'inbox-quarantine'],
    ] as const;
    for (const [dir, kind] of folders) {
      const entries = await readdir(dir, { withFileTypes: true }).catch((e: unknown) => {
        throw inboxFailure(dir, e);
      });
      let sealed = 0;
      for (const name of entries.filter((e) => e.isFile() && isClearCopy(e.name)).map((e) => e.name).sort()) {
        const src = join(dir, name);
        let reserved: string | undefined;
        try {
          reserved = (await reserveSealedName(dir, name, src)).path;
          await files.moveIn(src, reserved, { kind });
          reserved = undefined;
          sealed++;
        } catch (e) {
          if (reserved !== undefined) await releaseReservation(reserved);
          ctx.log.error({ file: name, folder: dir, err: e }, 'could not seal a file an earlier version of rekey left in clear');
        }
      }
      if (sealed > 0) ctx.log.warn({ folder: dir, files: sealed }, 'sealed the files an earlier version of rekey had left in clear');
    }
    this.clearCopiesSealed = true;
  }

  /** This runner's claimed files, then those of runners that are gone (moved into this runner's claim folder). */
  private async leftovers(ctx: Ctx): Promise<Claimed[]> {
    const { processing, claim } = this.folders;
    for (const orphan of await orphanedClaims(processing, basename(claim), this.staleMs, this.now())) {
      const adopted = await adoptClaims(orphan, claim);
      if (adopted.length) ctx.log.warn({ from: basename(orphan), files: adopted.map((p) => basename(p)) }, 'took over files claimed by a runner that is gone');
    }
    const names = (await readdir(claim)).sort();
    if (names.length) ctx.log.info({ files: names }, 'reading files left claimed by an unfinished pass');
    return names.map((name) => ({ path: join(claim, name), name }));
  }

  /**
   * The inbox files that may be taken, in name order, with the look that
   * judged them: not named as temporary, and unchanged for `settle`; then
   * the matching entries that are not regular files (links, FIFOs,
   * folders other than the inbox's own), {@link REFUSED}, to be claimed and
   * quarantined unopened. Calls `settling` with the wait for each file that
   * is not yet.
   */
  private async ready(settling?: (waitMs: number) => void): Promise<Map<string, FileLook | typeof REFUSED>> {
    let listing: FolderListing;
    try {
      listing = await this.listing();
    } catch (e) {
      throw e instanceof ConnectorFailure ? e : inboxFailure(this.folders.inbox, e);
    }
    const { files } = listing;
    const own = new Set([this.folders.processing, this.folders.done, this.folders.quarantine]);
    const out = new Map<string, FileLook | typeof REFUSED>();
    for (const path of files) {
      if (isTemporaryName(basename(path))) continue;
      const first = await look(path);
      if (!first) continue;
      const age = this.now() - first.mtimeMs;
      if (age >= this.settleMs) out.set(path, first);
      else settling?.(this.settleMs - Math.max(0, age));
    }
    for (const { path } of listing.refused) if (!own.has(path) && !isTemporaryName(basename(path))) out.set(path, REFUSED);
    return out;
  }

  private async *readClaimed(claimed: Claimed, ctx: Ctx): AsyncGenerator<SourceItem, void, undefined> {
    const tally = new FileTally();
    const label = join(this.folders.inbox, claimed.name);
    let refused = false;
    await heartbeat(this.folders.claim);
    let beat = this.now();
    try {
      for await (const item of this.readFile(claimed.path, ctx, label, claimed.identity)) {
        tally.see(item);
        yield item;
        if ((tally.records & 0x3ff) === 0 && this.now() - beat > HEARTBEAT_MS) {
          beat = this.now();
          await heartbeat(this.folders.claim);
        }
      }
    } catch (e) {
      const error = isCoded(e) ? { code: e.code, disposition: 'reject' as const, message: e.message } : connectorError(ConnectorErrors.SOURCE_UNREADABLE, (e as Error).message, undefined, 'reject');
      refused = isNotRegularFile(e);
      tally.fail(error);
      yield { ok: false, error, at: { file: label, record: tally.records + tally.unreadable + 1 } };
    }
    if (ctx.signal.aborted) return;
    this.finished.push({ ...claimed, tally, ...(refused && { refused }) });
  }
}

/** The `inbox` source's declaration for the registry. */
export const inboxSource: ConnectorDef<InboxSourceConfig, InboxSource> = {
  name: 'inbox',
  kind: 'source',
  doc: 'Watches a folder that senders drop JSON, NDJSON, CSV or XML files into: claims each complete file, reads it, then seals it (encrypted) into done (with a report of bad records) or into quarantine (with the reason).',
  configSchema: jsonSchema(inboxSourceConfigSchema),
  create: (config, env) => new InboxSource(config, env),
};
