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
import { pathLabel } from '../lib/yaml-source.js';
import { BUILTIN_CONNECTORS, type ConnectorCatalog } from '../connectors/registry.js';
import type { Source, Target } from '../connectors/connector.types.js';
import { parsePipeline } from '../pipelines/definition/pipeline.loader.js';
import type { PipelineDef, SecretRef } from '../pipelines/definition/pipeline.types.js';
import { fileProblem, loadMappingFile } from './mapping-files.js';

/** A pipeline ready to run: its definition, compiled mapping, and unconnected source and target. */
export interface LoadedPipeline {
  def: PipelineDef;
  /** The pipeline file as named to the loader. */
  file: string;
  /** `sha256:<hex>` of the definition as written (secret references, not values). */
  version: string;
  /** The mapping file, absolute (for worker threads that load it themselves). */
  mappingFile: string;
  mapping: CompiledMapping;
  source: Source;
  target: Target;
  /** Every resolved secret value, for redaction in logs; never log this list. */
  secrets: string[];
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

/** Connector configs with every `{ env }` / `{ file }` replaced by its value. */
export interface ResolvedSecrets {
  source: Record<string, unknown>;
  target: Record<string, unknown>;
  /** The values put in, for log redaction. */
  secrets: string[];
  /** The references that could not be resolved. */
  missing: SecretRef[];
  /** One per reference that could not be resolved, at the reference; never containing a value. */
  problems: Problem[];
}

const readText = (path: string) => readFile(path, 'utf8');

/** `sha256:<hex>` of the definition's canonical JSON: formatting and comments do not count as a change. */
function definitionVersion(def: PipelineDef): string {
  return `sha256:${createHash('sha256').update(canonicalJson(def)).digest('hex')}`;
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: string): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}

/**
 * Reads each secret reference of `def` from `env` (default `process.env`)
 * or through `read` (files relative to the pipeline file, one trailing
 * newline dropped) and returns copies of the configs with the values in.
 * An unset or empty variable and an unreadable or empty file are problems
 * located at the reference.
 */
export async function resolveSecrets(
  def: PipelineDef,
  env: Record<string, string | undefined> = process.env,
  read: (path: string) => Promise<string> = readText,
): Promise<ResolvedSecrets> {
  const out: ResolvedSecrets = { source: structuredClone(def.source.config), target: structuredClone(def.target.config), secrets: [], missing: [], problems: [] };
  const problem = (ref: SecretRef, message: string) => {
    out.missing.push(ref);
    out.problems.push({ file: ref.pos.file, line: ref.pos.line, col: ref.pos.col, path: pathLabel([ref.side, 'config', ...ref.path]), message });
  };
  for (const ref of def.secrets) {
    let value: string | undefined;
    if ('env' in ref.from) {
      value = env[ref.from.env];
      if (value === undefined) problem(ref, `environment variable ${ref.from.env} is not set`);
      else if (value === '') problem(ref, `environment variable ${ref.from.env} is empty`);
    } else {
      const path = resolve(dirname(def.file), ref.from.file);
      try {
        value = (await read(path)).replace(/\r?\n$/, '');
        if (value === '') problem(ref, `secret file "${ref.from.file}" is empty`);
      } catch (e) {
        problem(ref, `cannot read secret file "${ref.from.file}": ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
    }
    if (!value) continue;
    setAt(out[ref.side], ref.path, value);
    if (!out.secrets.includes(value)) out.secrets.push(value);
  }
  return out;
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
  return { pipeline: { def, file: path, version: definitionVersion(def), mappingFile, mapping, source, target, secrets: resolved.secrets }, problems: [] };
}
