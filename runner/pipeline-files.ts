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
import { checkRouteCondition, compileRouteCondition, type RoutePredicate } from '../mappings/route-condition.js';
import type { Condition } from '../mappings/index.js';
import type { YamlSource, DocPath } from '../lib/yaml-source.js';

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
  /** A pipeline with `routes:`: each route built (its mapping and target; the source is the pipeline's). `mapping`, `mappingFile` and `target` above are then the first route's. */
  routes?: LoadedRoute[];
}

/** One route of a pipeline, ready to run as a single-target pipeline named `<pipeline>~<route>` over the pipeline's source. */
export interface LoadedRoute extends BuiltPipeline {
  /** The route's name. */
  name: string;
  /** Its mapping file, absolute. */
  mappingFile: string;
  /** Its `when`, compiled; absent: it always applies. */
  applies?: RoutePredicate;
  /** The routes it waits for (`after:`). */
  after?: string[];
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
  unchecked?: { side: 'source' | 'target'; kind: string; missing: string[]; route?: string }[];
}

/** `sha256:<hex>` of the definition's canonical JSON: formatting and comments do not count as a change. */
function definitionVersion(def: object): string {
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
  const baseDir = dirname(path);
  const raw = parsed.yaml.value as { mapping?: unknown; routes?: unknown } | undefined;
  const readMapping = async (rel: string | undefined, at: DocPath): Promise<{ file: string; compiled?: CompiledMapping }> => {
    const file = resolve(baseDir, rel ?? '');
    if (rel === undefined) return { file };
    try {
      await access(file);
      const loaded = await loadMappingFile(file);
      problems.push(...loaded.problems);
      return { file, ...(loaded.compiled && { compiled: loaded.compiled }) };
    } catch (e) {
      problems.push(parsed.yaml.problem(at, `cannot read the mapping "${rel}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
      return { file };
    }
  };
  const routesRaw = Array.isArray(raw?.routes) ? (raw.routes as unknown[]) : undefined;
  const routeMappings = routesRaw
    ? await Promise.all(routesRaw.map((r, i) => readMapping(typeof (r as { mapping?: unknown } | null)?.mapping === 'string' ? String((r as { mapping: string }).mapping) : undefined, ['routes', i, 'mapping'])))
    : [];
  const written = parsed.def?.mapping ?? (typeof raw?.mapping === 'string' ? raw.mapping : undefined);
  const main = routesRaw ? (routeMappings[0] ?? { file: resolve(baseDir, '') }) : await readMapping(written, ['mapping']);
  const mappingFile = main.file;
  const mapping: CompiledMapping | undefined = main.compiled;
  if (routesRaw) checkRoutes(parsed.yaml, routesRaw, routeMappings, problems);
  const def = parsed.def;
  if (!def) return { problems: byPosition(path, problems) };
  const resolved = await resolveSecrets(def, opts.env, opts.readFile);
  const routeResolved = def.routes ? await Promise.all(def.routes.map((r) => resolveSecrets(r.def, opts.env, opts.readFile))) : [];
  if (!opts.withoutSecrets) {
    problems.push(...resolved.problems, ...routeResolved.flatMap((r) => r.problems.filter((p) => !resolved.problems.some((q) => q.line === p.line && q.col === p.col))));
    if (problems.length) return { problems: byPosition(path, problems) };
  }
  const missingOf = (r: typeof resolved, side: 'source' | 'target') => r.missing.filter((m) => m.side === side).map((m) => ('env' in m.from ? m.from.env : m.from.file));
  const unchecked: NonNullable<LoadedPipelineFile['unchecked']> = [];
  const sourceMissing = missingOf(resolved, 'source');
  if (sourceMissing.length) unchecked.push({ side: 'source', kind: def.source.kind, missing: sourceMissing });
  if (!def.routes) {
    const m = missingOf(resolved, 'target');
    if (m.length) unchecked.push({ side: 'target', kind: def.target.kind, missing: m });
  }
  def.routes?.forEach((r, i) => {
    const m = missingOf(routeResolved[i]!, 'target');
    if (m.length) unchecked.push({ side: 'target', kind: r.def.target.kind, missing: m, route: r.name });
  });
  const envOf = (d: PipelineDef, m: CompiledMapping | undefined) => ({ baseDir, pipeline: d.pipeline, concurrency: d.limits.concurrency, ...(m && { mapping: { name: m.spec.name, fields: m.spec.fields, groups: m.spec.groups } }) });
  const build = <T>(at: DocPath, kind: string, side: 'source' | 'target', make: () => T): T | undefined => {
    try {
      return make();
    } catch (e) {
      const list = (e as { problems?: unknown }).problems;
      const messages = Array.isArray(list) && list.length ? list.map(String) : [(e as Error).message];
      for (const m of messages) problems.push(parsed.yaml.problem([...at, 'config'], `the ${kind} ${side} cannot be set up: ${m}`));
      return undefined;
    }
  };
  const source = sourceMissing.length ? undefined : build(['source'], def.source.kind, 'source', () => connectors.sources.get(def.source.kind)?.create(resolved.source, envOf(def, mapping)));
  if (def.routes) {
    const routes: LoadedRoute[] = [];
    def.routes.forEach((r, i) => {
      const m = routeMappings[i]?.compiled;
      const missing = unchecked.some((u) => u.route === r.name);
      const target = missing ? undefined : build(['routes', i, 'target'], r.def.target.kind, 'target', () => connectors.targets.get(r.def.target.kind)?.create(routeResolved[i]!.target, envOf(r.def, m)));
      if (!m || !target || !source) return;
      const route: LoadedRoute = { name: r.name, def: r.def, version: definitionVersion({ ...r.def, when: r.when }), mapping: m, mappingFile: routeMappings[i]!.file, source, target };
      if (r.when) route.applies = compileRouteCondition(r.when as unknown as Condition, m);
      if (r.after) route.after = r.after;
      routes.push(route);
    });
    if (unchecked.length) return { problems: byPosition(path, problems), unchecked };
    if (problems.length || !source || routes.length !== def.routes.length) return { problems: byPosition(path, problems) };
    const first = routes[0]!;
    return { pipeline: { def, file: path, version: definitionVersion(def), mappingFile: first.mappingFile, mapping: first.mapping, source, target: first.target, secrets: [...new Set([...resolved.secrets, ...routeResolved.flatMap((r) => r.secrets)])], alerts: alertWebhooks(resolved.alerts), routes }, problems: [] };
  }
  const target = unchecked.some((u) => u.side === 'target') ? undefined : build(['target'], def.target.kind, 'target', () => connectors.targets.get(def.target.kind)?.create(resolved.target, envOf(def, mapping)));
  if (unchecked.length) return { problems: byPosition(path, problems), unchecked };
  if (problems.length || !mapping || !source || !target) return { problems: byPosition(path, problems) };
  return { pipeline: { def, file: path, version: definitionVersion(def), mappingFile, mapping, source, target, secrets: resolved.secrets, alerts: alertWebhooks(resolved.alerts) }, problems: [] };
}

/**
 * The checks of routes that need their mappings: each `when` against its
 * route's mapping, and one submission key for all (every route's mapping
 * keys a submission alike: a case is the routes' deliveries of one key).
 */
function checkRoutes(src: YamlSource, routes: unknown[], mappings: { compiled?: CompiledMapping }[], problems: Problem[]): void {
  const before = src.problems.length;
  let keyOf: { template: string; at: number } | undefined;
  routes.forEach((r, i) => {
    const m = mappings[i]?.compiled;
    if (!m || typeof r !== 'object' || r === null) return;
    const when = (r as { when?: unknown }).when;
    if (when !== undefined) checkRouteCondition(src, ['routes', i, 'when'], when, m);
    const template = m.spec.key ?? '{{form_name}}/{{submission_reference}}';
    if (!keyOf) keyOf = { template, at: i };
    else if (template !== keyOf.template) {
      src.report(['routes', i, 'mapping'], `this route's mapping keys submissions as "${template}", route ${keyOf.at + 1}'s as "${keyOf.template}": every route of a pipeline must key a submission alike (the same key: template)`);
    }
  });
  problems.push(...src.problems.slice(before));
}
