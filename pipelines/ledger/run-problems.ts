/**
 * What one run rejected or dead-lettered, read back from its own audit
 * entries (each `rejected` and `dead` entry names its run and carries every
 * record's error, already PII-masked). Read a page at a time in seq order,
 * so a run of a million records never has its errors in memory at once.
 */
import type { ErrorData } from '../../lib/errors.js';
import { MappingErrors } from '../../mappings/mapping.errors.js';
import type { AuditDetail, AuditRecord } from '../audit/audit.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, readDate, readDateStrict, readInt } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';

/** One submission a run did not deliver, and why. Never holds a value of the submission. */
export interface RunProblem {
  key: string;
  /** The form platform's reference: the key's last `/` part (the whole key when it has none). */
  reference: string;
  outcome: 'rejected' | 'dead';
  /** The field(s) at fault, comma-separated, when the error names them. */
  field: string | null;
  code: string;
  message: string;
  at: Date;
}

/** How far from a run's recorded start or finish its audit entry may be looked for. */
const WINDOW_MS = 60_000;

/** The form platform's reference in a ledger key: its last `/` part, or the whole key. */
export function formReference(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 || slash === key.length - 1 ? key : key.slice(slash + 1);
}

const FIELD_PART = /^([^\s:;()]+)(?: \([^)]*\))?: /;

/**
 * The field(s) an error is about: its `field`, else for a mapping's
 * rejection the names its message starts each `; `-separated part with
 * (`FIELD (source): rule: reason`), comma-separated; null when it names none.
 */
export function errorFields(error: ErrorData | null | undefined): string | null {
  if (!error) return null;
  if (error.field) return error.field;
  if (error.code !== MappingErrors.RECORD_REJECTED.code) return null;
  const names = error.message.split('; ').map((part) => FIELD_PART.exec(part)?.[1]).filter((n): n is string => Boolean(n));
  return names.length ? [...new Set(names)].join(', ') : null;
}

/** The seq of the `event` entry of run `runId` appended within a minute of `at`, if any. */
async function runEntrySeq(store: StateStore, pipeline: string, runId: string, event: string, at: Date): Promise<number | null> {
  // SQLite (no statistics) would read the pipeline's every entry through audit_log_pipeline, for its order; the two minutes of `at` are far fewer.
  const rows = await store.select<{ seq: number | string; detail: string }>(
    `SELECT seq, detail FROM audit_log${store.dialect === 'sqlite' ? ' INDEXED BY audit_log_at' : ''} WHERE at >= $1 AND at <= $2 AND pipeline = $3 AND event = $4 ORDER BY seq`,
    [iso(new Date(at.getTime() - WINDOW_MS)), iso(new Date(at.getTime() + WINDOW_MS)), pipeline, event],
  );
  const row = rows.find((r) => (JSON.parse(r.detail) as { runId?: unknown }).runId === runId);
  return row ? readInt(row.seq) : null;
}

/** The problems of one `rejected` or `dead` entry's records, appended at `at`. */
export function toProblems(outcome: 'rejected' | 'dead', at: Date, records: readonly AuditRecord[]): RunProblem[] {
  return records.map((r) => ({
    key: r.key,
    reference: formReference(r.key),
    outcome,
    field: errorFields(r.error),
    code: r.error?.code ?? '',
    message: r.error?.message ?? '',
    at,
  }));
}

/** Where a run's entries are on the log: its pipeline, after which seq they start and before which they end (null: the run goes on). */
export interface RunRange {
  pipeline: string;
  after: number;
  before: number | null;
}

/** The range of run `runId`'s entries; throws `LEDGER_UNKNOWN_RUN` for a run never started. */
export async function runRange(store: StateStore, runId: string): Promise<RunRange> {
  const [run] = await store.select<{ pipeline: string; started_at: unknown; finished_at: unknown }>('SELECT pipeline, started_at, finished_at FROM runs WHERE id = $1', [runId]);
  if (!run) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_RUN, `no run ${JSON.stringify(runId)} was started`);
  const finishedAt = readDate(run.finished_at);
  return {
    pipeline: run.pipeline,
    after: (await runEntrySeq(store, run.pipeline, runId, 'run-started', readDateStrict(run.started_at))) ?? 0,
    before: finishedAt ? await runEntrySeq(store, run.pipeline, runId, 'run-finished', finishedAt) : null,
  };
}

/** The WHERE clause of a range's `rejected` and `dead` entries: `$1` the pipeline, `$2` the seq to start after. */
function problemEntries(range: RunRange): string {
  return `pipeline = $1 AND seq > $2${range.before === null ? '' : ` AND seq < ${range.before}`} AND event IN ('rejected', 'dead')`;
}

/**
 * Yields, in the order they happened, pages of the submissions run `runId`
 * rejected or dead-lettered (at most `pageSize` audit entries, 200 unless
 * told, a page; an entry holds one batch). Throws `LEDGER_UNKNOWN_RUN` for
 * a run never started. Reads only the run's own `rejected` and `dead`
 * entries, between its `run-started` and `run-finished` entries.
 */
export async function* runProblems(store: StateStore, runId: string, opts: { pageSize?: number } = {}): AsyncGenerator<RunProblem[]> {
  const range = await runRange(store, runId);
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? 200));
  let after = range.after;
  for (;;) {
    const rows = await store.select<{ seq: number | string; at: unknown; event: string; detail: string }>(
      `SELECT seq, at, event, detail FROM audit_log WHERE ${problemEntries(range)} ORDER BY seq LIMIT ${pageSize}`,
      [range.pipeline, after],
    );
    if (!rows.length) return;
    const page: RunProblem[] = [];
    for (const r of rows) {
      const detail = JSON.parse(r.detail) as AuditDetail;
      if (detail.runId === runId) page.push(...toProblems(r.event as 'rejected' | 'dead', readDateStrict(r.at), detail.records ?? []));
    }
    after = readInt(rows.at(-1)!.seq);
    if (page.length) yield page;
  }
}

/**
 * How many submissions run `runId` rejected or dead-lettered, as
 * `runProblems` would yield them, counted by the database (its JSON
 * functions) without sending the entries over. Throws `LEDGER_UNKNOWN_RUN`.
 */
export async function countRunProblems(store: StateStore, runId: string): Promise<number> {
  const range = await runRange(store, runId);
  const [count, own] =
    store.dialect === 'sqlite'
      ? [`json_array_length(detail, '$.records')`, `json_extract(detail, '$.runId') = $3`]
      : [`json_array_length(detail::json -> 'records')`, `(detail::json ->> 'runId') = $3`];
  const [row] = await store.select<{ n: number | string | null }>(`SELECT SUM(${count}) AS n FROM audit_log WHERE ${problemEntries(range)} AND ${own}`, [range.pipeline, range.after, runId]);
  return readInt(row?.n ?? 0);
}
