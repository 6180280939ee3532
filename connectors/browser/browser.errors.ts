/**
 * The browser target's failures (STYLE §3); their codes, dispositions and
 * hints are catalogued in connectors/connector.errors.ts (`BrowserErrors`).
 * The legacy page's own validation message rejects a record
 * (`BROWSER_REJECTED`, never retried); timeouts, 5xx answers and crashed
 * pages fail it (retried, then dead-lettered); no browser or a refused
 * sign-in stops the pipeline. Inside a form, a step throws a
 * {@link ConnectorFailure}, which becomes the record's outcome (or, when
 * `fatal`, stops the target).
 */
import { BrowserErrors, ConnectorFailure } from '../connector.errors.js';

/** Thrown by a step that finds the session expired; the form is started again after signing in. */
export class SessionExpired extends Error {
  override readonly name = 'SessionExpired';
}

/** A Playwright or other error as a retryable failure with a plain message (first line only: Playwright adds call logs). */
export function asFailure(e: unknown): ConnectorFailure {
  if (e instanceof ConnectorFailure) return e;
  const err = e as Error;
  const first = (err.message ?? String(e)).split('\n')[0]!;
  if (err.name === 'TimeoutError') return new ConnectorFailure(BrowserErrors.TIMEOUT, first, { cause: e });
  if (/Target (page, context or browser )?(has been )?closed|crash/i.test(first)) return new ConnectorFailure(BrowserErrors.CRASHED, first, { cause: e });
  return new ConnectorFailure(BrowserErrors.STEP, first, { cause: e });
}
