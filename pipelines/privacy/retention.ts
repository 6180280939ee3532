/**
 * How long a pipeline keeps what it holds of citizens' data, and which
 * ledger states start the clock. Pure: the purge (`purge.ts`) applies it.
 *
 * A submission's clock starts when it reaches a final state: one no runner
 * moves it out of by itself (only an operator's retry, replay or discard
 * does). Its `updated_at` is then the time it got there.
 *
 * - `delivered`: keyed into the legacy system (a later answer of the
 *   legacy system may still dead-letter it, which restarts the clock);
 * - `rejected`: the mapping refused it; an operator may replay it after
 *   fixing the mapping, within the body retention;
 * - `dead`: dead-lettered; an operator may retry it within the body
 *   retention, after which `dlq retry` says `BODY_PURGED`;
 * - `discarded`: given up on by an operator.
 *
 * `received`, `mapped`, `delivering` and `failed` submissions are still on
 * their way and are never purged, whatever their age.
 */
import type { LedgerState } from '../ledger/ledger.types.js';
import type { SealedFileKind } from '../../connectors/connector.types.js';
import type { RetentionPolicy } from '../definition/pipeline.types.js';

export type { RetentionPolicy } from '../definition/pipeline.types.js';

/** The states that start a submission's retention clock (see the module comment). */
export const FINAL_STATES: readonly LedgerState[] = ['delivered', 'rejected', 'dead', 'discarded'];

const DAY = 86_400_000;

/**
 * The periods used when a pipeline file has no `retention:` block (or
 * leaves a setting out). Bodies 30 days: long enough to retry a dead
 * letter or replay a rejection after the usual monthly checks. Evidence and
 * quarantined inbox files 90 days: disputes about what was keyed come
 * within a quarter, and a quarantined file needs a sender's answer. Inbox
 * `done/` files 30 days, like bodies. Ledger rows 730 days (two years): a
 * deleted row forgets the key, so a submission sent again after that is
 * keyed again; two years outlasts any source's replay or resend, and the
 * audit log keeps the trail either way.
 */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = {
  bodiesMs: 30 * DAY,
  evidenceMs: 90 * DAY,
  inboxDoneMs: 30 * DAY,
  inboxQuarantineMs: 90 * DAY,
  ledgerMs: 730 * DAY,
};

/** What a purge removes, as named on its audit entries and reports. */
export type PurgeKind = 'bodies' | 'conflicts' | SealedFileKind | 'ledger';

/** Every purge kind, in the order a purge runs them (bodies before the rows that hold them). */
export const PURGE_KINDS: readonly PurgeKind[] = ['bodies', 'conflicts', 'evidence', 'inbox-done', 'inbox-quarantine', 'ledger'];

/** The period of `kind` under `policy`. */
export function periodOf(policy: RetentionPolicy, kind: PurgeKind): number {
  switch (kind) {
    case 'bodies':
    case 'conflicts':
      return policy.bodiesMs;
    case 'evidence':
      return policy.evidenceMs;
    case 'inbox-done':
      return policy.inboxDoneMs;
    case 'inbox-quarantine':
      return policy.inboxQuarantineMs;
    case 'ledger':
      return policy.ledgerMs;
  }
}

/** The moment before which `kind` is past retention at `now`. */
export function cutoff(policy: RetentionPolicy, kind: PurgeKind, now: Date): Date {
  return new Date(now.getTime() - periodOf(policy, kind));
}
