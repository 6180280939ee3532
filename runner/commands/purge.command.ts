/**
 * `rekey purge [PATH...]`: applies each pipeline's `retention:` to the state
 * store and its files (see pipelines/privacy/purge.ts). Paths are pipeline
 * files or folders of them (default `pipelines`); only the pipeline files
 * are read, so no secret is needed. Exit 1 when a file has problems
 * (nothing is purged then), 0 otherwise.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Problem } from '../../lib/problem.js';
import { formatProblem } from '../../mappings/index.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { parsePipeline } from '../../pipelines/definition/pipeline.loader.js';
import type { PipelineDef } from '../../pipelines/definition/pipeline.types.js';
import { purgePipeline, type PurgeCount } from '../../pipelines/privacy/purge.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import type { CommandResult } from '../cli.js';
import { fileProblem } from '../mapping-files.js';
import { pipelineFiles } from './serve.command.js';
import { formatTable, operatorActor, printJson, withStateOptions, type StateOptions } from './status.command.js';

/** The pipeline definitions in `paths` (files, or folders of pipeline files), or every problem found. */
export async function readDefinitions(paths: readonly string[]): Promise<{ defs: PipelineDef[]; problems: Problem[] }> {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const path of paths) {
    try {
      files.push(...((await stat(path)).isDirectory() ? await pipelineFiles(path) : [path]));
    } catch (e) {
      problems.push(fileProblem(path, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
    }
  }
  const defs: PipelineDef[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const parsed = parsePipeline(file, await readFile(file, 'utf8'));
    problems.push(...parsed.problems);
    if (!parsed.def) continue;
    const first = seen.get(parsed.def.pipeline);
    if (first !== undefined) problems.push(parsed.yaml.problem(['pipeline'], `pipeline ${parsed.def.pipeline} is also defined in ${first}`));
    seen.set(parsed.def.pipeline, file);
    defs.push(parsed.def);
  }
  return { defs, problems };
}

/** Purges every pipeline of `defs` in the state store at `state` and resolves to the counts per pipeline. */
export async function purgeDefinitions(state: string | undefined, defs: readonly PipelineDef[], opts: { actor: string; dryRun?: boolean; now?: Date }): Promise<{ pipeline: string; purged: PurgeCount[] }[]> {
  const store = await openStateStore(state);
  try {
    const audit = new AuditLog(store);
    const out = [];
    for (const def of defs) out.push({ pipeline: def.pipeline, purged: await purgePipeline(store, audit, def.pipeline, def.retention, opts) });
    return out;
  } finally {
    await store.close();
  }
}

/** Registers `purge`. */
export function purgeCommand(program: Command, result: CommandResult): void {
  withStateOptions(
    program
      .command('purge')
      .description('remove bodies, evidence, inbox files and ledger rows older than each pipeline\'s retention')
      .argument('[paths...]', 'pipeline files or folders of them (default: pipelines)'),
  )
    .option('--dry-run', 'count what is past retention; change nothing')
    .option('--operator <name>', 'who is acting, on the audit entries (default: $USER)')
    .action(async (paths: string[], opts: StateOptions & { dryRun?: boolean; operator?: string }) => {
      const { defs, problems } = await readDefinitions(paths.length ? paths : ['pipelines']);
      if (problems.length || !defs.length) {
        for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
        if (!defs.length && !problems.length) process.stderr.write(`rekey: no pipeline files in ${paths.join(', ') || 'pipelines'}\n`);
        process.stderr.write('rekey: nothing purged\n');
        result.code = 1;
        return;
      }
      const dryRun = Boolean(opts.dryRun);
      const purged = await purgeDefinitions(opts.state, defs, { actor: operatorActor(opts.operator), dryRun });
      if (opts.json) return printJson({ dryRun, pipelines: purged });
      const rows = purged.flatMap((p) => p.purged.map((c) => [p.pipeline, c.kind, c.count, c.upTo]));
      process.stdout.write(dryRun ? 'dry run: nothing was removed; these are past retention\n' : '');
      process.stdout.write(formatTable(['PIPELINE', 'KIND', dryRun ? 'WOULD PURGE' : 'PURGED', 'UP TO'], rows));
    });
}
