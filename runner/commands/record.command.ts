/**
 * `rekey record PIPELINE --submission FILE`: maps one submission with the
 * pipeline's mapping, opens the legacy app of the pipeline's browser
 * target in Chromium (headed where there is a display), signs in with the
 * pipeline's login steps, lets a clerk key the submission by hand, and
 * writes the steps the clerk took, each typed value replaced by the
 * `{{FIELD}}` that produced it (see connectors/browser/browser.record*.ts).
 * Nothing of the submission is written in clear: a value that matches no
 * field and may be citizen data is withheld as `{{UNMAPPED_n}}` (exit 1),
 * and every message names fields and elements, never values.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDocument, stringify } from 'yaml';
import type { CommandResult } from '../cli.js';
import { UsageError } from '../runtime.js';
import { formatProblem } from '../../mappings/index.js';
import { loadPipelineFile } from '../pipeline-files.js';
import { resolveSecrets } from '../../pipelines/definition/secrets.js';
import { readFileRecords } from '../../connectors/file-inbox/readers/index.js';
import type { BrowserConfig, Step } from '../../connectors/browser/browser.config.js';
import { buildSteps, type BuiltSteps } from '../../connectors/browser/browser.record.build.js';
import { StepRecorder, type RecordOptions } from '../../connectors/browser/browser.record.js';
import { textsOf } from '../../connectors/browser/browser.record.values.js';

/** The command's options. */
export interface RecordArgs {
  submission: string;
  /** Which record of the file (1 the first). */
  record?: number;
  csvShape?: 'rows' | 'govuk-forms';
  start?: string;
  until?: string;
  regex?: string;
  headed?: boolean;
  dialogs?: 'accept' | 'dismiss';
  literal?: string[];
}

/** What a recording produced: the steps, their YAML (with the notes as comments), the notes. */
export interface RecordedSteps extends BuiltSteps {
  yaml: string;
}

/**
 * Records steps for `pipelineFile` from a clerk keying the submission of
 * `args`; `onOpen` is handed the recorder once the form's first page is
 * open (the CLI waits for the clerk; a test drives the page). Throws
 * {@link UsageError} for a pipeline that cannot be recorded for, and an
 * Error naming file, record, field and rule for a submission the mapping
 * rejects (never a value).
 */
export async function recordSteps(pipelineFile: string, args: RecordArgs, onOpen: (rec: StepRecorder) => Promise<void> | void): Promise<RecordedSteps> {
  const loaded = await loadPipelineFile(pipelineFile);
  if (!loaded.pipeline) throw new UsageError(`${pipelineFile} has problems:\n${loaded.problems.map(formatProblem).join('\n')}`);
  const { def, mapping } = loaded.pipeline;
  if (def.target.kind !== 'browser') throw new UsageError(`${pipelineFile}: the target is ${def.target.kind}; only a browser target's steps can be recorded`);
  const config = (await resolveSecrets(def)).target as unknown as BrowserConfig;
  const n = args.record ?? 1;
  let body: unknown;
  let i = 0;
  for await (const item of readFileRecords(args.submission, { csv: { shape: args.csvShape ?? 'rows' } })) {
    if (++i < n) continue;
    if (!item.ok) throw new Error(`${args.submission}: record ${n} cannot be read: ${item.error.message}`);
    body = item.value;
    break;
  }
  if (body === undefined) throw new UsageError(`${args.submission} has no record ${n}`);
  const mapped = mapping.map(body);
  if (!mapped.ok) throw new Error(`${args.submission}: record ${n} is rejected by the mapping: ${mapped.errors.map((e) => `${e.field} (${e.rule})`).join(', ')}`);
  const opts: RecordOptions = { config, baseDir: dirname(resolve(pipelineFile)) };
  for (const k of ['start', 'until', 'regex', 'headed', 'dialogs'] as const) if (args[k] !== undefined) Object.assign(opts, { [k]: args[k] });
  const rec = await StepRecorder.open(opts);
  let recording;
  try {
    await onOpen(rec);
    recording = await rec.result();
  } finally {
    await rec.close();
  }
  const required = new Set(mapping.spec.fields.filter((f) => f.required).map((f) => f.name));
  const built = buildSteps(recording, { record: mapped.record, submissionTexts: textsOf(body), literals: args.literal ?? [] }, required);
  return { ...built, yaml: stepsYaml(built) };
}

/** The steps as a YAML document `steps: [...]`, the notes as a comment above. */
export function stepsYaml(built: BuiltSteps): string {
  const head = ['Steps recorded by rekey record.', ...built.notes.map((n) => `- ${n}`)].map((l) => `# ${l}`).join('\n');
  return `${head}\n${stringify({ ...(built.dialogs.length && { dialogs: built.dialogs }), steps: built.steps }, { lineWidth: 0 })}`;
}

/** The pipeline file's text with `target.config.steps` replaced by `steps`, and `dialogs` rules added after the file's own (comments elsewhere kept). */
export async function pipelineWithSteps(pipelineFile: string, steps: Step[], dialogs: NonNullable<BrowserConfig['dialogs']> = []): Promise<string> {
  const doc = parseDocument(await readFile(pipelineFile, 'utf8'));
  doc.setIn(['target', 'config', 'steps'], doc.createNode(steps));
  if (dialogs.length) {
    const had = (doc.getIn(['target', 'config', 'dialogs']) as { toJSON(): unknown } | undefined)?.toJSON() as NonNullable<BrowserConfig['dialogs']> | undefined;
    doc.setIn(['target', 'config', 'dialogs'], doc.createNode([...(had ?? []), ...dialogs]));
  }
  return doc.toString({ lineWidth: 0 });
}

interface CliOptions extends RecordArgs {
  out?: string;
  pipelineOut?: string;
}

/** Registers `record` on the program. */
export function recordCommand(program: Command, result: CommandResult): void {
  program
    .command('record')
    .description('record the steps of a browser target from a clerk keying one submission by hand')
    .argument('<pipeline>', 'pipeline file with a browser target')
    .requiredOption('--submission <file>', 'submissions file (.json, .ndjson, .csv, .xml): the one the clerk keys')
    .option('--record <n>', 'which record of the file (1 the first)', (v) => Number.parseInt(v, 10))
    .option('--csv-shape <shape>', 'CSV: rows or govuk-forms', 'rows')
    .option('--start <path>', 'page the form starts at (default the first goto of the pipeline\'s steps)')
    .option('--until <selector>', 'the element that shows the legacy reference: recording ends when it appears, and the steps capture it')
    .option('--regex <re>', 'regular expression whose first group is the reference in --until\'s text')
    .option('--headed', 'show the browser (default when DISPLAY is set)')
    .option('--headless', 'do not show the browser')
    .option('--dialogs <answer>', 'answer every dialog: accept or dismiss', 'accept')
    .option('--literal <text>', 'a constant the clerk types that is no citizen data (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .option('--out <file>', 'write the steps here instead of standard output')
    .option('--pipeline-out <file>', 'also write a copy of the pipeline with these steps (in the pipeline\'s folder, so its relative paths hold)')
    .action(async (pipelineFile: string, opts: CliOptions & { headless?: boolean }) => {
      if (opts.dialogs !== 'accept' && opts.dialogs !== 'dismiss') throw new UsageError('--dialogs is accept or dismiss');
      if (opts.pipelineOut && dirname(resolve(opts.pipelineOut)) !== dirname(resolve(pipelineFile))) throw new UsageError('--pipeline-out must be in the pipeline\'s folder, so that its relative paths hold');
      const args: RecordArgs = { ...opts, ...(opts.headless ? { headed: false } : {}) };
      const recorded = await recordSteps(pipelineFile, args, (rec) => {
        const stop = () => rec.stop();
        process.once('SIGINT', stop);
        process.stderr.write(`rekey: recording at ${rec.start}: key the submission, then ${opts.until ? `save it (recording ends when ${opts.until} appears), ` : ''}close the page or press Ctrl-C\n`);
        void rec.ended.then(() => process.removeListener('SIGINT', stop));
      });
      if (opts.out) await writeFile(opts.out, recorded.yaml, { mode: 0o644 });
      else process.stdout.write(recorded.yaml);
      if (opts.pipelineOut) await writeFile(opts.pipelineOut, await pipelineWithSteps(pipelineFile, recorded.steps, recorded.dialogs));
      for (const n of recorded.notes) process.stderr.write(`rekey: ${n}\n`);
      result.code = recorded.withheld ? 1 : 0;
    });
}
