/**
 * Whether each pipeline `rekey serve` runs can do its work, for `/ready`.
 *
 * A pipeline is judged by two things, the later of which wins:
 * - a connect probe of its target (connect, then close): once at start, after
 *   every failed pass, and again while it stays degraded by a failed probe,
 *   at most every `reprobeMs`, started by a request to `/ready` (in the
 *   background: `/ready` answers at once from what is known);
 * - the outcome of its last pass: a pass that fails is degraded by its error
 *   unless the probe that follows fails too (then by the probe's); a pass
 *   that succeeds makes it ready.
 * A pipeline without a probe (the browser target, whose connect launches
 * Chromium: too dear to run for a health check) is judged by its passes
 * alone, and counts as ready until one fails. A probe never runs while a
 * pass of its pipeline runs, and a pass waits for a probe in flight
 * (`idle`), so the two never set up the target at once.
 *
 * A probe that has not answered after `timeoutMs` counts as failed
 * (`TARGET_UNAVAILABLE`), so that a target that never answers cannot hold
 * up the passes waiting on `idle`.
 *
 * The reason kept is the error's code and its message with quoted passages
 * cut (`scrubMessage`); connectors keep credentials out of their messages.
 */
import type { Logger } from 'pino';
import { scrubMessage } from '../../lib/redact.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import type { PassEnd } from './scheduler.js';

/** What `/ready` says of one pipeline. */
export interface PipelineReadiness {
  status: 'starting' | 'ready' | 'degraded';
  /** What decided it: a connect probe of the target, or a pass. */
  by?: 'probe' | 'pass';
  /** When it was decided (ISO 8601). */
  at?: string;
  /** Why it is degraded: the error's code and message (never a submission's value). */
  code?: string;
  reason?: string;
  /** Set when the target is never probed (its passes alone decide). */
  note?: string;
}

/** One pipeline to watch: its name, whether a pass of it runs now, and its probe, if it has one. */
export interface Watched {
  name: string;
  isRunning(): boolean;
  /** Connects to the target and closes it; rejects with the connect error. */
  probe?: () => Promise<void>;
}

interface Entry {
  watched: Watched;
  state: PipelineReadiness;
  probing?: Promise<void>;
}

const NO_PROBE = 'its target is not probed: judged by its passes';

/** Readiness of the pipelines of one `rekey serve` process. */
export class Readiness {
  private readonly entries = new Map<string, Entry>();

  constructor(
    pipelines: readonly Watched[],
    private readonly log: Logger,
    private readonly reprobeMs = 10_000,
    private readonly timeoutMs = 30_000,
  ) {
    for (const w of pipelines) {
      this.entries.set(w.name, { watched: w, state: w.probe ? { status: 'starting' } : { status: 'ready', note: NO_PROBE } });
    }
  }

  /** Probes every pipeline that has a probe and no pass running; resolves when all have answered. */
  async start(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.probe(e)));
  }

  /** Resolves once no probe of `pipeline` is in flight; a pass awaits it before it starts. */
  async idle(pipeline: string): Promise<void> {
    await this.entries.get(pipeline)?.probing;
  }

  /** Resolves once no probe is in flight (before the state store closes at shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.probing));
  }

  /** A `Scheduler.onPassEnd` listener: a good pass makes the pipeline ready; a failed one degrades it and probes its target. */
  passEnded(end: PassEnd): void {
    const e = this.entries.get(end.pipeline);
    if (!e) return;
    const at = end.finishedAt.toISOString();
    if (!end.error) {
      e.state = { status: 'ready', by: 'pass', at, ...(e.watched.probe ? {} : { note: NO_PROBE }) };
      return;
    }
    e.state = { status: 'degraded', by: 'pass', at, ...reasonOf(end.error) };
    void this.probe(e, true);
  }

  /** Whether `pipeline` is ready now. */
  isReady(pipeline: string): boolean {
    return this.entries.get(pipeline)?.state.status === 'ready';
  }

  /** What is known now of every pipeline; starts a new probe of those degraded by a probe older than `reprobeMs`. */
  report(): { ready: boolean; pipelines: Record<string, PipelineReadiness> } {
    const now = Date.now();
    const pipelines: Record<string, PipelineReadiness> = {};
    for (const [name, e] of this.entries) {
      if (e.state.status === 'degraded' && e.state.by === 'probe' && now - Date.parse(e.state.at ?? '') >= this.reprobeMs) void this.probe(e);
      pipelines[name] = { ...e.state };
    }
    return { ready: Object.values(pipelines).every((p) => p.status === 'ready'), pipelines };
  }

  private probe(e: Entry, afterFailedPass = false): Promise<void> {
    const probe = e.watched.probe;
    if (!probe || e.probing || e.watched.isRunning()) return e.probing ?? Promise.resolve();
    const name = e.watched.name;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PipelineError(PipelineCodes.TARGET_UNAVAILABLE, `the target did not answer a connect within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      timer.unref();
    });
    e.probing = Promise.race([probe(), late])
      .then(() => {
        if (!afterFailedPass) e.state = { status: 'ready', by: 'probe', at: new Date().toISOString() };
      })
      .catch((err: unknown) => {
        const why = reasonOf(err);
        e.state = { status: 'degraded', by: 'probe', at: new Date().toISOString(), ...why };
        this.log.warn({ pipeline: name, ...why }, 'target connect failed');
      })
      .finally(() => {
        clearTimeout(timer);
        delete e.probing;
      });
    return e.probing;
  }
}

function reasonOf(err: unknown): { code: string; reason: string } {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : PipelineCodes.UNEXPECTED_ERROR.code;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { code, reason: scrubMessage(message) };
}
