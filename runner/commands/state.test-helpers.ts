/** Test helpers for the state commands: a seeded SQLite state store. */
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const ERR = { code: 'TARGET_REFUSED', disposition: 'retry' as const, message: 'case system said no' };

/** The pipeline `seed` fills. */
export const P = 'licences';

/** Seeds `url` with one run of pipeline `licences`: A delivered (and a conflict), B dead after one attempt, C dead after two, D failed, E received. */
export async function seed(url: string): Promise<void> {
  const store = await openStateStore(url);
  const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
  const run = await ledger.startRun(P, 'runner:test:1', 'sha256:map');
  const sub = (key: string, hash = `h-${key}`) => ({ key, contentHash: hash, body: { surname: `Surname-${key}` }, source: `in.ndjson:${key}` });
  await ledger.receive(P, run, ['A', 'B', 'C', 'D', 'E'].map((k) => sub(k)), 'runner:test:1');
  await ledger.receive(P, run, [sub('A', 'other')], 'runner:test:1');
  const go = (key: string, ...moves: ('delivering' | 'delivered' | 'failed' | 'dead')[]) =>
    ledger.apply(P, run, moves.map((to) => ({ key, to, ...(to === 'delivered' ? { legacyRef: `REF-${key}` } : {}), ...(to === 'failed' || to === 'dead' ? { error: ERR } : {}) })), 'runner:test:1', { target: 'sql' });
  await go('A', 'delivering', 'delivered');
  await go('B', 'delivering', 'dead');
  await go('C', 'delivering', 'failed', 'delivering', 'dead');
  await go('D', 'delivering', 'failed');
  await ledger.finishRun(run, { read: 6, receivedNew: 5, duplicates: 0, conflicts: 1, unreadable: 0, rejected: 0, delivered: 1, failed: 1, dead: 2 });
  await store.close();
}
