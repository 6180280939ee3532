/**
 * Reviewing what the browser target's drift guard found (see
 * connectors/browser/browser.drift.ts): the pending report of a pipeline,
 * and its approval. Approving (the proposal as it is, or steps an operator
 * edited) writes a new step version, clears the report and audits
 * `steps-approved`, in one transaction; then resumes the pipeline when the
 * guard paused it. Nothing is healed without this approval.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { createHash } from 'node:crypto';
import { stepJsonSchema, type Step } from '../connectors/browser/browser.config.js';
import { DRIFT_STATE, type DriftReport, type StepVersion } from '../connectors/browser/browser.drift.js';
import type { AuditLog } from '../pipelines/audit/audit-log.js';
import { pipelineControl, resumePipeline, type PipelineControl } from '../pipelines/ledger/controls.js';
import { PipelineCodes, PipelineError } from '../pipelines/pipeline.errors.js';
import { iso } from '../pipelines/store/sql.js';
import type { StateStore, StoreTx } from '../pipelines/store/state-store.js';

/** The reason the drift guard pauses a pipeline with starts so; approving resumes only such a pause. */
export const DRIFT_PAUSE = 'the legacy screen changed';

/** What there is to review of a pipeline. */
export interface StepsReview {
  pipeline: string;
  control: PipelineControl | null;
  /** The pending report, or null. */
  report: DriftReport | null;
  /** The step version approved last, or null while the pipeline file's steps are keyed. */
  active: StepVersion | null;
}

const UPSERT = `INSERT INTO connector_state (pipeline, name, value, updated_at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

async function stateValue(store: StateStore, pipeline: string, name: string, t?: StoreTx): Promise<string | undefined> {
  const rows = await store.select<{ value: string }>('SELECT value FROM connector_state WHERE pipeline = $1 AND name = $2', [pipeline, name], t);
  return rows[0]?.value;
}

/** The pending report, the approved step version and the pause of `pipeline`. */
export async function readStepsReview(store: StateStore, pipeline: string): Promise<StepsReview> {
  const [report, active, control] = await Promise.all([stateValue(store, pipeline, DRIFT_STATE.report), stateValue(store, pipeline, DRIFT_STATE.active), pipelineControl(store, pipeline)]);
  return { pipeline, control, report: report ? (JSON.parse(report) as DriftReport) : null, active: active ? (JSON.parse(active) as StepVersion) : null };
}

// Compiled on first use: compiling the step schema costs about a second of CPU, which every start of `rekey` paid.
let validStep: ValidateFunction | undefined;

/** Problems of an edited step list (its schema: kinds and options), each with its place; empty when it may be approved. */
export function stepListProblems(steps: unknown): string[] {
  if (!Array.isArray(steps) || !steps.length) return ['the steps must be a list of at least one step'];
  const out: string[] = [];
  validStep ??= new Ajv({ allErrors: true, strict: false }).compile(stepJsonSchema);
  const valid = validStep;
  steps.forEach((s, i) => {
    if (!valid(s)) for (const e of valid.errors ?? []) out.push(`step ${i}${e.instancePath}: ${e.message ?? 'is not valid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  });
  return out;
}

/** How approving went: the new version, and whether the pipeline was resumed. */
export interface Approved {
  version: StepVersion;
  resumed: boolean;
}

/**
 * Approves `pipeline`'s pending report for `actor`: its proposal, or
 * `edited` steps in its place (checked by {@link stepListProblems}). With
 * `reportId`, only that report (a review shown earlier that is still the
 * pending one). Throws `LEDGER_BAD_REQUEST` when there is no pending report,
 * another one is pending, or the edited steps are not valid.
 */
export async function approveSteps(store: StateStore, audit: AuditLog, pipeline: string, actor: string, opts: { edited?: Step[]; reportId?: string } = {}): Promise<Approved> {
  if (opts.edited) {
    const problems = stepListProblems(opts.edited);
    if (problems.length) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `the edited steps are not valid: ${problems.join('; ')}`);
  }
  const now = new Date();
  const version = await store.transaction(async (t) => {
    const raw = await stateValue(store, pipeline, DRIFT_STATE.report, t);
    if (!raw) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `pipeline ${pipeline} has no screen change waiting for review`);
    const report = JSON.parse(raw) as DriftReport;
    if (opts.reportId && opts.reportId !== report.id) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `report ${opts.reportId} is not the one waiting for review (${report.id}); review again`);
    const steps = opts.edited ?? report.proposal.steps;
    const id = `${report.base}.${createHash('sha256').update(JSON.stringify(steps)).update(report.id).digest('hex').slice(0, 8)}`;
    const v: StepVersion = { id, base: report.base, steps, approvedBy: actor, approvedAt: now.toISOString(), report: report.id, edited: opts.edited !== undefined };
    const at = store.dialect === 'postgres' ? now : iso(now);
    await store.exec(UPSERT, [pipeline, DRIFT_STATE.active, JSON.stringify(v), at], t);
    await store.exec('DELETE FROM connector_state WHERE pipeline = $1 AND name = $2', [pipeline, DRIFT_STATE.report], t);
    const detail = {
      keys: [],
      report: report.id,
      page: report.page + 1,
      from: report.stepsVersion,
      to: id,
      edited: v.edited,
      changes: report.changes.map((c) => `${c.step}:${c.what}`),
      stepsHash: `sha256:${createHash('sha256').update(JSON.stringify(steps)).digest('hex')}`,
    };
    await audit.append([{ pipeline, event: 'steps-approved', actor, at: now, detail }], { transaction: t });
    return v;
  });
  const control = await pipelineControl(store, pipeline);
  const resume = control?.paused === true && (control.reason ?? '').startsWith(DRIFT_PAUSE);
  if (resume) await resumePipeline(store, audit, pipeline, actor);
  return { version, resumed: resume };
}
