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
  const rows = await store.select<{ seq: number | string; detail: string }>(
    'SELECT seq, detail FROM audit_log WHERE at >= $1 AND at <= $2 AND pipeline = $3 AND event = $4 ORDER BY seq',
    [iso(new Date(at.getTime() - WINDOW_MS)), iso(new Date(at.getTime() + WINDOW_MS)), pipeline, event],
  );
  const row = rows.find((r) => (JSON.parse(r.detail) as { runId?: unknown }).runId === runId);
  return row ? readInt(row.seq) : null;
}

function toProblems(outcome: 'rejected' | 'dead', at: Date, records: readonly AuditRecord[]): RunProblem[] {
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

/**
 * Yields, in the order they happened, pages of the submissions run `runId`
 * rejected or dead-lettered (at most `pageSize` audit entries, 200 unless
 * told, a page; an entry holds one batch). Throws `LEDGER_UNKNOWN_RUN` for
 * a run never started. Reads only the run's own `rejected` and `dead`
 * entries, between its `run-started` and `run-finished` entries.
 */
export async function* runProblems(store: StateStore, runId: string, opts: { pageSize?: number } = {}): AsyncGenerator<RunProblem[]> {
  const [run] = await store.select<{ pipeline: string; started_at: unknown; finished_at: unknown }>('SELECT pipeline, started_at, finished_at FROM runs WHERE id = $1', [runId]);
  if (!run) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_RUN, `no run ${JSON.stringify(runId)} was started`);
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? 200));
  const finishedAt = readDate(run.finished_at);
  let after = (await runEntrySeq(store, run.pipeline, runId, 'run-started', readDateStrict(run.started_at))) ?? 0;
  const last = finishedAt ? await runEntrySeq(store, run.pipeline, runId, 'run-finished', finishedAt) : null;
  const bound = last === null ? '' : ` AND seq < ${last}`;
  for (;;) {
    const rows = await store.select<{ seq: number | string; at: unknown; event: string; detail: string }>(
      `SELECT seq, at, event, detail FROM audit_log WHERE pipeline = $1 AND seq > $2${bound} AND event IN ('rejected', 'dead') ORDER BY seq LIMIT ${pageSize}`,
      [run.pipeline, after],
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
