/**
 * `rekey audit mapping <version>|--list` and `rekey audit diff <v1> <v2>`:
 * the rule a submission was keyed by, as stored when it was used. A
 * version is `sha256:<hex>` in full or the unambiguous start of its hex
 * (with or without `sha256:`). The mapping is printed as YAML for people
 * (`--json`: the stored canonical text itself, whose sha256 is the
 * version); the diff is a unified diff of two such renderings.
 */
import type { Command } from 'commander';
import { lineageFromCanonical, formatLineage } from '../../mappings/lineage.js';
import { storedMappingDiff, storedMappingYaml } from '../../mappings/stored-mapping.js';
import { readMappingText } from '../../pipelines/audit/mapping-texts.js';
import { listMappingVersionUse, resolveMappingVersion } from '../../pipelines/audit/mapping-versions.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { StateStore } from '../../pipelines/store/state-store.js';
import { formatTable, printJson, withStateOptions, withStore, type StateOptions } from './status.command.js';

function usage(cmd: Command, message: string): never {
  return cmd.error(`rekey: ${message}`, { exitCode: 2, code: 'rekey.usage' });
}

/** The stored text of the version `ref` names, with that version in full. */
async function storedText(store: StateStore, ref: string): Promise<{ version: string; text: string }> {
  const version = await resolveMappingVersion(store, ref);
  const text = await readMappingText(store, version);
  if (text === null) throw new PipelineError(PipelineCodes.MAPPING_VERSION_UNKNOWN, `no stored mapping version starts with ${version}`);
  return { version, text };
}

const day = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '');

function mapping(audit: Command): void {
  withStateOptions(audit.command('mapping').description('print a stored mapping version as YAML (or list the stored versions)'))
    .argument('[version]', 'sha256:<hex>, or the first hex digits of one')
    .option('--list', 'list the stored versions, when each was first stored and which pipelines ran with it')
    .option('--pipeline <name>', 'with --list: only the versions this pipeline ran with')
    .option('--lineage', 'print the field lineage of the version instead of its text')
    .action(async (ref: string | undefined, opts: StateOptions & { list?: boolean; pipeline?: string; lineage?: boolean }, cmd: Command) => {
      if (opts.list) {
        if (ref !== undefined) usage(cmd, '--list takes no version');
        const versions = await withStore(opts.state, (store) => listMappingVersionUse(store, opts.pipeline));
        if (opts.json) return printJson({ versions });
        if (!versions.length) return void process.stdout.write(`no stored mapping versions${opts.pipeline ? ` for pipeline ${opts.pipeline}` : ''}\n`);
        process.stdout.write(formatTable(['version', 'first stored', 'last run', 'pipelines'], versions.map((v) => [v.version, day(v.firstSeen), day(v.lastUsed), v.pipelines.join(', ')])));
        return;
      }
      if (ref === undefined) usage(cmd, 'give a mapping version, or --list');
      if (opts.pipeline) usage(cmd, '--pipeline goes with --list');
      const { version, text } = await withStore(opts.state, (store) => storedText(store, ref));
      if (opts.lineage) {
        const lineage = lineageFromCanonical(text, version);
        if (opts.json) return printJson({ version, fields: lineage });
        process.stdout.write(`# field lineage of mapping version ${version} (fields in name order)\n${formatLineage(lineage)}`);
        return;
      }
      process.stdout.write(opts.json ? `${text}\n` : storedMappingYaml(text, { version }));
    });
}

function diff(audit: Command): void {
  withStateOptions(audit.command('diff').description('a unified diff between two stored mapping versions, as YAML'))
    .argument('<v1>', 'the older version: sha256:<hex>, or the first hex digits of one')
    .argument('<v2>', 'the newer version')
    .action(async (a: string, b: string, opts: StateOptions) => {
      const [older, newer] = await withStore(opts.state, async (store) => [await storedText(store, a), await storedText(store, b)]);
      const patch = storedMappingDiff(older.text, older.version, newer.text, newer.version);
      if (opts.json) return printJson({ from: older.version, to: newer.version, same: patch === '', diff: patch });
      process.stdout.write(patch || `${older.version} and ${newer.version} have the same rules\n`);
    });
}

/** Registers `audit mapping` and `audit diff` under the `audit` command. */
export function auditMappingCommands(audit: Command): void {
  mapping(audit);
  diff(audit);
}
