/**
 * Target `file-drop`: writes mapped records into files in a drop folder
 * (CSV, fixed-width, XML; see formats/), each file written under a hidden
 * temporary name, fsynced, then renamed into place, with an optional
 * manifest and trigger file after it. A record written into a file that is
 * not in place yet is answered `held`; `flush` (end of pass) or the
 * rotation rule puts the file in place and answers `delivered` with the
 * file name and record number as the legacy reference. The journal (see
 * journal.ts) in the connector state makes this exactly once across
 * crashes.
 */
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import type { AnswerSet, ConnectorDef, ConnectorEnv, ConnectorState, Ctx, MappedRecord, Outcome, Target, TargetIdentity } from '../connector.types.js';
import { displayPath } from '../target-identity.js';
import { readAnswers } from './ack/ack.reader.js';
import { ackNameFor, type Reconciliation } from './ack/ack.reconcile.js';
import { answerSet } from './ack/ack.answers.js';
import { assertFree, DropFile, publishDataFile, splitPath, tempName, writeAtomic } from './drop-file.js';
import { jsonSchema } from '../config.schema.js';
import { FILE_DROP_DEFAULTS, fileDropConfigSchema, rotateMs, type FileDropConfig } from './file-drop.config.js';
import { ConnectorFailure, FileDropErrors } from '../connector.errors.js';
import { fileFormat, totalText, type FileFacts, type FileFormat, type FileTotals } from './formats/index.js';
import { addToTotals } from './formats/render.js';
import { entryName, freeSeq, keysName, loadEntries, loadKeys, moveKeys, openEntry, ownerMayBeAlive, recordCount, saveEntry, saveKeys, takeSeq, type JournalEntry } from './journal.js';
import { PublishedKeys } from './published-keys.js';
import { uploadAll } from './sftp.upload.js';
import { compileNameTemplate, renderName, type NameTemplate } from './name-template.js';

interface OpenFile {
  file: DropFile;
  facts: FileFacts;
  entry: JournalEntry;
  keys: string[];
  totals: FileTotals;
  openedMs: number;
  /** Past `open`: finished and journalled; never deleted from the journal from here on. */
  pending: boolean;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Delivers to files in a drop folder; see {@link FileDropConfig}. */
export class FileDropTarget implements Target {
  /** The drop folder, resolved against the pipeline file's folder. */
  readonly folder: string;
  private readonly format: FileFormat & { readonly maxRecords?: number | undefined };
  private readonly template: NameTemplate;
  private readonly zone: string;
  private readonly perFile: number | undefined;
  private readonly windowMs: number | undefined;
  private current?: OpenFile;
  /** Outcomes of records held in an earlier `deliver` whose file has since been put in place. */
  private settled: Outcome[] = [];
  /** This pass's lookup of uncertain records in published files; made at the first uncertain record. */
  private lookup?: PublishedKeys;
  /** Key to legacy reference, for the files whose publication was completed by recovery: answered as present even when the ledger does not know they may be. */
  private recovered = new Map<string, string>();

  /** Checks the whole config (name template, layout, time zone); throws an Error with `problems` listing each. */
  constructor(
    private readonly config: FileDropConfig,
    private readonly env: ConnectorEnv,
    private readonly now: () => Date = () => new Date(),
  ) {
    const problems: string[] = [];
    this.folder = resolve(env.baseDir, config.folder);
    const t = compileNameTemplate(config.name ?? FILE_DROP_DEFAULTS.name);
    if ('problems' in t) problems.push(...t.problems);
    this.template = 'problems' in t ? { source: '', parts: [] } : t;
    this.zone = config.timezone ?? FILE_DROP_DEFAULTS.timezone;
    if (!Intl.supportedValuesOf('timeZone').includes(this.zone) && this.zone !== 'UTC') problems.push(`unknown time zone "${this.zone}"`);
    if (/[/\\]|^\.|\.\./.test(env.pipeline)) problems.push(`pipeline name "${env.pipeline}" cannot be part of a file name`);
    let format: FileFormat | undefined;
    try {
      const fc = config.format.kind === 'fixed-width' && config.format.timezone === undefined ? { ...config.format, timezone: this.zone } : config.format;
      format = fileFormat(fc, env.mapping?.fields.map((f) => f.name) ?? []);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length || !format) throw Object.assign(new Error(problems.join('; ')), { problems });
    this.format = format;
    const limits = [config.rotate?.records, this.format.maxRecords].filter((n): n is number => n !== undefined && n > 0);
    this.perFile = limits.length ? Math.min(...limits) : undefined;
    this.windowMs = rotateMs(config.rotate?.every);
  }

  /**
   * Reconciles the acknowledgement files found for published files (see
   * `ack` in the config), skipping files named in `done`. Resolves to an
   * empty list when no `ack` is configured. Reads only, and reads the keys
   * of answered files only.
   */
  async reconciliations(ctx: Ctx, done: ReadonlySet<string> = new Set()): Promise<Reconciliation[]> {
    if (!this.config.ack) return [];
    const folder = resolve(this.env.baseDir, this.config.ack.folder ?? this.config.folder);
    return readAnswers(folder, this.state(ctx), this.config.ack, done);
  }

  /**
   * The answers not yet applied, one set per answered data file (its name
   * is the set's id), each result naming its delivery (`file#record`).
   * Unusable lines and unanswered records are the set's problems.
   */
  async answers(ctx: Ctx): Promise<AnswerSet[]> {
    return (await this.reconciliations(ctx)).map(answerSet);
  }

  /** Records in the journal that the answers to the data files `ids` are applied. Unknown names are ignored. */
  async answered(ctx: Ctx, ids: readonly string[]): Promise<void> {
    const state = this.state(ctx);
    const names = new Set(ids);
    const at = this.now().toISOString();
    for (const e of await loadEntries(state)) {
      if (!names.has(e.name) || e.state !== 'published' || e.answered || !this.config.ack) continue;
      await saveEntry(state, { ...e, answered: { at, ack: ackNameFor(this.config.ack.match, e) } });
    }
  }

  private state(ctx: Ctx): ConnectorState {
    if (!ctx.state) throw new ConnectorFailure(FileDropErrors.NO_STATE, 'the file-drop target needs the connector state (ctx.state) for its sequence numbers and journal');
    return ctx.state;
  }

  /**
   * Makes the drop folder, settles the journal entries of runs that died
   * (deletes their temporary files, publishes files that were renamed but
   * not recorded), moves keys held inline by entries of the earlier
   * layout to their own rows, drops the control totals an earlier
   * version kept in published entries, and (with `sftp`) empties the local
   * staging copies of published files that still hold data. Reads the keys of recovered files only.
   * Throws `FILE_DROP_IO` (retry) when the folder cannot be used,
   * `FILE_DROP_JOURNAL` (fatal) when a recovered file has no keys.
   */
  async connect(ctx: Ctx): Promise<void> {
    const state = this.state(ctx);
    try {
      await mkdir(this.folder, { recursive: true });
      this.lookup = undefined;
      this.recovered.clear();
      for (const e of await loadEntries(state)) {
        if (e.state !== 'published' && (ownerMayBeAlive(e) || this.current?.entry.seq === e.seq)) {
          if (e.state === 'pending') ctx.log.warn({ file: e.name }, 'a file another live runner is publishing: left alone');
          continue;
        }
        if (e.state === 'open') {
          await this.discard(e, state);
          ctx.log.warn({ file: e.name, seq: e.seq }, 'deleted the unfinished temporary file of a run that stopped; its records are written again');
          continue;
        }
        if (e.state === 'pending') {
          const tmpLeft = await exists(join(this.folder, tempName(e.name)));
          const inPlace = await exists(join(this.folder, e.name));
          if (tmpLeft && !inPlace) {
            await this.discard(e, state);
            ctx.log.warn({ file: e.name, seq: e.seq }, 'deleted a finished file that was never renamed into place; its records are written again');
            continue;
          }
          const keys = await loadKeys(state, e);
          await this.finishPublication(e, state);
          keys.forEach((k, i) => this.recovered.set(k, `${e.name}#${i + 1}`));
          ctx.log.warn({ file: e.name, seq: e.seq }, 'completed the publication of a file renamed before a crash; its records are answered as already present');
        }
        let published: JournalEntry = { ...e, state: 'published' };
        if (e.state === 'published' && e.totals) await saveEntry(state, e);
        if (e.state === 'published' && this.config.sftp && !e.stagingEmptied) published = await this.emptyStaging(e, state);
        await moveKeys(state, published);
      }
    } catch (e) {
      if (e instanceof ConnectorFailure) throw e;
      throw new ConnectorFailure(FileDropErrors.IO, `drop folder ${this.folder}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Writes each record into the open file (opening one when needed) and
   * answers `held`; records the format refuses are `rejected` naming the
   * field; an uncertain record already in a published file is `delivered`
   * with `alreadyPresent`. When a file reaches its record limit or time
   * window it is put in place and its records in this batch are answered
   * `delivered`. Throws `FILE_DROP_IO` (retry) when writing fails.
   */
  /**
   * `file-drop`, the drop folder (`sftp host:port:folder` when files are
   * uploaded; never the user) and the file name template. Each delivery's
   * legacy reference already names its file and record (`NAME#N`), so
   * outcomes carry no `sentTo`.
   */
  identity(): TargetIdentity {
    const sftp = this.config.sftp;
    const system = sftp ? `sftp ${sftp.host}:${sftp.port ?? 22}:${sftp.folder}` : displayPath(this.folder);
    return { kind: 'file-drop', system, object: this.template.source };
  }

  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    const state = this.state(ctx);
    const out = new Map<string, Outcome>();
    const inBatch = new Set(batch.map((r) => r.key));
    try {
      const asked = batch.filter((r) => r.uncertain && !this.recovered.has(r.key)).map((r) => r.key);
      const found = asked.length ? await (this.lookup ??= new PublishedKeys(state)).find(asked) : undefined;
      for (const r of batch) {
        const ref = this.recovered.get(r.key) ?? found?.get(r.key);
        if (ref !== undefined) {
          out.set(r.key, { key: r.key, status: 'delivered', legacyRef: ref, alreadyPresent: true });
          continue;
        }
        const f = this.format.encode ? this.format.encode(r) : this.format.format(r);
        if (!f.ok) {
          out.set(r.key, { key: r.key, status: 'rejected', error: f.error });
          continue;
        }
        if (this.current && this.windowMs !== undefined && this.now().getTime() - this.current.openedMs >= this.windowMs) await this.complete(ctx, state, out, inBatch);
        const file = this.current ?? (await this.openFile(state));
        if ('bytes' in f) await file.file.appendBytes(f.bytes);
        else await file.file.append(f.text);
        file.keys.push(r.key);
        addToTotals(file.totals, f);
        out.set(r.key, { key: r.key, status: 'held' });
        if (this.perFile !== undefined && file.keys.length >= this.perFile) await this.complete(ctx, state, out, inBatch);
      }
    } catch (e) {
      await this.giveUp(state);
      if (e instanceof ConnectorFailure) throw e;
      throw new ConnectorFailure(FileDropErrors.IO, `writing in ${this.folder}: ${(e as Error).message}`, { cause: e });
    }
    return batch.map((r) => out.get(r.key)!);
  }

  /** Puts the open file in place and answers every record held so far (`delivered` with file name and record number). */
  async flush(ctx: Ctx): Promise<Outcome[]> {
    const state = this.state(ctx);
    try {
      if (this.current) await this.complete(ctx, state, undefined, new Set());
    } catch (e) {
      await this.giveUp(state);
      if (e instanceof ConnectorFailure) throw e;
      throw new ConnectorFailure(FileDropErrors.IO, `putting a file in place in ${this.folder}: ${(e as Error).message}`, { cause: e });
    }
    const done = this.settled;
    this.settled = [];
    return done;
  }

  /**
   * Gives up a file still open (a pass that stopped without flushing): its
   * temporary file is deleted, and its journal entry is settled by the next
   * connect (the state store may be closed by now).
   */
  async close(): Promise<void> {
    const open = this.current;
    this.current = undefined;
    this.settled = [];
    this.lookup = undefined;
    if (open && !open.pending) await open.file.abandon();
  }

  private async openFile(state: ConnectorState): Promise<OpenFile> {
    const createdAt = this.now();
    let entry: JournalEntry | undefined;
    const seq = await takeSeq(state, async (n) => {
      const name = renderName(this.template, { pipeline: this.env.pipeline, date: createdAt, zone: this.zone, seq: n, ext: this.format.extension });
      const where = splitPath(resolve(this.folder, name));
      if (where.dir !== this.folder || where.name !== name) throw new ConnectorFailure(FileDropErrors.CONFIG, `file name "${name}" would leave the drop folder`);
      await assertFree(this.folder, name);
      entry = openEntry(name, n, createdAt);
      await saveEntry(state, entry);
    });
    if (!entry) throw new ConnectorFailure(FileDropErrors.JOURNAL, `no journal entry was made for file ${seq}`);
    const name = (entry as JournalEntry).name;
    const facts: FileFacts = { name, sequence: seq, createdAt, pipeline: this.env.pipeline };
    const file = new DropFile(this.folder, name, this.format.encoding, this.format.totals.length === 0);
    try {
      await file.open(this.format.begin(facts));
    } catch (e) {
      // Not opened (a full disk): its number goes back for the next file, which leaves no gap in the sequence.
      await file.abandon().catch(() => undefined);
      await freeSeq(state, seq).then(() => state.delete(entryName(seq))).catch(() => undefined);
      throw e;
    }
    const totals: FileTotals = { records: 0, lines: 0, sums: Object.fromEntries(this.format.totals.map((t) => [t.field, 0n])) };
    this.current = { file, facts, entry, keys: [], totals, openedMs: createdAt.getTime(), pending: false };
    return this.current;
  }

  private async complete(ctx: Ctx, state: ConnectorState, out: Map<string, Outcome> | undefined, inBatch: Set<string>): Promise<void> {
    const c = this.current!;
    const { head, tail } = this.format.end(c.facts, c.totals);
    const { bytes, sha256 } = await c.file.finish(tail, head);
    const totals = Object.fromEntries(this.format.totals.map((t) => [t.field, totalText(c.totals.sums[t.field] ?? 0n, t.decimals)]));
    await saveKeys(state, c.entry.seq, c.keys);
    const entry: JournalEntry = { ...c.entry, state: 'pending', records: c.keys.length, sha256, bytes, lines: c.totals.lines, totals };
    await saveEntry(state, entry);
    c.pending = true;
    ctx.crash?.('file-drop-before-rename');
    await this.finishPublication(entry, state);
    this.current = undefined;
    this.lookup?.published(entry.name, c.keys);
    c.keys.forEach((key, i) => {
      const legacyRef = `${entry.name}#${i + 1}`;
      const o: Outcome = { key, status: 'delivered', legacyRef };
      if (out && inBatch.has(key)) out.set(key, o);
      else this.settled.push(o);
    });
  }

  /**
   * Renames (when still under its temporary name), writes manifest and
   * trigger when missing, uploads them (with `sftp`), marks the entry
   * published, then (with `sftp`) empties the local staging copies.
   * Idempotent.
   */
  private async finishPublication(e: JournalEntry, state: ConnectorState): Promise<void> {
    if (await exists(join(this.folder, tempName(e.name)))) await publishDataFile(this.folder, e.name);
    if (this.config.manifest) {
      const manifest = { file: e.name, sequence: e.seq, pipeline: this.env.pipeline, createdAt: e.openedAt, records: recordCount(e), lines: e.lines, bytes: e.bytes, sha256: e.sha256, totals: e.totals ?? {} };
      if (!(await exists(join(this.folder, `${e.name}.manifest.json`)))) await writeAtomic(this.folder, `${e.name}.manifest.json`, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    }
    if (this.config.trigger && !(await exists(join(this.folder, e.name + this.config.trigger)))) await writeAtomic(this.folder, e.name + this.config.trigger, Buffer.alloc(0));
    if (this.config.sftp) {
      const names = [e.name, ...(this.config.manifest ? [`${e.name}.manifest.json`] : []), ...(this.config.trigger ? [e.name + this.config.trigger] : [])];
      await uploadAll(this.config.sftp, this.folder, names);
    }
    await saveEntry(state, { ...e, state: 'published' });
    if (this.config.sftp) await this.emptyStaging({ ...e, state: 'published' }, state);
  }

  /**
   * With `sftp`, the local folder is only staging: once a file is published
   * on the server, the local data file is truncated to no bytes (its name
   * stays taken, so a state store started afresh never reuses it) and the
   * local manifest (control totals) is removed, so that rekey keeps no
   * clear copy of what it delivered. Only after the entry is published: a
   * publication finished after a crash must never upload an emptied file.
   * Resolves to the entry as saved.
   */
  private async emptyStaging(e: JournalEntry, state: ConnectorState): Promise<JournalEntry> {
    await truncate(join(this.folder, e.name), 0).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    });
    await rm(join(this.folder, `${e.name}.manifest.json`), { force: true });
    const emptied: JournalEntry = { ...e, state: 'published', stagingEmptied: true };
    await saveEntry(state, emptied);
    return emptied;
  }

  private async giveUp(state: ConnectorState): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    this.settled = [];
    if (c.pending) return;
    await c.file.abandon().catch(() => undefined);
    await state
      .delete(keysName(c.entry.seq))
      .then(() => freeSeq(state, c.entry.seq))
      .then(() => state.delete(entryName(c.entry.seq)))
      .catch(() => undefined);
  }

  /** Deletes a file that never reached its final name, then its keys row, gives its sequence number back, then deletes its entry; a pending entry is put back to `open` first, so that a crash half-way is settled the same way. */
  private async discard(e: JournalEntry, state: ConnectorState): Promise<void> {
    if (e.state === 'pending') await saveEntry(state, { state: 'open', name: e.name, seq: e.seq, host: e.host, pid: e.pid, openedAt: e.openedAt });
    await rm(join(this.folder, tempName(e.name)), { force: true });
    await state.delete(keysName(e.seq));
    await freeSeq(state, e.seq);
    await state.delete(entryName(e.seq));
  }
}

/** The `file-drop` target's declaration. */
export const fileDropTarget: ConnectorDef<FileDropConfig, Target> = {
  name: 'file-drop',
  kind: 'target',
  doc: 'Writes mapped records into CSV, fixed-width or XML files in a drop folder: atomic (temporary name, fsync, rename), numbered from the state store, with optional trigger file and manifest; each record in exactly one file.',
  configSchema: jsonSchema(fileDropConfigSchema),
  create: (config, env) => new FileDropTarget(config, env),
};
