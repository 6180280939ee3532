/**
 * Shared setup of the ledger's tests: a state store of one dialect for the
 * whole file, its audit log and ledger, fresh pipeline names, submissions.
 */
import { afterAll, beforeAll } from 'vitest';
import { AuditLog } from '../audit/audit-log.js';
import type { StoreDialect } from '../store/state-store.js';
import type { LedgerState } from './ledger.types.js';
import { openTestStore, type TestStore } from '../store/store.test-helpers.js';
import { Ledger } from './ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

/** What a ledger test works with; the fields are set before the file's first test. */
export interface LedgerTestEnv {
  ts: TestStore;
  ledger: Ledger;
  audit: AuditLog;
}

/** Registers opening (before all tests) and disposing of the store; read the fields inside tests only. */
export function useTestLedger(dialect: StoreDialect): LedgerTestEnv {
  const env = {} as LedgerTestEnv;
  beforeAll(async () => {
    env.ts = await openTestStore(dialect);
    env.audit = new AuditLog(env.ts.store);
    env.ledger = new Ledger(env.ts.store, env.audit, TEST_KEYS);
  });
  afterAll(() => env.ts?.dispose());
  return env;
}

/** Pipeline names unique within a test file: p1, p2, ... */
export function pipelineNames(): () => string {
  let n = 0;
  return () => `p${++n}`;
}

/** A submission as a source hands it over, its content hash derived from the key unless given. */
export function sub(key: string, hash = `sha256:${key}`, body: unknown = { ref: key }) {
  return { key, contentHash: hash, body, source: `test.ndjson:${key}` };
}

/** A retryable error for the moves to `failed` and `dead`. */
export const ERR = { code: 'TARGET_DOWN', disposition: 'retry' as const, message: 'connection refused' };

/** A legal path of moves from `received` to each state. */
export const PATH: Record<LedgerState, LedgerState[]> = {
  received: [],
  mapped: ['mapped'],
  delivering: ['delivering'],
  delivered: ['delivering', 'delivered'],
  failed: ['delivering', 'failed'],
  rejected: ['rejected'],
  dead: ['delivering', 'dead'],
  discarded: ['delivering', 'dead', 'discarded'],
};
