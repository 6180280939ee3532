/**
 * Test parts for the flow: a source over an array, and a target that keeps
 * what it is given and fails on purpose as told (the deliberately failing
 * target of the retry tests; it belongs here, not in connectors/).
 */
import pino from 'pino';
import type { Ctx, MappedRecord, Outcome, Source, SourceItem, Target } from '../../connectors/connector.types.js';
import { loadMapping, type CompiledMapping } from '../../mappings/index.js';
import type { FlowPipeline, PassOptions } from './flow.types.js';
import { piiHash } from '../audit/pii.js';

/** A source that yields the given bodies (or unreadable items) once per read. */
export function arraySource(items: (unknown | { unreadable: string })[]): Source & { commits: number } {
  const src = {
    commits: 0,
    async *read(): AsyncIterable<SourceItem> {
      let n = 0;
      for (const it of items) {
        n++;
        const at = { file: 'test.ndjson', record: n, line: n };
        if (it && typeof it === 'object' && 'unreadable' in it) {
          yield { ok: false, error: { code: 'INPUT_MALFORMED_RECORD', disposition: 'reject', message: String(it.unreadable) }, at };
        } else yield { ok: true, body: it, at };
      }
    },
    async commit() {
      src.commits++;
    },
    async close() {},
  };
  return src;
}

/**
 * How the test target treats a key. `poison`: every batch holding the key
 * fails as a whole, retryably, and nothing of it is kept (a transaction a
 * trigger rolls back for that one row).
 */
export type Behaviour = { failTimes?: number; reject?: string; alwaysFail?: boolean; poison?: boolean };

/** A target that stores records by key and fails on purpose as `behaviour` says. */
export class TestTarget implements Target {
  readonly rows = new Map<string, Record<string, unknown>>();
  readonly calls: { key: string; uncertain: boolean; attempt: number }[] = [];
  /** The keys of every call of `deliver`, in order, whatever it answered. */
  readonly batches: string[][] = [];
  /** Throws for every batch, as a target that cannot be reached. */
  down = false;
  /** Answers every record of every batch `failed` (a database that is busy or unreachable behind a target that reports it per record). */
  busy = false;
  private readonly failures = new Map<string, number>();
  constructor(private readonly behaviour: Record<string, Behaviour> = {}) {}
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    this.batches.push(batch.map((r) => r.key));
    if (this.busy || batch.some((r) => this.behaviour[r.key]?.poison)) {
      for (const r of batch) this.calls.push({ key: r.key, uncertain: r.uncertain, attempt: ctx.attempt });
      return batch.map((r) => ({ key: r.key, status: 'failed', error: { code: 'LEGACY_BUSY', disposition: 'retry', message: 'the batch was rolled back' } }));
    }
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1433'), { code: 'ECONNREFUSED' });
    return batch.map((r) => {
      this.calls.push({ key: r.key, uncertain: r.uncertain, attempt: ctx.attempt });
      const b = this.behaviour[r.key] ?? {};
      if (b.reject) return { key: r.key, status: 'rejected', error: { code: 'LEGACY_REJECTED', disposition: 'reject', message: b.reject } };
      const failed = this.failures.get(r.key) ?? 0;
      if (b.alwaysFail || failed < (b.failTimes ?? 0)) {
        this.failures.set(r.key, failed + 1);
        return { key: r.key, status: 'failed', error: { code: 'LEGACY_TIMEOUT', disposition: 'retry', message: 'the legacy system timed out' } };
      }
      if (this.rows.has(r.key)) return { key: r.key, status: 'delivered', legacyRef: String([...this.rows.keys()].indexOf(r.key) + 1), alreadyPresent: true };
      this.rows.set(r.key, r.record);
      return { key: r.key, status: 'delivered', legacyRef: String(this.rows.size) };
    });
  }
}

/** A small mapping of GOV.UK-shaped submissions with one PII field. */
export function testMapping(): CompiledMapping {
  const text = [
    'mapping: flow-test',
    'fields:',
    '  REF: { from: submission_reference, required: true }',
    '  SURNAME: { answer: nm.last_name, transform: [trim, upper], required: true, pii: true }',
    '  POSTCODE: { answer: pc, transform: [postcode] }',
    '',
  ].join('\n');
  return loadMapping('flow-test.yaml', text).compiled!;
}

/** A GOV.UK-shaped submission for `testMapping`. */
export function submission(ref: string, surname = 'Smith', postcode = 'SW1A 1AA'): unknown {
  return {
    form_name: 'F',
    submission_reference: ref,
    answers: [
      { question_id: 'nm', question_text: 'Name', answer_text: surname, last_name: surname },
      { question_id: 'pc', question_text: 'Postcode', answer_text: postcode },
    ],
  };
}

/** A flow pipeline over the test parts; `over` replaces any fact. */
export function testPipeline(source: Source, target: Target, over: Partial<FlowPipeline> = {}): FlowPipeline {
  return {
    name: 'flow-test',
    mapping: testMapping(),
    source,
    target,
    targetName: 'test',
    batchSize: 3,
    concurrency: 1,
    maxAttempts: 3,
    retryDelay: () => 5,
    writeAllowed: () => true,
    nextWriteTime: (now) => now,
    ...over,
  };
}

/** The PII hashing key the tests use. */
export const TEST_PII_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** Pass options for tests: silent log, PII hashed with a fixed test key. */
export function testOptions(over: Partial<PassOptions> = {}): PassOptions {
  return {
    owner: 'runner:test:1',
    actor: 'runner:test:1',
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    leaseMs: 60_000,
    retryWaitMs: 1_000,
    piiHash: (v) => piiHash(v, TEST_PII_KEY),
    ...over,
  };
}
