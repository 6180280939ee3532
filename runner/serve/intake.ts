/**
 * Wires the push sources of `rekey serve` (the webhook): for each served
 * pipeline whose source pushes its submissions (`Source.push`), an
 * admission door (keys each submission as a pass would, records it by
 * group commit, answers once it is durable) and the source's own HTTP
 * routes, which hand their submissions to it. A new submission wakes the
 * pipeline soon after (debounced), so it does not wait for the next cron
 * tick. On shutdown the doors refuse new submissions and let the writes
 * in flight finish.
 */
import type { Logger } from 'pino';
import type { RouteRegistrar, Source } from '../../connectors/connector.types.js';
import type { CompiledMapping } from '../../mappings/index.js';
import type { AdmissionLedger } from '../../pipelines/flow/admission.js';
import { PushDoor } from '../../pipelines/flow/push-door.js';
import type { Actor } from '../../pipelines/ledger/ledger.types.js';

/** A served pipeline, as far as the intake needs it. */
export interface IntakePipeline {
  name: string;
  source: Source;
  mapping: CompiledMapping;
}

/** Options of {@link Intake}. */
export interface IntakeOptions {
  /** What the doors record into. */
  ledger: AdmissionLedger;
  actor: Actor;
  log: Logger;
  /** Starts a pass of the pipeline now; resolves when it ends. Absent: nothing is woken. */
  wake?: (pipeline: string) => Promise<void>;
  /** Whether a pass of the pipeline is running (a wake-up then waits for it). */
  isRunning?: (pipeline: string) => boolean;
  /** How long after a new submission the pass starts, gathering those that follow; default 250 ms. */
  wakeDelayMs?: number;
  /** Clock for the sources' time checks (tests). */
  now?: () => number;
}

/** Wakes one pipeline at most once per delay, after any pass in progress. */
class Waker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly fire: () => Promise<void>,
    private readonly busy: () => boolean,
    private readonly delayMs: number,
  ) {}

  poke(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => this.tick(), this.delayMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.busy()) {
      this.poke();
      return;
    }
    void this.fire();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The push intake of a set of served pipelines. */
export class Intake {
  private readonly doors: PushDoor[] = [];
  private readonly wakers: Waker[] = [];
  /** The routes to hand to `startServer`. */
  readonly routes: RouteRegistrar;
  /** Names of the pipelines whose submissions are pushed. */
  readonly pipelines: string[];

  /** Builds a door and the routes of each of `pipelines` whose source pushes; the others are left alone. */
  constructor(pipelines: readonly IntakePipeline[], opts: IntakeOptions) {
    const registrars: RouteRegistrar[] = [];
    this.pipelines = [];
    for (const p of pipelines) {
      if (!p.source.push) continue;
      registrars.push(p.source.push.routes(p.name, this.door(p, p.source.push.limits, opts), opts.now ? { now: opts.now } : {}));
      this.pipelines.push(p.name);
    }
    this.routes = (app) => {
      for (const add of registrars) add(app);
    };
  }

  private door(p: IntakePipeline, limits: { maxBatch: number; maxPending: number }, opts: IntakeOptions): PushDoor {
    const wake = opts.wake;
    let waker: Waker | undefined;
    if (wake) {
      waker = new Waker(() => wake(p.name), () => opts.isRunning?.(p.name) ?? false, opts.wakeDelayMs ?? 250);
      this.wakers.push(waker);
    }
    const door = new PushDoor({ pipeline: p.name, ledger: opts.ledger, runId: null, actor: opts.actor, log: opts.log }, p.mapping, limits, waker && (() => waker.poke()));
    this.doors.push(door);
    return door;
  }

  /** Refuses new submissions (503 `WEBHOOK_STOPPING` for the webhook) from now on and resolves once every write in flight has finished and answered. */
  async stop(): Promise<void> {
    for (const w of this.wakers) w.stop();
    await Promise.all(this.doors.map((d) => d.close()));
  }
}
