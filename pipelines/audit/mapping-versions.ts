/**
 * Stored mapping versions as an auditor names them: a full `sha256:<hex>`
 * version or the unambiguous start of its hex, with or without `sha256:`;
 * and the list of stored versions with when each was first stored and
 * which pipelines' runs used it (`runs.mapping_version`).
 */
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { listMappingVersions } from './mapping-texts.js';
import { readDate } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';

/** Most candidates listed in an ambiguity error. */
const MAX_LISTED = 20;

/** One stored mapping version and where it was used. */
export interface MappingVersionInfo {
  version: string;
  /** When its text was first stored. */
  firstSeen: Date | null;
  /** Pipelines whose runs used it, by name. */
  pipelines: string[];
  /** When the last run that used it started, if any did. */
  lastUsed: Date | null;
}

/**
 * The one stored version that `ref` names: `sha256:<hex>` or a prefix of
 * the hex, with or without `sha256:` (any letter case). Throws
 * `MAPPING_VERSION_UNKNOWN` when `ref` is not such text or nothing stored
 * starts with it, `MAPPING_VERSION_AMBIGUOUS` (listing up to 20) when
 * several do.
 */
export async function resolveMappingVersion(store: StateStore, ref: string): Promise<string> {
  const hex = ref.trim().toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{1,64}$/.test(hex)) {
    throw new PipelineError(PipelineCodes.MAPPING_VERSION_UNKNOWN, `${JSON.stringify(ref)} is not a mapping version: give sha256: and hex digits, or the first hex digits`);
  }
  const rows = await listMappingVersions(store, `sha256:${hex}`);
  if (rows.length === 1) return rows[0]!;
  if (!rows.length) throw new PipelineError(PipelineCodes.MAPPING_VERSION_UNKNOWN, `no stored mapping version starts with sha256:${hex}`);
  const listed = rows.slice(0, MAX_LISTED).map((v) => `  ${v}`);
  throw new PipelineError(
    PipelineCodes.MAPPING_VERSION_AMBIGUOUS,
    `sha256:${hex} starts ${rows.length > MAX_LISTED ? `more than ${MAX_LISTED}` : rows.length} stored mapping versions; give one of:\n${listed.join('\n')}${rows.length > MAX_LISTED ? '\n  ... and more' : ''}`,
  );
}

/**
 * Each stored version's pipelines and last run, read as a skip scan of
 * `runs_mapping_version` (migration 0017): per version, the next pipeline
 * after the last one found, then that pair's latest start, each an index
 * seek, so the cost follows the versions and pipelines, not the runs.
 */
const USE_SQL = `WITH RECURSIVE used (version, pipeline) AS (
    SELECT t.version, (SELECT MIN(r.pipeline) FROM runs r WHERE r.mapping_version = t.version) FROM mapping_texts t
    UNION ALL
    SELECT u.version, (SELECT MIN(r.pipeline) FROM runs r WHERE r.mapping_version = u.version AND r.pipeline > u.pipeline) FROM used u WHERE u.pipeline IS NOT NULL
  )
  SELECT u.version AS mapping_version, u.pipeline, (SELECT MAX(r.started_at) FROM runs r WHERE r.mapping_version = u.version AND r.pipeline = u.pipeline) AS last
  FROM used u WHERE u.pipeline IS NOT NULL`;

/**
 * Every stored mapping version, oldest first, with the pipelines whose
 * runs used it; with `pipeline`, only the versions that pipeline's runs
 * used. Reads index entries per version and pipeline, never every run.
 */
export async function listMappingVersionUse(store: StateStore, pipeline?: string): Promise<MappingVersionInfo[]> {
  const texts = await store.select<{ version: string; created_at: unknown }>('SELECT version, created_at FROM mapping_texts');
  const runs = await store.select<{ mapping_version: string; pipeline: string; last: unknown }>(USE_SQL);
  const used = new Map<string, { pipelines: Set<string>; last: Date | null }>();
  for (const r of runs) {
    const u = used.get(r.mapping_version) ?? { pipelines: new Set<string>(), last: null };
    u.pipelines.add(r.pipeline);
    const last = readDate(r.last);
    if (last && (!u.last || last > u.last)) u.last = last;
    used.set(r.mapping_version, u);
  }
  const out = texts
    .map((t) => {
      const u = used.get(t.version);
      return { version: t.version, firstSeen: readDate(t.created_at), pipelines: u ? [...u.pipelines].sort() : [], lastUsed: u?.last ?? null };
    })
    .filter((v) => pipeline === undefined || v.pipelines.includes(pipeline));
  return out.sort((a, b) => (a.firstSeen?.getTime() ?? 0) - (b.firstSeen?.getTime() ?? 0) || (a.version < b.version ? -1 : 1));
}
