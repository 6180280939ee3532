/**
 * Loads pipeline files from disk: the YAML, the mapping it names (with its
 * lookups and functions), the secrets its connector configs refer to, and
 * the source and target built through the connector registry (not yet
 * connected). Every problem is returned located; nothing is thrown for the
 * user's files.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { canonicalJson } from '../lib/canonical-json.js';
import { dirname, resolve } from 'node:path';
import type { CompiledMapping, Problem } from '../mappings/index.js';
import { BUILTIN_CONNECTORS, type ConnectorCatalog } from '../connectors/registry.js';
import { parsePipeline } from '../pipelines/definition/pipeline.loader.js';
import type { AlertEvent, PipelineDef } from '../pipelines/definition/pipeline.types.js';
import { resolveSecrets } from '../pipelines/definition/secrets.js';
import type { BuiltPipeline } from '../pipelines/flow/flow-pipeline.js';
import { fileProblem, loadMappingFile } from './mapping-files.js';

/** A pipeline ready to run: its definition, compiled mapping, and unconnected source and target; `version` covers secret references, not values. */
export interface LoadedPipeline extends BuiltPipeline {
  /** The pipeline file as named to the loader. */
  file: string;
  /** The mapping file, absolute (for worker threads that load it themselves). */
  mappingFile: string;
  /** Every resolved secret value, for redaction in logs; never log this list. */
  secrets: string[];
  /** The alert webhooks with their URLs resolved (secrets: never log one). */
  alerts: ResolvedAlertWebhook[];
}

/** An alert webhook ready to post to. */
export interface ResolvedAlertWebhook {
  url: string;
  on: AlertEvent[];
}

/** The webhooks of `resolved.alerts` whose URL could be resolved. */
function alertWebhooks(resolved: Record<string, unknown>): ResolvedAlertWebhook[] {
  const hooks = Array.isArray(resolved.webhooks) ? (resolved.webhooks as { url: unknown; on: AlertEvent[] }[]) : [];
  return hooks.flatMap((h) => (typeof h.url === 'string' ? [{ url: h.url, on: h.on }] : []));
}

/** Where secrets and connectors come from; tests replace them. */
export interface PipelineLoadOptions {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => Promise<string>;
  connectors?: ConnectorCatalog;
  /**
   * Secrets may be missing (checking definitions where the deployment's
   * secrets are not, e.g. a repository's CI): an unresolved secret is no
   * problem, and the connector it belongs to is not built, so its own
   * checks are skipped and reported in `unchecked`; no pipeline results.
   */
  withoutSecrets?: boolean;
}

/** What loading a pipeline file found: the pipeline when nothing is wrong, every problem, and the connectors left unbuilt for want of secrets. */
export interface LoadedPipelineFile {
  pipeline?: LoadedPipeline;
  problems: Problem[];
  /** With `withoutSecrets`: per connector not built, the secrets it lacked (variable names or file paths). */
  unchecked?: { side: 'source' | 'target'; kind: string; missing: string[] }[];
}

/** `sha256:<hex>` of the definition's canonical JSON: formatting and comments do not count as a change. */
function definitionVersion(def: PipelineDef): string {
  return `sha256:${createHash('sha256').update(canonicalJson(def)).digest('hex')}`;
}

/** The pipeline file's problems first, then the mapping's, each file's by position. */
function byPosition(file: string, problems: Problem[]): Problem[] {
  const rank = (p: Problem) => (p.file === file ? 0 : 1);
  return [...problems].sort((a, b) => rank(a) - rank(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.col - b.col);
}

/**
 * Reads, checks and builds the pipeline at `path`: the file's own problems,
 * then its mapping's (in the mapping file, checked even when the pipeline
 * file has problems), secrets and connector set-up problems, all located.
 * `pipeline` is present only when there are none.
 */
export async function loadPipelineFile(path: string, opts: PipelineLoadOptions = {}): Promise<LoadedPipelineFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { problems: [fileProblem(path, `cannot read the pipeline: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)] };
  }
  const connectors = opts.connectors ?? BUILTIN_CONNECTORS;
  const parsed = parsePipeline(path, text, connectors);
  const problems: Problem[] = [...parsed.problems];
  const written = (parsed.yaml.value as { mapping?: unknown } | undefined)?.mapping;
  const mappingRel = parsed.def?.mapping ?? (typeof written === 'string' ? written : undefined);
  const baseDir = dirname(path);
  const mappingFile = resolve(baseDir, mappingRel ?? '');
  let mapping: CompiledMapping | undefined;
  if (mappingRel !== undefined) {
    try {
      await access(mappingFile);
      const loaded = await loadMappingFile(mappingFile);
      problems.push(...loaded.problems);
      mapping = loaded.compiled;
    } catch (e) {
      problems.push(parsed.yaml.problem(['mapping'], `cannot read the mapping "${mappingRel}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
    }
  }
  const def = parsed.def;
  if (!def) return { problems: byPosition(path, problems) };
  const resolved = await resolveSecrets(def, opts.env, opts.readFile);
  if (!opts.withoutSecrets) {
    problems.push(...resolved.problems);
    if (resolved.problems.length) return { problems: byPosition(path, problems) };
  }
  const unchecked = (['source', 'target'] as const).flatMap((side) => {
    const missing = resolved.missing.filter((r) => r.side === side).map((r) => ('env' in r.from ? r.from.env : r.from.file));
    return missing.length ? [{ side, kind: def[side].kind, missing }] : [];
  });
  const skipped = new Set(unchecked.map((u) => u.side));
  const env = { baseDir, pipeline: def.pipeline, concurrency: def.limits.concurrency, ...(mapping && { mapping: { name: mapping.spec.name, fields: mapping.spec.fields, groups: mapping.spec.groups } }) };
  const build = <T>(side: 'source' | 'target', make: () => T): T | undefined => {
    try {
      return make();
    } catch (e) {
      const list = (e as { problems?: unknown }).problems;
      const messages = Array.isArray(list) && list.length ? list.map(String) : [(e as Error).message];
      for (const m of messages) problems.push(parsed.yaml.problem([side, 'config'], `the ${def[side].kind} ${side} cannot be set up: ${m}`));
      return undefined;
    }
  };
  const source = skipped.has('source') ? undefined : build('source', () => connectors.sources.get(def.source.kind)?.create(resolved.source, env));
  const target = skipped.has('target') ? undefined : build('target', () => connectors.targets.get(def.target.kind)?.create(resolved.target, env));
  if (unchecked.length) return { problems: byPosition(path, problems), unchecked };
  if (problems.length || !mapping || !source || !target) return { problems: byPosition(path, problems) };
  return { pipeline: { def, file: path, version: definitionVersion(def), mappingFile, mapping, source, target, secrets: resolved.secrets, alerts: alertWebhooks(resolved.alerts) }, problems: [] };
}
