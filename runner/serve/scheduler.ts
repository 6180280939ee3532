/**
 * Wakes pipelines on their cron schedules. A wake-up only starts a pass; the
 * ledger decides what is due, so a wake-up doubled or skipped by a clock
 * change neither delivers twice nor loses work (the next pass takes it). A
 * pipeline never has two passes at once: a wake-up during a pass is skipped.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

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
  readonly pipelines: ScheduledPipeline[] = [];

  constructor(private readonly log: Logger) {}

  /**
   * Schedules `pass` for a pipeline. Without `cronExpr` the pipeline only
   * runs when `runNow` is called.
   */
  add(name: string, cronExpr: string | undefined, timezone: string, pass: () => Promise<unknown>): ScheduledPipeline {
    let task: ScheduledTask | undefined;
    const entry: ScheduledPipeline = {
      name,
      timezone,
      running: false,
      nextRun: () => task?.getNextRun()?.toISOString(),
      ...(cronExpr ? { cron: cronExpr } : {}),
    };
    const wake = () => this.runNow(entry, pass);
    if (cronExpr) {
      task = cron.schedule(cronExpr, wake, { timezone, name, noOverlap: true });
      this.tasks.push(task);
    }
    this.pipelines.push(entry);
    return entry;
  }

  /**
   * Schedules `job`, housekeeping such as the retention purge, on `cronExpr`
   * in UTC. It runs like a pass (never two at once, `stop` waits for it)
   * but is not one of `pipelines`. Returns a function that runs it now.
   */
  chore(name: string, cronExpr: string, job: () => Promise<unknown>): () => Promise<void> {
    const entry: ScheduledPipeline = { name, cron: cronExpr, timezone: 'UTC', running: false, nextRun: () => task.getNextRun()?.toISOString() };
    const run = () => this.runNow(entry, job);
    const task = cron.schedule(cronExpr, run, { timezone: 'UTC', name, noOverlap: true });
    this.tasks.push(task);
    return run;
  }

  /** Starts a pass now unless one is running or the scheduler is stopping. */
  runNow(entry: ScheduledPipeline, pass: () => Promise<unknown>): Promise<void> {
    if (this.stopping || entry.running) {
      if (entry.running) this.log.info({ pipeline: entry.name }, 'a pass is still running; this wake-up is skipped');
      return Promise.resolve();
    }
    entry.running = true;
    entry.lastStarted = new Date().toISOString();
    const p = pass()
      .then((r) => {
        entry.lastResult = r;
        delete entry.lastError;
      })
      .catch((e: unknown) => {
        entry.lastError = (e as Error).message;
        this.log.error({ pipeline: entry.name, err: e }, 'pass failed');
      })
      .finally(() => {
        entry.running = false;
        entry.lastFinished = new Date().toISOString();
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
    return p;
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
