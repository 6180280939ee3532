/**
 * The browser target's error catalogue (STYLE §3). The legacy page's own
 * validation message rejects a record (`BROWSER_REJECTED`, never retried);
 * timeouts, 5xx answers and crashed pages fail it (retried, then
 * dead-lettered); no browser or a refused sign-in stops the pipeline.
 */
import type { ConnectorError } from '../connector.types.js';

/** Stable codes of the browser target. */
export const BrowserCodes = {
  /** The legacy app showed its own validation message: the record is wrong for it. */
  REJECTED: 'BROWSER_REJECTED',
  /** A step did not finish in time (element never appeared, page never answered). */
  TIMEOUT: 'BROWSER_TIMEOUT',
  /** The legacy app answered a page with HTTP 5xx. */
  SERVER_ERROR: 'BROWSER_SERVER_ERROR',
  /** The page or browser crashed or closed under the form. */
  CRASHED: 'BROWSER_CRASHED',
  /** The session expired again right after signing in. */
  SESSION: 'BROWSER_SESSION',
  /** The steps ran but captured no reference. */
  NO_REFERENCE: 'BROWSER_NO_REFERENCE',
  /** Signing in did not work with the configured credentials. */
  LOGIN_REFUSED: 'BROWSER_LOGIN_REFUSED',
  /** No Chromium could be started. */
  LAUNCH: 'BROWSER_LAUNCH',
  /** Another step failure (a selector that matches nothing usable, an upload file missing). */
  STEP: 'BROWSER_STEP',
} as const;

/** One of {@link BrowserCodes}' values. */
export type BrowserCode = (typeof BrowserCodes)[keyof typeof BrowserCodes];

/** Thrown inside a form when it cannot go on; becomes the record's outcome (or, when `fatal`, stops the target). */
export class BrowserFailure extends Error {
  readonly code: BrowserCode;
  readonly disposition: ConnectorError['disposition'];
  constructor(code: BrowserCode, disposition: ConnectorError['disposition'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrowserFailure';
    this.code = code;
    this.disposition = disposition;
  }

  /** Plain data for logs, the ledger and worker boundaries. */
  toData(): ConnectorError {
    return { code: this.code, disposition: this.disposition, message: this.message };
  }
}

/** Thrown by a step that finds the session expired; the form is started again after signing in. */
export class SessionExpired extends Error {
  override readonly name = 'SessionExpired';
}

/** A Playwright or other error as a retryable failure with a plain message (first line only: Playwright adds call logs). */
export function asFailure(e: unknown): BrowserFailure {
  if (e instanceof BrowserFailure) return e;
  const err = e as Error;
  const first = (err.message ?? String(e)).split('\n')[0]!;
  if (err.name === 'TimeoutError') return new BrowserFailure(BrowserCodes.TIMEOUT, 'retry', first, { cause: e });
  if (/Target (page, context or browser )?(has been )?closed|crash/i.test(first)) return new BrowserFailure(BrowserCodes.CRASHED, 'retry', first, { cause: e });
  return new BrowserFailure(BrowserCodes.STEP, 'retry', first, { cause: e });
}
