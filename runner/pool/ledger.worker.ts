/**
 * The ledger thread (see `ledger-thread.ts`): a `Ledger` of its own over
 * the runner's SQLite state file, opened without migrating (the main
 * thread migrated it), answering the calls the main thread sends it, each
 * after its COMMIT.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeyRing } from '../../lib/envelope.js';
import { AuditLog } from '../../pipelines/audit/audit-log.js';
import { Ledger } from '../../pipelines/ledger/ledger.js';
import { openStateStore, type StateStore } from '../../pipelines/store/state-store.js';
import { threadError, type LedgerCall, type LedgerReply, type LedgerThreadData } from './ledger-thread.messages.js';

const port = parentPort!;
const data = workerData as LedgerThreadData;
const buffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

let store: StateStore;
try {
  store = await openStateStore(data.stateUrl, { migrate: false, ...(data.writeLock && { writeLock: data.writeLock }) });
} catch (e) {
  port.postMessage({ started: false, error: threadError(e) } satisfies LedgerReply);
  throw e;
}
const keys = new KeyRing(buffer(data.keys.current), data.keys.previous.map(buffer), data.keys.generated);
const ledger = new Ledger(store, new AuditLog(store), keys);

async function run(call: Exclude<LedgerCall, { op: 'close' }>): Promise<unknown> {
  switch (call.op) {
    case 'receive':
      return ledger.receive(...call.args);
    case 'receiveLanes':
      return ledger.receiveLanes(...call.args);
    case 'apply':
      return ledger.apply(...call.args);
  }
}

port.on('message', (call: LedgerCall) => {
  if (call.op === 'close') {
    // The calls before it were answered (the main thread closes once none is pending); the store's queue finishes any left.
    void store.close().finally(() => {
      port.postMessage({ closed: true } satisfies LedgerReply);
      port.close();
    });
    return;
  }
  run(call).then(
    (value) => port.postMessage({ id: call.id, value } satisfies LedgerReply),
    (e: unknown) => port.postMessage({ id: call.id, error: threadError(e) } satisfies LedgerReply),
  );
});
port.postMessage({ started: true } satisfies LedgerReply);
