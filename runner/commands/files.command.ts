/**
 * `rekey files PIPELINE [--kind K]`: the sealed files kept for a pipeline
 * (the inbox's done and quarantine copies, delivery evidence), each with
 * its kind, submission, path and when it was sealed. With `--open PATH
 * --out FILE`: writes a decrypted copy of one of them (to send a fixed
 * quarantined file again, say) and records that access in the audit log
 * as one `evidence-opened` entry (operator, file, kind). Exit 1 when no
 * key is held for the file (never sealed by rekey, purged or erased) or it
 * does not open; exit 2 for `--open` without `--out` or an `--out` file
 * that exists.
 */
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { pipeline as pump } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import type { SealedFileKind } from '../../connectors/connector.types.js';
import { openSealed } from '../../pipelines/privacy/sealed-files.js';
import type { CommandResult } from '../cli.js';
import { UsageError } from '../runtime.js';
import { formatTable, operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

const KINDS: readonly SealedFileKind[] = ['evidence', 'inbox-done', 'inbox-quarantine'];

interface FilesOptions extends StateOptions {
  kind?: SealedFileKind;
  open?: string;
  out?: string;
  operator?: string;
}

/** One sealed file as `rekey files` lists it. */
export interface SealedFileEntry {
  kind: SealedFileKind;
  /** The submission key it belongs to (evidence); null for an inbox file. */
  subject: string | null;
  /** Absolute path of the sealed file, as registered. */
  path: string;
  /** When it was sealed (ISO 8601). */
  created: string;
}

interface FileRow {
  path: string;
  kind: SealedFileKind;
  subject: string | null;
  created_at: string | Date;
}

/** Registers `files`. */
export function filesCommand(program: Command, result: CommandResult): void {
  withStateOptions(
    program
      .command('files')
      .description('list the sealed files kept for a pipeline (inbox done and quarantine copies, evidence); --open decrypts one, audited')
      .argument('<pipeline>'),
  )
    .addOption(new Option('--kind <kind>', 'only files of this kind').choices(KINDS))
    .option('--open <path>', 'decrypt this sealed file (its path as listed) into --out; the access is audited')
    .option('--out <file>', 'with --open: the new file to write the clear copy to (mode 0600; never replaces a file)')
    .option('--operator <name>', 'with --open: who is looking (default: $USER)')
    .action(async (pipeline: string, opts: FilesOptions) => {
      if (opts.open === undefined) return list(pipeline, opts);
      if (opts.out === undefined) throw new UsageError('--open needs --out FILE: where to write the decrypted copy');
      result.code = await open(pipeline, resolve(opts.open), resolve(opts.out), opts);
    });
}

async function list(pipeline: string, opts: FilesOptions): Promise<void> {
  const rows = await withLedger(opts.state, (_ledger, _audit, store) =>
    store.select<FileRow>(
      `SELECT path, kind, subject, created_at FROM sealed_files WHERE pipeline = $1${opts.kind ? ' AND kind = $2' : ''} ORDER BY created_at, path`,
      opts.kind ? [pipeline, opts.kind] : [pipeline],
    ),
  );
  const files: SealedFileEntry[] = rows.map((r) => ({ kind: r.kind, subject: r.subject, path: r.path, created: new Date(r.created_at).toISOString() }));
  if (opts.json) return printJson({ pipeline, files });
  if (!files.length) return void process.stdout.write(`no sealed files are kept for ${pipeline}${opts.kind ? ` of kind ${opts.kind}` : ''}\n`);
  process.stdout.write(formatTable(['KIND', 'SUBJECT', 'CREATED', 'PATH'], files.map((f) => [f.kind, f.subject ?? '-', f.created, f.path])));
}

/** Decrypts `path` into the new file `out`, audited first; resolves to the exit code. */
async function open(pipeline: string, path: string, out: string, opts: FilesOptions): Promise<number> {
  const actor = operatorActor(opts.operator);
  const done = await withLedger(opts.state, async (ledger, audit, store) => {
    const { kind, subject, clear } = await openSealed(store, ledger.keys, pipeline, path);
    const sink = createWriteStream(out, { flags: 'wx', mode: 0o600 });
    const created = new Promise<void>((ok, fail) => {
      sink.once('open', () => ok());
      sink.once('error', fail);
    });
    try {
      await created;
    } catch (e) {
      clear.destroy();
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`--out ${out} exists; name a new file`);
      throw e;
    }
    try {
      await audit.append([{ pipeline, event: 'evidence-opened', actor, detail: { keys: subject ? [subject] : [], files: [basename(path)], kind } }]);
      await pump(clear, sink);
    } catch (e) {
      clear.destroy();
      sink.destroy();
      await unlink(out).catch(() => undefined);
      throw e;
    }
    return { kind, bytes: sink.bytesWritten };
  });
  if (opts.json) printJson({ pipeline, file: path, kind: done.kind, out, bytes: done.bytes, actor });
  else process.stdout.write(`wrote the clear copy of ${basename(path)} (${done.kind}, ${done.bytes} bytes) to ${out}, opened as ${actor} (audited). It holds citizens' data in clear: delete it when done.\n`);
  return 0;
}
