/**
 * `rekey evidence PIPELINE REFERENCE [--out DIR]`: decrypts the evidence
 * kept of the submission any reference names (see `findSubmission`;
 * screenshots, Playwright traces: sealed files of kind
 * `evidence` whose subject is the key) into a folder for an operator, and
 * records that access in the audit log (one `evidence-opened` entry: the
 * operator, the key, the sealed files' names; `rekey files --open` opens
 * any one sealed file). Exit 1 when the reference is unknown or ambiguous,
 * the submission has no evidence (none taken, purged or erased) or none of
 * it could be opened.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openEvidence } from '../../pipelines/audit/story-open.js';
import { resolveReference } from '../../pipelines/audit/story.js';
import type { CommandResult } from '../cli.js';
import { operatorActor, printJson, withLedger, withStateOptions, type StateOptions } from './status.command.js';

/** The folder `rekey evidence` writes to without `--out`: `evidence-<pipeline>-<key>` in the working folder, unsafe characters replaced. */
export function defaultEvidenceOut(pipeline: string, key: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return resolve(`evidence-${safe(pipeline)}-${safe(key)}`);
}

interface EvidenceOptions extends StateOptions {
  out?: string;
  operator?: string;
}

/** What one `rekey evidence` did. */
interface Opened {
  written: { file: string; bytes: number }[];
  failed: { file: string; code: string }[];
  key: string;
}

/** Registers `evidence`. */
export function evidenceCommand(program: Command, result: CommandResult): void {
  withStateOptions(program.command('evidence').description("decrypt a submission's evidence (screenshots, traces) into a folder; the access is audited").argument('<pipeline>').argument('<reference>', 'key, form reference, legacy reference or the start of one'))
    .option('--out <dir>', 'folder to write the decrypted copies to (created mode 0700; default ./evidence-<pipeline>-<key>)')
    .option('--operator <name>', 'who is looking (default: $USER)')
    .action(async (pipeline: string, reference: string, opts: EvidenceOptions) => {
      const actor = operatorActor(opts.operator);
      let out = '';
      const opened = await withLedger(opts.state, async (ledger, audit, store): Promise<Opened> => {
        const key = await resolveReference(store, pipeline, reference);
        out = opts.out ? resolve(opts.out) : defaultEvidenceOut(pipeline, key);
        const { opened: clear, failed } = await openEvidence(store, ledger, audit, pipeline, key, actor);
        if (!clear.length) return { written: [], failed, key };
        await mkdir(out, { recursive: true, mode: 0o700 });
        for (const c of clear) await writeFile(join(out, c.file), c.bytes, { mode: 0o600 });
        return { written: clear.map((c) => ({ file: c.file, bytes: c.bytes.length })), failed, key };
      });
      const { key } = opened;
      if (!opened.written.length) result.code = 1;
      if (opts.json) return printJson({ pipeline, key, out: opened.written.length ? out : null, actor, written: opened.written, failed: opened.failed });
      if (!opened.written.length && !opened.failed.length) return void process.stderr.write(`rekey: no evidence is kept of ${JSON.stringify(key)} in pipeline ${pipeline} (none was taken, or it was purged or erased)\n`);
      for (const f of opened.failed) process.stderr.write(`rekey: could not open ${f.file}: ${f.code}\n`);
      if (!opened.written.length) return;
      process.stdout.write(`wrote ${opened.written.length} evidence file${opened.written.length === 1 ? '' : 's'} of ${key} (${pipeline}) to ${out}, opened as ${actor} (audited):\n`);
      for (const w of opened.written) process.stdout.write(`  ${w.file}  ${w.bytes} bytes\n`);
      process.stdout.write("They hold citizens' data in clear: delete the folder when done.\n");
    });
}
