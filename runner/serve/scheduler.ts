/**
 * Wakes pipelines on their cron schedules. A wake-up only starts a pass; the
 * ledger decides what is due, so a wake-up doubled or skipped by a clock
 * change neither delivers twice nor loses work (the next pass takes it). A
 * pipeline never has two passes at once: a wake-up during a pass is skipped,
 * and so is every wake-up of a paused pipeline.
 */
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { PassTrigger } from '../../pipelines/ledger/ledger.types.js';

/** What started a pass; defined beside the ledger, which records it on the run row. */
export type { PassTrigger };

/** A finished pass, as told to `onPassEnd` listeners. */
export interface PassEnd {
  pipeline: string;
  trigger: PassTrigger;
  startedAt: Date;
  finishedAt: Date;
  /** What the pass resolved to (its summary), when it did not throw. */
  result?: unknown;
  /** Why it failed, when it threw. */
  error?: Error;
}

/** What `Scheduler.request` answers: a pass started, or why none did. */
export type PassStart = 'started' | 'already-running' | 'paused' | 'stopping';

/** What the names of chores' cron tasks start with, so their ticks never share a key with a pipeline's (whose names hold no `:`). */
export const CHORE_PREFIX = 'chore:';

/** Options of a `Scheduler`. */
export interface SchedulerOptions {
  /**
   * Asked before each pass of a pipeline (not chores): a paused pipeline's
   * wake-ups are skipped. `rekey serve` reads the pause from the state
   * store, so every runner sharing it honours it. An answer that throws
   * skips the wake-up (logged).
   */
  isPaused?: (pipeline: string) => Promise<boolean>;
  /**
   * Asked before each scheduled wake-up of a pipeline or a chore (not
   * `runNow`): only the runner it elects runs the tick. `rekey serve` on a
   * PostgreSQL state store passes `scheduleTicks`, so a schedule fires once
   * per tick across the cluster, and a chore runs on one runner per period.
   */
  coordinator?: RunCoordinator;
}

/** One scheduled pipeline and what is known of its runs. */
export interface ScheduledPipeline {
  name: string;
  cron?: string;
  timezone: string;
  running: boolean;
  lastStarted?: string;
  lastFinished?: string;
  lastResult?: unknown;
  lastError?: string;
  nextRun(): string | undefined;
}

/** Runs passes for scheduled pipelines and stops them cleanly. */
export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private readonly listeners: ((end: PassEnd) => void)[] = [];
  readonly pipelines: ScheduledPipeline[] = [];

  constructor(
    private readonly log: Logger,
    private readonly opts: SchedulerOptions = {},
  ) {}

  /**
   * Schedules `pass` for a pipeline. Without `cronExpr` the pipeline only
   * runs when `runNow` is called.
   */
  add(name: string, cronExpr: string | undefined, timezone: string, pass: (trigger: PassTrigger) => Promise<unknown>): ScheduledPipeline {
    let task: ScheduledTask | undefined;
    const entry: ScheduledPipeline = {
      name,
      timezone,
      running: false,
      nextRun: () => task?.getNextRun()?.toISOString(),
      ...(cronExpr ? { cron: cronExpr } : {}),
    };
    const wake = () => this.runNow(entry, pass, { kind: 'schedule' });
    if (cronExpr) {
      const coordinated = this.opts.coordinator ? { distributed: true, runCoordinator: this.opts.coordinator } : {};
      task = cron.schedule(cronExpr, wake, { timezone, name, noOverlap: true, ...coordinated });
      this.tasks.push(task);
    }
    this.pipelines.push(entry);
    return entry;
  }

  /**
   * Schedules `job`, housekeeping such as the retention purge, on `cronExpr`
   * in UTC. It runs like a pass (never two at once in this process, `stop`
   * waits for it) but is not one of `pipelines`. With a coordinator, each
   * tick runs on the one runner it elects (under the key
   * `chore:<name>:<tick>`). Returns a function that runs it now, for the run
   * at start: with a coordinator, only if this runner is the first to ask
   * in the current period (the key `chore:<name>:start:<next tick>`), so
   * runners starting together, or one after another within a period, run
   * it once between them. Each run is logged (`housekeeping chore started`,
   * with the chore and its tick).
   */
  chore(name: string, cronExpr: string, job: () => Promise<unknown>): () => Promise<void> {
    const entry: ScheduledPipeline = { name, cron: cronExpr, timezone: 'UTC', running: false, nextRun: () => task.getNextRun()?.toISOString() };
    const taskName = `${CHORE_PREFIX}${name}`;
    const coordinator = this.opts.coordinator;
    const run = (tick: string) =>
      this.runNow(
        entry,
        () => {
          this.log.info({ chore: name, tick }, 'housekeeping chore started');
          return job();
        },
        { kind: 'schedule' },
      );
    const coordinated = coordinator ? { distributed: true, runCoordinator: coordinator } : {};
    const task = cron.schedule(cronExpr, (c) => run(c.date.toISOString()), { timezone: 'UTC', name: taskName, noOverlap: true, ...coordinated });
    this.tasks.push(task);
    return async () => {
      const tick = `start:${task.getNextRun()?.toISOString() ?? 'never'}`;
      if (coordinator) {
        const elected = await Promise.resolve(coordinator.shouldRun(`${taskName}:${tick}`, 0)).catch((e: unknown) => {
          this.log.error({ chore: name, err: e }, 'cannot tell whether another runner ran this chore in this period; it is skipped until the next tick');
          return false;
        });
        if (!elected) return;
      }
      await run(tick);
    };
  }

  /** Calls `listener` after every pass of a pipeline (not chores), whether it resolved or threw. A listener that throws is logged and ignored. */
  onPassEnd(listener: (end: PassEnd) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Starts a pass now unless one is running, the pipeline is paused (see
   * `SchedulerOptions.isPaused`) or the scheduler is stopping; `trigger`
   * says what asked for it. Resolves when the pass ends, or at once when
   * none starts (a skipped wake-up is logged once).
   */
  runNow(entry: ScheduledPipeline, pass: (trigger: PassTrigger) => Promise<unknown>, trigger: PassTrigger): Promise<void> {
    return this.start(entry, pass, trigger).then((s) => s.done);
  }

  /** As `runNow`, but resolves as soon as it is known whether a pass started, with the answer; the pass goes on. */
  request(entry: ScheduledPipeline, pass: (trigger: PassTrigger) => Promise<unknown>, trigger: PassTrigger): Promise<PassStart> {
    return this.start(entry, pass, trigger).then((s) => s.outcome);
  }

  private async start(entry: ScheduledPipeline, pass: (trigger: PassTrigger) => Promise<unknown>, trigger: PassTrigger): Promise<{ outcome: PassStart; done: Promise<void> }> {
    const none = (outcome: PassStart) => ({ outcome, done: Promise.resolve() });
    if (this.stopping) return none('stopping');
    if (entry.running) {
      this.log.info({ pipeline: entry.name }, 'a pass is still running; this wake-up is skipped');
      return none('already-running');
    }
    entry.running = true;
    const isPaused = this.pipelines.includes(entry) ? this.opts.isPaused : undefined;
    if (isPaused) {
      const paused = await isPaused(entry.name).catch((e: unknown) => {
        this.log.error({ pipeline: entry.name, err: e }, 'cannot tell whether the pipeline is paused; this wake-up is skipped');
        return true;
      });
      if (paused || this.stopping) {
        entry.running = false;
        if (paused) this.log.info({ pipeline: entry.name, trigger: trigger.kind }, 'the pipeline is paused; this wake-up is skipped');
        return none(paused ? 'paused' : 'stopping');
      }
    }
    const startedAt = new Date();
    entry.lastStarted = startedAt.toISOString();
    const end: PassEnd = { pipeline: entry.name, trigger, startedAt, finishedAt: startedAt };
    const p = pass(trigger)
      .then((r) => {
        entry.lastResult = r;
        delete entry.lastError;
        end.result = r;
      })
      .catch((e: unknown) => {
        entry.lastError = (e as Error).message;
        end.error = e instanceof Error ? e : new Error(String(e));
        this.log.error({ pipeline: entry.name, err: e }, 'pass failed');
      })
      .finally(() => {
        entry.running = false;
        end.finishedAt = new Date();
        entry.lastFinished = end.finishedAt.toISOString();
        this.inFlight.delete(p);
        if (this.pipelines.includes(entry)) this.tell(end);
      });
    this.inFlight.add(p);
    return { outcome: 'started', done: p };
  }

  private tell(end: PassEnd): void {
    for (const l of this.listeners) {
      try {
        l(end);
      } catch (e) {
        this.log.error({ pipeline: end.pipeline, err: e }, 'a pass listener failed');
      }
    }
  }

  /** Stops waking pipelines and waits for the passes in flight to finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.tasks) await t.stop();
    await Promise.all([...this.inFlight]);
    for (const t of this.tasks) await t.destroy();
  }

  /** Whether `stop` has been called. */
  get isStopping(): boolean {
    return this.stopping;
  }
}
