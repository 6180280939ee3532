/**
 * Alerts of `rekey serve`: after each pass of a pipeline that names
 * `alerts.webhooks`, posts a JSON message to each webhook subscribed to the
 * event. The events, per pipeline, as this process sees its passes:
 *
 * - `pass-failed`: a pass threw, and the pass before it (or the start of
 *   the process) did not; further failures in a row send nothing more.
 * - `dead-letters`: after a pass (failed or not), the pipeline's dead
 *   letters in the ledger are more than after the pass before (at the
 *   first pass: more than none).
 * - `recovered`: a pass succeeded after a `pass-failed`, or the dead
 *   letters are back to none after a `dead-letters`; `cleared` says which.
 *
 * A restarted process does not repeat what the one before it said: when
 * a pipeline is added, its watch starts from the store, as failing when its
 * latest finished pass failed and with the dead letters the ledger holds
 * then counted as seen (and as alerted, so that none left gives
 * `recovered`).
 *
 * A message holds a `text` line (shown by Slack and Teams incoming
 * webhooks) and structured fields: pipeline, event, time, trigger, run id,
 * error code, counts, a console link when `REKEY_CONSOLE_URL` is set. Never
 * a citizen's data, never an error message (codes only). A webhook URL is
 * a secret: it is never logged; a webhook is named by its place in the
 * file (`webhook: 1`). Sending retries with backoff on a timeout, a
 * network error, 429 or 5xx, never on another 4xx; a failure is logged
 * (status or code) and never touches the pass.
 */
import type { Logger } from 'pino';
import type { Ledger } from '../../pipelines/ledger/ledger.js';
import type { AlertEvent } from '../../pipelines/definition/pipeline.types.js';
import type { ResolvedAlertWebhook } from '../pipeline-files.js';
import type { PassEnd } from './scheduler.js';
import { PipelineCodes } from '../../pipelines/pipeline.errors.js';

const UNEXPECTED = PipelineCodes.UNEXPECTED_ERROR.code;

/** The JSON body posted to a webhook. */
export interface AlertMessage {
  text: string;
  pipeline: string;
  event: AlertEvent;
  /** ISO time the pass finished. */
  at: string;
  /** What started the pass: schedule, start, watch, webhook, console. */
  trigger: string;
  runId?: string;
  /** On `pass-failed`: the error's code (`UNEXPECTED_ERROR` when it has none). */
  errorCode?: string;
  /** The pass's counts (read, receivedNew, delivered, dead, ...), when it finished. */
  counts?: Record<string, number>;
  /** Dead letters in the ledger after the pass. */
  deadLetters?: number;
  /** On `dead-letters`: how many more than after the pass before. */
  newDeadLetters?: number;
  /** On `recovered`: which alerted conditions ended. */
  cleared?: ('pass-failed' | 'dead-letters')[];
  /** The pass's (or the pipeline's) console page, with `consoleUrl`. */
  link?: string;
}

/** How alerts are sent. */
export interface AlertOptions {
  log: Logger;
  /** Where dead letters are counted and a failed pass's run is found. */
  ledger: Pick<Ledger, 'counts' | 'runs'>;
  /** Base URL of the console (`REKEY_CONSOLE_URL`), for links. */
  consoleUrl?: string;
  /** Per attempt; default 10 s. */
  timeoutMs?: number;
  /** Attempts in all; default 3. */
  attempts?: number;
  /** Wait before the second attempt, doubled after each; default 1 s. */
  backoffMs?: number;
}

interface Watch {
  webhooks: ResolvedAlertWebhook[];
  failing: boolean;
  deadAlerted: boolean;
  deadSeen: number;
  /** Settles once the watch has been set from the store (see the file's comment). */
  primed: Promise<void>;
}

const PASS_COUNTS = ['read', 'receivedNew', 'duplicates', 'conflicts', 'unreadable', 'rejected', 'delivered', 'failed', 'dead', 'waitingRetry'] as const;

/** Decides and sends the alerts of the pipelines added to it; see the file's comment for when. */
export class Alerter {
  private readonly watches = new Map<string, Watch>();
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly opts: AlertOptions) {}

  /** Watches `pipeline`'s passes for its `webhooks`; none: nothing is watched. */
  add(pipeline: string, webhooks: readonly ResolvedAlertWebhook[]): void {
    if (!webhooks.length) return;
    const w: Watch = { webhooks: [...webhooks], failing: false, deadAlerted: false, deadSeen: 0, primed: Promise.resolve() };
    w.primed = this.prime(pipeline, w);
    this.watches.set(pipeline, w);
  }

  /** Starts `w` from the store: the latest finished pass and the dead letters now. Without them (a store error), it starts clear and logs why. */
  private async prime(pipeline: string, w: Watch): Promise<void> {
    try {
      const [runs, counts] = await Promise.all([this.opts.ledger.runs(pipeline, 5), this.opts.ledger.counts(pipeline)]);
      w.failing = runs.find((r) => r.finishedAt !== null)?.error != null;
      w.deadSeen = counts[pipeline]?.dead ?? 0;
      w.deadAlerted = w.deadSeen > 0;
    } catch (e) {
      this.opts.log.warn({ pipeline, code: (e as { code?: string }).code ?? UNEXPECTED }, 'alerts: the last pass and dead letters could not be read; starting clear');
    }
  }

  /** For `Scheduler.onPassEnd`: works out and sends this pass's alerts in the background; never throws. */
  passEnded(end: PassEnd): void {
    const w = this.watches.get(end.pipeline);
    if (!w) return;
    const p = w.primed.then(() => this.decide(end, w)).catch((e: unknown) => this.opts.log.error({ pipeline: end.pipeline, code: (e as { code?: string }).code ?? UNEXPECTED }, 'alerts could not be worked out'));
    this.sending.add(p);
    void p.finally(() => this.sending.delete(p));
  }

  /** Waits for the alerts being sent (for a clean stop). */
  async settled(): Promise<void> {
    while (this.sending.size) await Promise.allSettled([...this.sending]);
  }

  private async decide(end: PassEnd, w: Watch): Promise<void> {
    const result = (end.result ?? {}) as Record<string, unknown>;
    const base: Omit<AlertMessage, 'text' | 'event'> = {
      pipeline: end.pipeline,
      at: end.finishedAt.toISOString(),
      trigger: end.trigger.kind,
      ...(typeof result.runId === 'string' && { runId: result.runId }),
      ...(end.result !== undefined && { counts: Object.fromEntries(PASS_COUNTS.filter((k) => typeof result[k] === 'number').map((k) => [k, result[k] as number])) }),
    };
    if (end.error && base.runId === undefined) {
      const runId = await this.failedRun(end);
      if (runId) base.runId = runId;
    }
    const link = this.link(end.pipeline, base.runId);
    const out: AlertMessage[] = [];
    const cleared: ('pass-failed' | 'dead-letters')[] = [];
    if (end.error) {
      if (!w.failing) {
        const errorCode = (end.error as { code?: unknown }).code;
        const code = typeof errorCode === 'string' ? errorCode : UNEXPECTED;
        out.push({ ...base, event: 'pass-failed', errorCode: code, text: `rekey: pipeline ${end.pipeline}: a pass failed (${code})`, ...(link && { link }) });
      }
      w.failing = true;
    } else if (w.failing) {
      w.failing = false;
      cleared.push('pass-failed');
    }
    let dead: number | undefined;
    try {
      dead = (await this.opts.ledger.counts(end.pipeline))[end.pipeline]?.dead ?? 0;
    } catch (e) {
      this.opts.log.warn({ pipeline: end.pipeline, code: (e as { code?: string }).code ?? UNEXPECTED }, 'dead letters could not be counted for alerts');
    }
    if (dead !== undefined) {
      if (dead > w.deadSeen) {
        const rise = dead - w.deadSeen;
        out.push({ ...base, event: 'dead-letters', deadLetters: dead, newDeadLetters: rise, text: `rekey: pipeline ${end.pipeline}: ${rise} new dead letter${rise === 1 ? '' : 's'} (${dead} in all)`, ...(link && { link }) });
        w.deadAlerted = true;
      } else if (dead === 0 && w.deadAlerted) {
        w.deadAlerted = false;
        cleared.push('dead-letters');
      }
      w.deadSeen = dead;
    }
    if (cleared.length) {
      const what = cleared.map((c) => (c === 'pass-failed' ? 'passes succeed again' : 'no dead letters left')).join('; ');
      out.push({ ...base, event: 'recovered', cleared, ...(dead !== undefined && { deadLetters: dead }), text: `rekey: pipeline ${end.pipeline} recovered: ${what}`, ...(link && { link }) });
    }
    await Promise.all(out.flatMap((m) => w.webhooks.map((h, i) => (h.on.includes(m.event) ? this.send(h.url, i + 1, m) : Promise.resolve()))));
  }

  /** The run a failed pass recorded (the pipeline's latest, failed, started since the pass began), if it got as far as recording one. */
  private async failedRun(end: PassEnd): Promise<string | undefined> {
    const [run] = await this.opts.ledger.runs(end.pipeline, 1).catch(() => []);
    return run && run.error && run.startedAt.getTime() >= end.startedAt.getTime() ? run.id : undefined;
  }

  private link(pipeline: string, runId: string | undefined): string | undefined {
    const base = this.opts.consoleUrl?.replace(/\/+$/, '');
    if (!base) return undefined;
    return runId ? `${base}/passes/${encodeURIComponent(runId)}` : `${base}/pipelines/${encodeURIComponent(pipeline)}`;
  }

  /** Posts `m` to `url` (the file's `webhook` number `n`), retrying as the file's comment says; logs the outcome without the URL. */
  private async send(url: string, n: number, m: AlertMessage): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    const at = { pipeline: m.pipeline, event: m.event, webhook: n };
    let wait = this.opts.backoffMs ?? 1000;
    for (let attempt = 1; ; attempt++) {
      let failure: { status?: number; code?: string };
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(m), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000), redirect: 'error' });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.opts.log.info({ ...at, attempt }, 'alert sent');
          return;
        }
        failure = { status: res.status };
        if (res.status < 500 && res.status !== 429) {
          this.opts.log.warn({ ...at, attempt, status: res.status }, 'alert refused by the webhook; not retried');
          return;
        }
      } catch (e) {
        failure = { code: errorCode(e) };
      }
      if (attempt >= attempts) {
        this.opts.log.warn({ ...at, attempt, ...failure }, 'alert not delivered; giving up');
        return;
      }
      this.opts.log.warn({ ...at, attempt, ...failure }, 'alert not delivered; retrying');
      await new Promise((r) => setTimeout(r, wait));
      wait *= 2;
    }
  }
}

/** A code for a failed fetch: `TIMEOUT`, the network error's code (`ECONNREFUSED`), or `FETCH_FAILED`; never its message, which may hold the URL. */
function errorCode(e: unknown): string {
  const err = e as { name?: string; cause?: { code?: unknown } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'TIMEOUT';
  const netCode = err.cause?.code;
  return typeof netCode === 'string' ? netCode : 'FETCH_FAILED';
}
