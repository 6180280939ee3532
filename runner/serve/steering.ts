/**
 * What the console may do to the pipelines `rekey serve` runs: pause,
 * resume and run one now. Pauses live in the state store (see
 * pipelines/ledger/controls.ts), so they reach every runner sharing it and
 * survive restarts; a run asked for by a person starts through the
 * scheduler like any wake-up (never two passes at once, none while paused),
 * is audited as `run-requested` by the person before the pass does anything
 * else, and is recorded on its run row and `run-started` audit entry as
 * trigger `{ kind: 'console', by }`. A request that starts no pass changes
 * nothing and is not audited.
 */
import type { AuditLog } from '../../pipelines/audit/audit-log.js';
import { pausePipeline, resumePipeline, type PipelineControl } from '../../pipelines/ledger/controls.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { StateStore } from '../../pipelines/store/state-store.js';
import type { PassStart, PassTrigger, ScheduledPipeline, Scheduler } from './scheduler.js';

/** The console's hold on the pipelines a `rekey serve` runs. `actor`/`by` are `operator:<name>` (see `operatorActor`). */
export interface PipelineSteering {
  /** The pipelines this serve runs, by name. */
  pipelines(): string[];
  /** Pauses `pipeline` (audited `pipeline-paused`); throws `PIPELINE_ALREADY_PAUSED`, or `LEDGER_BAD_REQUEST` for a pipeline this serve does not run or a bad reason. */
  pause(pipeline: string, actor: string, reason: string): Promise<PipelineControl>;
  /** Resumes `pipeline` (audited `pipeline-resumed`); throws `PIPELINE_NOT_PAUSED`, or `LEDGER_BAD_REQUEST` for a pipeline this serve does not run. */
  resume(pipeline: string, actor: string): Promise<PipelineControl>;
  /**
   * Starts a pass of `pipeline` now for `by`, resolving as soon as it is
   * known whether one started (the pass goes on, its first step appending
   * `run-requested` with actor `by`; a failed append fails the pass): `started`,
   * `already-running`, `paused`, or `stopping` (serve is shutting down).
   * Throws `LEDGER_BAD_REQUEST` for a pipeline this serve does not run.
   */
  runNow(pipeline: string, by: string): Promise<PassStart>;
}

type Pass = (trigger: PassTrigger) => Promise<unknown>;

/** `PipelineSteering` over a scheduler and the state store; `rekey serve` adds each pipeline it schedules. */
export class ServeSteering implements PipelineSteering {
  private readonly passes = new Map<string, { entry: ScheduledPipeline; pass: Pass }>();

  constructor(
    private readonly store: StateStore,
    private readonly audit: AuditLog,
    private readonly scheduler: Scheduler,
  ) {}

  /** Makes a scheduled pipeline steerable. */
  add(entry: ScheduledPipeline, pass: Pass): void {
    this.passes.set(entry.name, { entry, pass });
  }

  pipelines(): string[] {
    return [...this.passes.keys()].sort();
  }

  private known(pipeline: string): { entry: ScheduledPipeline; pass: Pass } {
    const p = this.passes.get(pipeline);
    if (!p) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, `this rekey serve runs no pipeline ${JSON.stringify(pipeline)}`);
    return p;
  }

  async pause(pipeline: string, actor: string, reason: string): Promise<PipelineControl> {
    this.known(pipeline);
    return pausePipeline(this.store, this.audit, pipeline, actor, reason);
  }

  async resume(pipeline: string, actor: string): Promise<PipelineControl> {
    this.known(pipeline);
    return resumePipeline(this.store, this.audit, pipeline, actor);
  }

  async runNow(pipeline: string, by: string): Promise<PassStart> {
    const { entry, pass } = this.known(pipeline);
    const requested = async (trigger: PassTrigger) => {
      await this.audit.append([{ pipeline, event: 'run-requested', actor: by, detail: { keys: [] } }]);
      return pass(trigger);
    };
    return this.scheduler.request(entry, requested, { kind: 'console', by });
  }
}
