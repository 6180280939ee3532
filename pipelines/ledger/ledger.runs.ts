/** Runs: one row per run of a pipeline, with its reconciliation summary, audited at start and finish. */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { toRun, type RunRow } from './ledger.rows.js';
import type { Actor, RunSummary } from './ledger.types.js';

/** Records the start of a run and audits `run-started`; resolves to the new run id. */
export async function startRun(store: StateStore, audit: AuditLog, pipeline: string, actor: Actor, mappingVersion: string | null): Promise<string> {
  const id = randomUUID();
  const now = new Date();
  await store.transaction(async (t) => {
    await store.exec('INSERT INTO runs (id, pipeline, actor, mapping_version, started_at) VALUES ($1,$2,$3,$4,$5)', [id, pipeline, actor, mappingVersion, iso(now)], t);
    await audit.append([{ pipeline, event: 'run-started', actor, mappingVersion, at: now, detail: { runId: id, keys: [] } }], { transaction: t });
  });
  return id;
}

/** Stores a run's summary and audits `run-finished` with it. Throws `LEDGER_UNKNOWN_RUN` for an id never started. */
export async function finishRun(store: StateStore, audit: AuditLog, runId: string, summary: RunSummary): Promise<void> {
  const now = new Date();
  await store.transaction(async (t) => {
    const [row] = await store.select<Record<string, unknown>>('SELECT * FROM runs WHERE id = $1', [runId], t);
    if (!row) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_RUN, `no run ${JSON.stringify(runId)} was started`);
    const run = toRun(row);
    await store.exec('UPDATE runs SET finished_at = $1, summary = $2 WHERE id = $3', [iso(now), JSON.stringify(summary), runId], t);
    await audit.append(
      [{ pipeline: run.pipeline, event: 'run-finished', actor: run.actor, mappingVersion: run.mappingVersion, at: now, detail: { runId, keys: [], summary } }],
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
