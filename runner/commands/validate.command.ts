/**
 * `rekey validate FILE...`: checks pipeline, mapping and golden-case files
 * and prints every problem of every file in one pass as
 * `file:line:col message`.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { formatProblem, type Problem } from '../../mappings/index.js';
import { parseCases } from '../../mappings/golden.js';
import { fileProblem, loadMappingFile } from '../mapping-files.js';
import { loadPipelineFile } from '../pipeline-files.js';
import type { CommandResult } from '../cli.js';

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

/** Checks one file of any known kind (a pipeline with its mapping, secrets and connector configs); returns its problems. */
export async function validateFile(file: string): Promise<Problem[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return [fileProblem(file, `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)];
  }
  const kind = kindOf(text);
  if (kind === 'pipeline') return (await loadPipelineFile(file)).problems;
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
    .action(async (files: string[], opts: { json?: boolean }) => {
      const all: Problem[] = [];
      for (const f of files) all.push(...(await validateFile(f)));
      if (opts.json) process.stdout.write(`${JSON.stringify({ files: files.length, problems: all }, null, 2)}\n`);
      else {
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
