/**
 * What every command that runs pipelines needs: the state store, ledger and
 * audit log, the runner's identity, and the PII key for audit hashes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { openStateStore, type StateStore } from '../pipelines/store/state-store.js';
import { Ledger } from '../pipelines/ledger/ledger.js';
import { AuditLog } from '../pipelines/audit/audit-log.js';
import { loadPiiKey, piiHash } from '../pipelines/audit/pii.js';
import { parseDuration } from '../lib/duration.js';
import type { Logger } from 'pino';

/** The state a runner works against. */
export interface Runtime {
  store: StateStore;
  ledger: Ledger;
  audit: AuditLog;
  close(): Promise<void>;
}

/** Opens the state store (`--state`, `REKEY_STATE_URL`, or `.rekey/state.sqlite`) and migrates it. */
export async function openRuntime(stateUrl?: string): Promise<Runtime> {
  const store = await openStateStore(stateUrl);
  const audit = new AuditLog(store);
  const ledger = new Ledger(store, audit);
  return { store, ledger, audit, close: () => store.close() };
}

/** This process as a lease owner and actor: `runner:<host>:<pid>`. */
export function runnerId(): string {
  return `runner:${hostname()}:${process.pid}`;
}

/**
 * The key for keyed hashes of PII in the audit log: `REKEY_AUDIT_PII_KEY`,
 * else the file named by `REKEY_AUDIT_PII_KEY_FILE`, else
 * `.rekey/audit-pii.key`; a missing key file is created with a random key,
 * readable by the owner only. Auditors need this key to check a value.
 * Throws `AUDIT_KEY_INVALID` for a key that is unreadable or too short.
 */
export function piiKey(log?: Logger, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.REKEY_AUDIT_PII_KEY) return loadPiiKey(env);
  const file = resolve(env.REKEY_AUDIT_PII_KEY_FILE ?? '.rekey/audit-pii.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
    log?.warn({ file }, 'created a PII hashing key for the audit log; keep it safe, auditors need it to check values');
  }
  return loadPiiKey({ REKEY_AUDIT_PII_KEY_FILE: file });
}

/** A duration option (`30s`, `5m`), or a usage error naming the option. */
export function durationOption(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`${name} must be a duration like 30s, 5m or 1h, got "${text}"`);
  return ms;
}

/** A command-line value that cannot be used; the CLI exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A PII hashing function bound to the key. */
export function piiHasher(key: Buffer): (value: unknown) => string {
  return (value) => piiHash(value, key);
}
