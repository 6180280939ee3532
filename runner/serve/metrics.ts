/**
 * What `rekey serve` tells Prometheus, through prom-client on a registry of
 * its own (never the global one, so several servers in one process do not
 * collide). Only the pipelines this process runs appear, even when the
 * state store holds others. Counters and histograms are fed by the passes
 * of this process (`passEnded`, `observer`); gauges of the ledger are read
 * from it at scrape time. No label ever holds a submission's value, a URL or
 * a credential: labels are pipeline names, ledger states, outcome statuses
 * and target kinds.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PassObserver, PassResult } from '../../pipelines/flow/flow.types.js';
import type { LedgerState } from '../../pipelines/ledger/ledger.types.js';
import type { PassEnd, ScheduledPipeline } from './scheduler.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';

/** Where the metrics read ledger counts from at scrape time. */
export interface MetricsCounts {
  counts(pipeline?: string): Promise<Record<string, Partial<Record<LedgerState, number>>>>;
}

/** The `state` label of `rekey_submissions_total` and the pass summary count each is taken from. */
const SUMMARY_STATES = {
  received: 'receivedNew',
  duplicate: 'duplicates',
  conflict: 'conflicts',
  unreadable: 'unreadable',
  rejected: 'rejected',
  delivered: 'delivered',
  failed: 'failed',
  dead: 'dead',
} as const satisfies Record<string, keyof PassResult>;

const PASS_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metrics of one `rekey serve` process. */
export class ServeMetrics {
  /** The registry `/metrics` renders; private to this instance. */
  readonly registry = new Registry();
  private readonly submissions: Counter<'pipeline' | 'state'>;
  private readonly deliveries: Counter<'pipeline' | 'target' | 'outcome'>;
  private readonly passes: Counter<'pipeline' | 'outcome'>;
  private readonly passErrors: Counter<'pipeline' | 'code'>;
  private readonly passSeconds: Histogram<'pipeline'>;
  private readonly deliverySeconds: Histogram<'pipeline' | 'target'>;
  private readonly lastSuccess: Gauge<'pipeline'>;
  private readonly deadLetters: Gauge<'pipeline'>;
  private readonly ledger: Gauge<'pipeline' | 'state'>;
  private readonly running: Gauge<'pipeline'>;
  private readonly up: Gauge<'pipeline'>;
  private scrape?: Promise<string>;

  /**
   * `pipelines` are the scheduler's (read at each scrape); `isUp`, when
   * given, says whether a pipeline is ready (`rekey_pipeline_up`). Process
   * metrics are the prom-client defaults under their standard names
   * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, ...), so
   * the usual Node.js dashboards and alerts work unchanged.
   */
  constructor(
    private readonly pipelines: readonly ScheduledPipeline[],
    private readonly counts: MetricsCounts,
    private readonly isUp?: (pipeline: string) => boolean,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.submissions = new Counter({ name: 'rekey_submissions_total', help: 'Submissions that reached each state in the passes of this process.', labelNames: ['pipeline', 'state'], registers });
    this.deliveries = new Counter({ name: 'rekey_deliveries_total', help: 'Records the target answered for, by outcome (delivered, rejected, failed, held), in the passes of this process.', labelNames: ['pipeline', 'target', 'outcome'], registers });
    this.passes = new Counter({ name: 'rekey_passes_total', help: 'Passes run by this process, by outcome (ok, failed).', labelNames: ['pipeline', 'outcome'], registers });
    this.passErrors = new Counter({ name: 'rekey_pass_errors_total', help: 'Passes that failed, by the error\'s catalogue code (BROWSER_SCREEN_CHANGED: a legacy screen changed and the pipeline was paused).', labelNames: ['pipeline', 'code'], registers });
    this.passSeconds = new Histogram({ name: 'rekey_pass_duration_seconds', help: 'How long each pass took.', labelNames: ['pipeline'], buckets: PASS_BUCKETS, registers });
    this.deliverySeconds = new Histogram({ name: 'rekey_delivery_duration_seconds', help: 'How long each call to the target (one batch delivered or flushed) took.', labelNames: ['pipeline', 'target'], buckets: DELIVERY_BUCKETS, registers });
    this.lastSuccess = new Gauge({ name: 'rekey_last_success_timestamp_seconds', help: 'When the last pass that did not fail finished (Unix time); absent before the first.', labelNames: ['pipeline'], registers });
    this.deadLetters = new Gauge({ name: 'rekey_dead_letters', help: 'Submissions dead-lettered in the ledger now.', labelNames: ['pipeline'], registers });
    this.ledger = new Gauge({ name: 'rekey_ledger_submissions', help: 'Submissions in the ledger now, by state.', labelNames: ['pipeline', 'state'], registers });
    this.running = new Gauge({ name: 'rekey_pass_running', help: 'Whether a pass of the pipeline is running (1) or not (0).', labelNames: ['pipeline'], registers });
    this.up = new Gauge({ name: 'rekey_pipeline_up', help: 'Whether the pipeline is ready (1) or degraded (0), as /ready reports it.', labelNames: ['pipeline'], registers });
  }

  /** Starts the counters of `pipeline` at zero, so that its series exist before its first pass. */
  declare(pipeline: string, target: string): void {
    for (const state of Object.keys(SUMMARY_STATES)) this.submissions.inc({ pipeline, state }, 0);
    for (const outcome of ['ok', 'failed']) this.passes.inc({ pipeline, outcome }, 0);
    for (const outcome of ['delivered', 'rejected', 'failed']) this.deliveries.inc({ pipeline, target, outcome }, 0);
  }

  /** Counts a finished pass (a `Scheduler.onPassEnd` listener); its summary when it did not fail. */
  passEnded(end: PassEnd): void {
    const pipeline = end.pipeline;
    this.passSeconds.observe({ pipeline }, (end.finishedAt.getTime() - end.startedAt.getTime()) / 1000);
    this.passes.inc({ pipeline, outcome: end.error ? 'failed' : 'ok' });
    if (end.error) {
      const code = (end.error as { code?: unknown }).code;
      this.passErrors.inc({ pipeline, code: typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : PipelineCodes.UNEXPECTED_ERROR.code });
      return;
    }
    this.lastSuccess.set({ pipeline }, end.finishedAt.getTime() / 1000);
    const summary = end.result as Partial<PassResult> | undefined;
    for (const [state, field] of Object.entries(SUMMARY_STATES)) {
      const n = summary?.[field];
      if (typeof n === 'number' && n > 0) this.submissions.inc({ pipeline, state }, n);
    }
  }

  /** The observer a pass of `pipeline` is handed (`PassOptions.observe`); `target` is the target's kind. */
  observer(pipeline: string, target: string): PassObserver {
    return {
      delivery: ({ seconds, outcomes }) => {
        this.deliverySeconds.observe({ pipeline, target }, seconds);
        const by = new Map<string, number>();
        for (const o of outcomes) by.set(o.status, (by.get(o.status) ?? 0) + 1);
        for (const [outcome, n] of by) this.deliveries.inc({ pipeline, target, outcome }, n);
      },
    };
  }

  /** The Prometheus text exposition, with the gauges read now; scrapes at once share one reading. */
  text(): Promise<string> {
    this.scrape ??= this.refresh()
      .then(() => this.registry.metrics())
      .finally(() => {
        delete this.scrape;
      });
    return this.scrape;
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private async refresh(): Promise<void> {
    this.ledger.reset();
    for (const p of this.pipelines) {
      const byState = (await this.counts.counts(p.name))[p.name] ?? {};
      this.deadLetters.set({ pipeline: p.name }, byState.dead ?? 0);
      for (const [state, n] of Object.entries(byState)) this.ledger.set({ pipeline: p.name, state }, n ?? 0);
      this.running.set({ pipeline: p.name }, p.running ? 1 : 0);
      if (this.isUp) this.up.set({ pipeline: p.name }, this.isUp(p.name) ? 1 : 0);
    }
  }
}
