/**
 * Child process for the durability test: receives a batch into the state
 * store at argv[2], prints `received`, then kills itself with SIGKILL before
 * anything else (no close, no flush).
 */
import { AuditLog } from '../audit/audit-log.js';
import { openStateStore } from '../store/state-store.js';
import { Ledger } from './ledger.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const [url, count] = [process.argv[2], Number(process.argv[3] ?? 100)];
const store = await openStateStore(url);
const ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
const items = Array.from({ length: count }, (_, i) => ({ key: `K${i}`, contentHash: `sha256:${i}`, body: { i }, source: `crash:${i}` }));
await ledger.receive('durable', 'run-x', items, 'runner:child:1');
process.stdout.write('received\n', () => process.kill(process.pid, 'SIGKILL'));
