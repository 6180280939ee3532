/**
 * `rekey validate FILE...`: checks pipeline, mapping and golden-case files
 * and prints every problem of every file in one pass as
 * `file:line:col message`. `--without-secrets` checks definitions where
 * the deployment's secrets are not (a repository's CI): a connector whose
 * secrets are missing is not built, and a note on standard error says
 * which checks that skipped.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { formatProblem, type Problem } from '../../mappings/index.js';
import { parseCases } from '../../mappings/golden.js';
import { fileProblem, loadMappingFile } from '../mapping-files.js';
import { loadPipelineFile } from '../pipeline-files.js';
import type { CommandResult } from '../cli.js';
import { generatedKeyFile } from '../runtime.js';
import pino from 'pino';

/** The kinds of definition file `validate` knows. */
export type DefinitionKind = 'pipeline' | 'mapping' | 'cases';

/** Guesses a definition file's kind from its top-level keys (a pipeline has `pipeline:`, a mapping `mapping:`, cases `cases:`). */
export function kindOf(text: string): DefinitionKind {
  try {
    const doc = parseYaml(text, { logLevel: 'silent' }) as unknown;
    if (doc && typeof doc === 'object' && 'pipeline' in doc) return 'pipeline';
    if (doc && typeof doc === 'object' && 'cases' in doc && !('mapping' in doc && 'fields' in doc)) return 'cases';
  } catch {
    return 'mapping';
  }
  return 'mapping';
}

/**
 * Connects the loaded pipeline's target, or each route's (which checks its mapping against
 * the live legacy system, e.g. a SQL table's columns) and closes it; the
 * target's problems come back located at the mapping field where it names
 * one, else at the pipeline file. What the target found that only some
 * records may not fit goes to `warnings`, located alike.
 */
async function connectProblems(file: string, withoutSecrets: boolean, warnings?: string[]): Promise<Problem[]> {
  const { pipeline } = await loadPipelineFile(file, { withoutSecrets });
  if (!pipeline) return [];
  const ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
  const problems: Problem[] = [];
  const place = (p: { message: string; pos?: { file: string; line: number; col: number } }): Problem => (p.pos ? { file: p.pos.file, line: p.pos.line, col: p.pos.col, path: '', message: p.message } : fileProblem(file, p.message));
  for (const built of pipeline.routes ?? [pipeline]) {
    const which = 'name' in built ? `route ${built.name}: target` : 'target';
    try {
      await built.target.connect(ctx);
    } catch (e) {
      const listed = (e as { problems?: { message: string; pos?: { file: string; line: number; col: number } }[] }).problems;
      if (!Array.isArray(listed)) problems.push(fileProblem(file, `${which} ${built.def.target.kind}: ${(e as Error).message}`));
      else problems.push(...listed.map(place));
    } finally {
      for (const w of built.target.connectWarnings?.() ?? []) warnings?.push(formatProblem(place(w)));
      await built.target.close().catch(() => undefined);
    }
  }
  return problems;
}

/** How `validateFile` checks. */
export interface ValidateOptions {
  /** Also connect a valid pipeline's target and check it against the live system. */
  connect?: boolean;
  /** Missing secrets are no problem; the connectors that lack them are not built (see `notes`). */
  withoutSecrets?: boolean;
  /** Receives a line per check skipped for want of secrets. */
  notes?: string[];
  /** Receives a line per pipeline that would run in a way the deployer should change (a generated data key). */
  warnings?: string[];
}

/**
 * Why a pipeline would run with a data key rekey generated, or undefined
 * when the deployer gives one (`REKEY_DATA_KEY` or `REKEY_DATA_KEY_FILE`).
 */
export function generatedKeyWarning(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.REKEY_DATA_KEY || env.REKEY_DATA_KEY_FILE) return undefined;
  return `${file}: this pipeline would run with a data key rekey generated beside the state store (${generatedKeyFile(undefined, env)}); anyone who copies that folder can read the citizens' data in it. Set REKEY_DATA_KEY or REKEY_DATA_KEY_FILE to a key kept elsewhere (docs/privacy.md)`;
}

/** Checks one file of any known kind (a pipeline with its mapping, secrets and connector configs); returns its problems. */
export async function validateFile(file: string, opts: ValidateOptions = {}): Promise<Problem[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return [fileProblem(file, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)];
  }
  const kind = kindOf(text);
  if (kind === 'pipeline') {
    const { problems, unchecked } = await loadPipelineFile(file, { withoutSecrets: opts.withoutSecrets === true });
    const warning = generatedKeyWarning(file);
    if (warning && !problems.length) opts.warnings?.push(warning);
    for (const u of unchecked ?? []) opts.notes?.push(`${file}: the ${u.kind} ${u.side}${u.route ? ` of route ${u.route}` : ''} was not built, so its own checks${u.side === 'target' && opts.connect ? ' and --connect' : ''} were skipped: secrets not given (${u.missing.join(', ')})`);
    return problems.length || !opts.connect || unchecked?.some((u) => u.side === 'target') ? problems : connectProblems(file, opts.withoutSecrets === true, opts.warnings);
  }
  if (kind === 'cases') return parseCases(file, text).problems;
  return (await loadMappingFile(file)).problems;
}

/** Registers `validate` on the program. */
export function validateCommand(program: Command, result: CommandResult): void {
  program
    .command('validate')
    .description('check pipeline, mapping and golden-case files; print every problem as file:line:col')
    .argument('<files...>', 'definition files (YAML)')
    .option('--json', 'print problems as JSON')
    .option('--connect', "also connect each pipeline's target and check the mapping against the live legacy system (a SQL table's columns)")
    .option('--without-secrets', "secrets that are not set are no problem (checking definitions where the deployment's secrets are not); a connector lacking them is not built, and a note says which checks that skipped")
    .action(async (files: string[], opts: { json?: boolean; connect?: boolean; withoutSecrets?: boolean }) => {
      const all: Problem[] = [];
      const notes: string[] = [];
      const warnings: string[] = [];
      for (const f of files) all.push(...(await validateFile(f, { connect: opts.connect === true, withoutSecrets: opts.withoutSecrets === true, notes, warnings })));
      if (opts.json) process.stdout.write(`${JSON.stringify({ files: files.length, problems: all, ...(notes.length && { skipped: notes }), ...(warnings.length && { warnings }) }, null, 2)}\n`);
      else {
        for (const n of notes) process.stderr.write(`note: ${n}\n`);
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        for (const p of all) process.stdout.write(`${formatProblem(p)}\n`);
        const bad = new Set(all.map((p) => p.file)).size;
        const summary = all.length
          ? `${all.length} problem(s) in ${bad} of ${files.length} file(s)`
          : `${files.length} file(s) valid`;
        process.stderr.write(`${summary}\n`);
      }
      result.code = all.length ? 1 : 0;
    });
}
