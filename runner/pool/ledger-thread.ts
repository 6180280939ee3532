/**
 * The ledger's busiest writes on a thread of their own, for a runner whose
 * state store is a SQLite file and whose pass maps on worker threads.
 *
 * The state store runs its statements on `node:sqlite`, synchronously, on
 * the thread that calls them. On the main thread that was SQLite's whole
 * execution of every chunk's two transactions (its rows, bodies, sent
 * copies and audit entries, and the fsync of each COMMIT): about half of
 * the main thread's time in a 2-worker pass, so the main thread, which
 * also reads the file, hands chunks to the workers and drives the target,
 * was the pass's bottleneck (BENCHMARKS.md, "The ledger on a thread of its
 * own"). Here `receive`, `receiveLanes` and `apply` run, whole, with their
 * JavaScript between statements, on a `Ledger` of the thread's own over
 * the same file; the main thread sends each call's arguments and waits for
 * its answer, which comes after COMMIT, as before. Every other ledger call
 * stays on the main thread's connection.
 *
 * Both connections are `node:sqlite`, the one copy of SQLite in the
 * process, so they share its lock bookkeeping (two copies must not share
 * a file, see `sqlite-sync.ts`). Their writes take turns on the store's
 * write lock (`write-lock.ts`), which a thread waits for without
 * blocking, before SQLite's own. The thread is started after the main
 * thread opened and migrated the store, and never changes the schema.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KeyRing } from '../../lib/envelope.js';
import type { FlowLedger } from '../../pipelines/flow/flow.types.js';
import type { Ledger } from '../../pipelines/ledger/ledger.js';
import { PipelineCodes, PipelineError } from '../../pipelines/pipeline.errors.js';
import { WriteLock } from '../../pipelines/store/write-lock.js';
import { revivedError, type LedgerCall, type LedgerReply, type LedgerThreadData, type LedgerThreadOp } from './ledger-thread.messages.js';

function workerFile(): { filename: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = fileURLToPath(new URL(ts ? './ledger.worker.ts' : './ledger.worker.js', import.meta.url));
  return { filename, execArgv: ts ? ['--import', 'tsx'] : [] };
}

type Pending = { ok: (v: unknown) => void; fail: (e: Error) => void };

/** A thread running the ledger's writes over a SQLite state file (see the file's comment). */
export class LedgerThread {
  private readonly pending = new Map<number, Pending>();
  /** The answers of the calls out, which `close` waits for. */
  private readonly answers = new Set<Promise<unknown>>();
  private next = 0;
  /** Set once the thread stopped on its own or failed: every call after it fails with this. */
  private stopped: Error | undefined;
  private closing: Promise<void> | undefined;
  /** The thread as a holder of the write lock (`WriteLock.holder` there), taken while it runs: an ended worker's id reads -1. */
  private readonly holder: number;

  private constructor(
    private readonly worker: Worker,
    /** The file's write lock, freed here if the thread ends holding it. */
    private readonly writeLock?: WriteLock,
  ) {
    this.holder = worker.threadId + 1;
    worker.on('message', (m: LedgerReply) => {
      if (!('id' in m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.settled(m.id);
      if ('error' in m) p.fail(revivedError(m.error));
      else p.ok(m.value);
    });
    worker.on('error', (e) => this.stop(e));
    worker.on('exit', (code) => this.stop(new Error(`exited with code ${code}`)));
  }

  /**
   * Starts the thread on the state store at `stateUrl` (a SQLite file,
   * already migrated) with `keys`, and resolves once its store is open.
   * Rejects as opening the store rejects (`STORE_UNAVAILABLE`).
   */
  static async start(stateUrl: string, keys: KeyRing, writeLock?: SharedArrayBuffer): Promise<LedgerThread> {
    const { filename, execArgv } = workerFile();
    const material = keys.material();
    const workerData: LedgerThreadData = { stateUrl, keys: { current: material.current, previous: material.previous, generated: material.generated } };
    if (writeLock) workerData.writeLock = writeLock;
    const worker = new Worker(filename, { workerData, execArgv });
    // Only these listeners are taken off after: the Worker keeps listeners of its own on itself.
    let onMessage: (m: LedgerReply) => void = () => undefined;
    let onError: (e: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    await new Promise<void>((ok, fail) => {
      onError = (e) => fail(new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `the ledger thread could not open the state store: ${e.message}`, { cause: e }));
      onMessage = (m) => ('started' in m && m.started ? ok() : onError('error' in m ? revivedError(m.error) : new Error('no answer')));
      onExit = (code) => onError(new Error(`exited with code ${code}`));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    })
      .catch(async (e: unknown) => {
        await worker.terminate();
        throw e;
      })
      .finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    // It keeps the process alive only while a call is out (see `settled`).
    worker.unref();
    return new LedgerThread(worker, writeLock && new WriteLock(writeLock));
  }

  /** Whether calls are taken: neither closed nor stopped. */
  get running(): boolean {
    return !this.stopped && !this.closing;
  }

  /** Runs `op` with `args` on the thread's ledger; resolves to its answer (after COMMIT), or rejects with its error rebuilt (see `revivedError`). */
  call<K extends LedgerThreadOp>(op: K, args: Parameters<Ledger[K]>): ReturnType<Ledger[K]> {
    const answer = new Promise((ok, fail) => {
      if (this.stopped || this.closing) return fail(this.unavailable());
      const id = this.next++;
      this.pending.set(id, { ok, fail });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, op, args } as LedgerCall);
    });
    this.answers.add(answer);
    const done = () => void this.answers.delete(answer);
    answer.then(done, done);
    return answer as ReturnType<Ledger[K]>;
  }

  /**
   * `ledger` with `receive`, `receiveLanes` and `apply` run on this
   * thread, every other call on `ledger` itself (its prototype).
   */
  ledger(ledger: Ledger): FlowLedger {
    const onThread: Pick<FlowLedger, LedgerThreadOp> = {
      receive: (...args) => this.call('receive', args),
      receiveLanes: (...args) => this.call('receiveLanes', args),
      apply: (...args) => this.call('apply', args),
    };
    return Object.assign(Object.create(ledger) as Ledger, onThread);
  }

  /** Closes the thread's store once the calls out are answered, then ends the thread; calling it again is harmless. */
  close(): Promise<void> {
    return (this.closing ??= this.closeNow());
  }

  private async closeNow(): Promise<void> {
    await Promise.allSettled(this.answers);
    if (this.stopped) return;
    this.worker.ref();
    const closed = new Promise<void>((done) => {
      this.worker.on('message', (m: LedgerReply) => 'closed' in m && done());
      this.worker.once('exit', () => done());
    });
    this.worker.postMessage({ op: 'close' } satisfies LedgerCall);
    await closed;
    this.stopped = new Error('closed');
    await this.worker.terminate();
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private unavailable(): PipelineError {
    return new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `the ledger thread is ${this.closing ? 'closed' : `stopped (${this.stopped!.message})`}`);
  }

  /** The thread ended or failed on its own: every call out fails, as every later one will, and the write lock it may hold is freed. */
  private stop(e: Error): void {
    if (this.stopped) return;
    this.stopped = e;
    this.writeLock?.releaseIfHeldBy(this.holder);
    const out = [...this.pending.values()];
    this.pending.clear();
    for (const p of out) p.fail(new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `the ledger thread stopped (${e.message}) before it answered: the call may or may not have been recorded`, { cause: e }));
  }
}
