/** Runs: one row per run of a pipeline, with its reconciliation summary, audited at start and finish. */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { NewAuditEntry } from '../audit/audit.types.js';
import { saveMappingText } from '../audit/mapping-texts.js';
import type { ErrorData } from '../../lib/errors.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, readDateStrict } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { toRun, type RunRow } from './ledger.rows.js';
import type { Actor, PassTrigger, RunSummary } from './ledger.types.js';

/**
 * Records the start of a run and audits `run-started`, preceded by
 * `pipeline-changed` and `mapping-changed` when the definition or mapping
 * version differs from the pipeline's previous run (or there is none),
 * with both versions; resolves to the new run id. With `mappingText`
 * (the canonical text `mappingVersion` hashes), the text is stored once
 * in `mapping_texts`, in the same transaction. `trigger` (what started the
 * pass, and who asked) is stored on the run row and carried by the
 * `run-started` entry; without it both record none.
 */
export async function startRun(
  store: StateStore,
  audit: AuditLog,
  pipeline: string,
  actor: Actor,
  mappingVersion: string | null,
  definitionVersion: string | null = null,
  mappingText?: string,
  trigger?: PassTrigger,
): Promise<string> {
  const id = randomUUID();
  let now = new Date();
  await store.transaction(async (t) => {
    const [last] = await store.select<{ mapping_version: string | null; definition_version: string | null; started_at: unknown }>(
      `SELECT mapping_version, definition_version, started_at FROM runs WHERE pipeline = $1 ORDER BY started_at DESC LIMIT 1`,
      [pipeline],
      t,
    );
    // A pipeline's runs start at distinct, increasing times, so the one before is always the latest
    // (two runs in one millisecond used to tie, and the tie went by the random id).
    const previous = last ? readDateStrict(last.started_at).getTime() : -Infinity;
    if (now.getTime() <= previous) now = new Date(previous + 1);
    await store.exec(
      'INSERT INTO runs (id, pipeline, actor, mapping_version, definition_version, started_at, trigger_kind, trigger_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)',
      [id, pipeline, actor, mappingVersion, definitionVersion, iso(now), trigger?.kind ?? null, trigger?.by ?? null],
      t,
    );
    if (mappingVersion !== null && mappingText !== undefined) await saveMappingText(store, mappingVersion, mappingText, t);
    const entries: NewAuditEntry[] = [];
    const changed = (event: 'pipeline-changed' | 'mapping-changed', from: string | null | undefined, to: string | null) => {
      if (to !== null && from !== to) entries.push({ pipeline, event, actor, mappingVersion, at: now, detail: { runId: id, keys: [], from: from ?? null, to } });
    };
    changed('pipeline-changed', last?.definition_version, definitionVersion);
    changed('mapping-changed', last?.mapping_version, mappingVersion);
    entries.push({ pipeline, event: 'run-started', actor, mappingVersion, at: now, detail: { runId: id, keys: [], definitionVersion, ...(trigger && { trigger: { kind: trigger.kind, ...(trigger.by !== undefined && { by: trigger.by }) } }) } });
    await audit.append(entries, { transaction: t });
  });
  return id;
}

/**
 * Stores a run's summary and audits `run-finished` with it; with `error`,
 * the run is recorded as failed with that error (the audit entry names its
 * code and disposition). Throws `LEDGER_UNKNOWN_RUN` for an id never started.
 */
export async function finishRun(store: StateStore, audit: AuditLog, runId: string, summary: RunSummary, error?: ErrorData): Promise<void> {
  const now = new Date();
  await store.transaction(async (t) => {
    const [row] = await store.select<Record<string, unknown>>('SELECT * FROM runs WHERE id = $1', [runId], t);
    if (!row) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_RUN, `no run ${JSON.stringify(runId)} was started`);
    const run = toRun(row);
    const failed = error ? { code: error.code, disposition: error.disposition, message: error.message } : null;
    await store.exec('UPDATE runs SET finished_at = $1, summary = $2, error = $3 WHERE id = $4', [iso(now), JSON.stringify(summary), failed && JSON.stringify(failed), runId], t);
    const detail = { runId, keys: [], summary, ...(failed && { error: { code: failed.code, disposition: failed.disposition } }) };
    await audit.append(
      [{ pipeline: run.pipeline, event: 'run-finished', actor: run.actor, mappingVersion: run.mappingVersion, at: now, detail }],
      { transaction: t },
    );
  });
}

/** The latest `limit` runs of `pipeline`, newest first. */
export async function listRuns(store: StateStore, pipeline: string, limit: number): Promise<RunRow[]> {
  const n = Math.max(1, Math.floor(limit));
  const rows = await store.select<Record<string, unknown>>(`SELECT * FROM runs WHERE pipeline = $1 ORDER BY started_at DESC, id LIMIT ${n}`, [pipeline]);
  return rows.map(toRun);
}
