/**
 * Signed audit checkpoints by default for `rekey serve`: with
 * `REKEY_AUDIT_CHECKPOINTS` (a write-once folder or an http(s) URL) and
 * `REKEY_AUDIT_SIGNING_KEY` (an Ed25519 private key file), serve signs the
 * chain head and writes it there at start, on `REKEY_AUDIT_CHECKPOINT_CRON`
 * (UTC; hourly on the hour by default) and at shutdown. Without them it
 * warns once at start: the log is then tamper-evident only against edits
 * inside the chain, not against a rewrite of the whole chain or its tail.
 * On a state store shared by several runners, a head that another runner
 * has signed already is not signed again.
 */
import { readFile } from 'node:fs/promises';
import cron from 'node-cron';
import type { Logger } from 'pino';
import type { AuditLog } from '../../pipelines/audit/audit-log.js';
import { parsePrivateKey } from '../../pipelines/audit/checkpoints.js';
import { openCheckpointStore, type CheckpointStore } from '../../pipelines/audit/checkpoint-store.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';

/** When serve writes a checkpoint unless `REKEY_AUDIT_CHECKPOINT_CRON` says otherwise: hourly, on the hour (UTC). */
export const CHECKPOINT_CRON = '0 * * * *';

/** What serve logs, once, when checkpoints are not configured. */
export const CHECKPOINTS_OFF =
  'audit checkpoints are off: without signed checkpoints kept where this runner cannot rewrite them, a rewrite of the whole audit chain or of its tail cannot be detected. ' +
  'Set REKEY_AUDIT_CHECKPOINTS to a write-once folder or http(s) URL and REKEY_AUDIT_SIGNING_KEY to a key from `rekey audit keygen`; see docs/audit-checkpoints.md';

/** A configured checkpoint writer. */
export interface AuditCheckpoints {
  /** UTC cron expression for the schedule. */
  cron: string;
  /** Signs the head and writes it unless it was written already; logs the outcome, never throws. */
  writeNow(): Promise<void>;
}

/**
 * Reads the checkpoint settings from `env`. Returns null, after logging
 * `CHECKPOINTS_OFF` as a warning, when either setting is missing. Throws
 * `AUDIT_KEY_INVALID` for an unreadable or wrong key,
 * `AUDIT_CHECKPOINTS_UNAVAILABLE` for an unusable place or schedule: serve
 * should not start then.
 */
export async function auditCheckpoints(env: NodeJS.ProcessEnv, audit: AuditLog, log: Logger, opts: { shared?: boolean } = {}): Promise<AuditCheckpoints | null> {
  const dest = env.REKEY_AUDIT_CHECKPOINTS;
  const keyFile = env.REKEY_AUDIT_SIGNING_KEY;
  if (!dest || !keyFile) {
    const missing = [dest ? null : 'REKEY_AUDIT_CHECKPOINTS', keyFile ? null : 'REKEY_AUDIT_SIGNING_KEY'].filter(Boolean);
    log.warn({ missing }, CHECKPOINTS_OFF);
    return null;
  }
  const pem = await readFile(keyFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new PipelineError(PipelineCodes.AUDIT_KEY_INVALID, `cannot read the signing key ${keyFile}: ${e.code ?? 'error'}`);
  });
  parsePrivateKey(pem);
  const schedule = env.REKEY_AUDIT_CHECKPOINT_CRON || CHECKPOINT_CRON;
  if (!cron.validate(schedule)) throw new PipelineError(PipelineCodes.AUDIT_CHECKPOINTS_UNAVAILABLE, `REKEY_AUDIT_CHECKPOINT_CRON ${JSON.stringify(schedule)} is not a cron expression`);
  const store = await openCheckpointStore(dest);
  log.info({ where: store.location, cron: schedule }, 'audit checkpoints on');
  const last = { seq: 0 };
  return { cron: schedule, writeNow: () => writeHead(audit, store, pem, log, last, opts.shared === true) };
}

/** Signs and writes the head unless `last.seq` (the last seq this process wrote) is still the head, or, `shared`, the store holds a checkpoint of it (see `AuditLog.checkpointUnlessSigned`). */
async function writeHead(audit: AuditLog, store: CheckpointStore, pem: string, log: Logger, last: { seq: number }, shared: boolean): Promise<void> {
  try {
    const head = await audit.head();
    if (head.seq === 0 || head.seq === last.seq) return;
    const cp = shared ? await audit.checkpointUnlessSigned(pem) : await audit.checkpoint(pem);
    if (!cp) return;
    const { outcome, where } = await store.write(cp);
    last.seq = cp.seq;
    if (outcome === 'written') log.info({ seq: cp.seq, where }, 'audit checkpoint written');
    else if (outcome === 'exists') log.info({ seq: cp.seq, where }, 'audit checkpoint already written for this seq');
    else log.error({ seq: cp.seq, where }, 'a checkpoint with another head is already stored for this seq: the audit chain was rewritten since; run rekey audit verify');
  } catch (e) {
    log.error({ where: store.location, err: { code: (e as { code?: string }).code, message: (e as Error).message } }, 'audit checkpoint not written; next try on the schedule');
  }
}
