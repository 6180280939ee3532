/**
 * Wires the webhook intake of `rekey serve`: for each served pipeline whose
 * source is a webhook, a route that keys each admitted body as a pass would
 * (content hash, key from the pipeline's mapping), records it in the ledger
 * by group commit (one transaction for the requests that arrived while the
 * last one was written), answers once it is durable, and wakes the
 * pipeline soon after (debounced) so that new submissions do not wait for
 * the next cron tick. On shutdown it refuses new requests with 503 and
 * lets the writes in flight finish.
 */
import type { Logger } from 'pino';
import { intakeRoutes, type Accepted, type IntakeEndpoint } from '../../connectors/webhook/intake.route.js';
import { IntakeError } from '../../connectors/webhook/intake.errors.js';
import { WebhookSource } from '../../connectors/webhook/webhook.source.js';
import type { CompiledMapping } from '../../mappings/index.js';
import { contentHash, submissionKey } from '../../pipelines/flow/submission-key.js';
import type { Actor, IncomingSubmission, ReceiveOutcome } from '../../pipelines/ledger/ledger.types.js';
import { GroupCommit, GroupCommitRefused } from './group-commit.js';
import type { RouteRegistrar } from './server.js';

/** A served pipeline, as far as the intake needs it. */
export interface IntakePipeline {
  name: string;
  source: unknown;
  mapping: CompiledMapping;
}

/** What the intake records into. */
export interface IntakeLedger {
  receive(pipeline: string, runId: string | null, items: readonly IncomingSubmission[], actor: Actor): Promise<ReceiveOutcome[]>;
}

/** Options of {@link WebhookIntake}. */
export interface WebhookIntakeOptions {
  ledger: IntakeLedger;
  actor: Actor;
  log: Logger;
  /** Starts a pass of the pipeline now; resolves when it ends. Absent: nothing is woken. */
  wake?: (pipeline: string) => Promise<void>;
  /** Whether a pass of the pipeline is running (a wake-up then waits for it). */
  isRunning?: (pipeline: string) => boolean;
  /** How long after a new submission the pass starts, gathering those that follow; default 250 ms. */
  wakeDelayMs?: number;
  /** Clock for the replay window (tests). */
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

/** The webhook intake of a set of served pipelines. */
export class WebhookIntake {
  private stopping = false;
  private readonly commits: GroupCommit<IncomingSubmission, ReceiveOutcome>[] = [];
  private readonly wakers: Waker[] = [];
  /** The routes to hand to `startServer`. */
  readonly routes: RouteRegistrar;
  /** Names of the pipelines taking submissions over HTTP. */
  readonly pipelines: string[];

  /** Builds the endpoints of the `pipelines` whose source is a {@link WebhookSource}; the others are left alone. */
  constructor(pipelines: readonly IntakePipeline[], opts: WebhookIntakeOptions) {
    const endpoints = pipelines.filter((p) => p.source instanceof WebhookSource).map((p) => this.endpoint(p, opts));
    this.pipelines = endpoints.map((e) => e.pipeline);
    this.routes = intakeRoutes(endpoints, { isStopping: () => this.stopping, ...(opts.now ? { now: opts.now } : {}) });
  }

  private endpoint(p: IntakePipeline, opts: WebhookIntakeOptions): IntakeEndpoint {
    const source = p.source as WebhookSource;
    const commit = new GroupCommit<IncomingSubmission, ReceiveOutcome>((items) => opts.ledger.receive(p.name, null, items, opts.actor), source.settings);
    this.commits.push(commit);
    const wake = opts.wake;
    let waker: Waker | undefined;
    if (wake) {
      waker = new Waker(() => wake(p.name), () => opts.isRunning?.(p.name) ?? false, opts.wakeDelayMs ?? 250);
      this.wakers.push(waker);
    }
    const accept = async (body: Record<string, unknown>, requestId: string): Promise<Accepted> => {
      const hash = contentHash(body);
      const key = submissionKey(p.mapping, body, hash);
      let outcome: ReceiveOutcome;
      try {
        outcome = await commit.submit({ key, contentHash: hash, body, source: `POST /intake/${p.name} id=${requestId}` });
      } catch (e) {
        if (e instanceof GroupCommitRefused && e.reason === 'full') {
          throw new IntakeError('WEBHOOK_BUSY', `more than ${source.settings.maxPending} submissions are waiting to be recorded; nothing was stored, send it again shortly`, {}, 1);
        }
        if (e instanceof GroupCommitRefused) throw new IntakeError('WEBHOOK_STOPPING', 'the server is shutting down; send it again later', {}, 5);
        opts.log.error({ pipeline: p.name, requestId, err: { code: (e as { code?: unknown }).code, message: (e as Error).message } }, 'the ledger could not record a webhook submission');
        throw new IntakeError('WEBHOOK_UNAVAILABLE', 'the submission could not be recorded; nothing was stored, send it again later', {}, 5);
      }
      if (outcome === 'conflict') {
        opts.log.warn({ pipeline: p.name, requestId, key }, 'same key arrived with different content: recorded as a conflict, not overwritten');
        throw new IntakeError('WEBHOOK_CONFLICT', `a submission with key "${key}" and different content is already recorded; this one is kept aside as a conflict`, { key });
      }
      if (outcome === 'new') waker?.poke();
      return { key, status: outcome === 'new' ? 'accepted' : 'duplicate' };
    };
    return { pipeline: p.name, source, accept };
  }

  /** Refuses new requests (503 `WEBHOOK_STOPPING`) from now on and resolves once every write in flight has finished and answered. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.wakers) w.stop();
    await Promise.all(this.commits.map((c) => c.close()));
  }
}
