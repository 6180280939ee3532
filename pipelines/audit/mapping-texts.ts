/**
 * Every mapping version's full text, stored once by its version hash
 * (`mapping_texts`), so that the rule a submission was keyed by can be
 * shown after the mapping file changed. The text is the canonical one the
 * version hashes (`CompiledMapping.canonical`), so a stored text proves
 * itself: `sha256(text)` is its version.
 */
import { versionOfText } from '../../mappings/version.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';

/**
 * Stores `text` as mapping version `version`, in `t` when given; a version
 * already stored is left as it is. Throws `MAPPING_TEXT_ALTERED` when
 * `text` does not hash to `version` (nothing is written then).
 */
export async function saveMappingText(store: StateStore, version: string, text: string, t?: StoreTx): Promise<void> {
  if (versionOfText(text) !== version) {
    throw new PipelineError(PipelineCodes.MAPPING_TEXT_ALTERED, `the mapping text given for ${version} hashes to ${versionOfText(text)}`);
  }
  await store.exec('INSERT INTO mapping_texts (version, text, created_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [version, text, iso(new Date())], t);
}

/**
 * The text stored for mapping version `version`, or null when none is.
 * Throws `MAPPING_TEXT_ALTERED` when the stored text no longer hashes to
 * its version.
 */
export async function readMappingText(store: StateStore, version: string): Promise<string | null> {
  const [row] = await store.select<{ text: string }>('SELECT text FROM mapping_texts WHERE version = $1', [version]);
  if (!row) return null;
  if (versionOfText(row.text) !== version) {
    throw new PipelineError(PipelineCodes.MAPPING_TEXT_ALTERED, `the mapping text stored for ${version} no longer matches its version: the state store was edited`);
  }
  return row.text;
}

/** The stored mapping versions, in version order; with `prefix`, only those starting with it. */
export async function listMappingVersions(store: StateStore, prefix?: string): Promise<string[]> {
  const rows = prefix
    ? await store.select<{ version: string }>('SELECT version FROM mapping_texts WHERE substr(version, 1, $1) = $2 ORDER BY version', [prefix.length, prefix])
    : await store.select<{ version: string }>('SELECT version FROM mapping_texts ORDER BY version');
  return rows.map((r) => r.version);
}
