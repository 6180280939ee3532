/**
 * Pinning a retryable failure on the record that causes it. A target that
 * cannot write a batch as a whole (one transaction, rolled back on a
 * serialization failure a trigger raises for one row, or on a statement
 * timeout one record causes) answers every record `failed`; retried as it
 * is, the batch fails on every attempt and its valid records are
 * dead-lettered with the bad one. Once such a batch has failed before,
 * {@link bisect} delivers it again in halves, recursively down to single
 * records, within the same delivery: halves that go through are delivered,
 * and only the records whose sub-batch keeps failing keep the failure
 * (as AWS Lambda's `BisectBatchOnFunctionError` does, and as the SQL
 * writer isolates refused rows within its transaction).
 *
 * A target that is down fails every half too: after
 * `ceil(log2 n) + 2` whole failures in a row with nothing going through
 * (room for the deepest path to one bad record and for two bad neighbours
 * under it), splitting stops and the records not tried again keep the
 * failure they had. A target that threw (the whole target unusable, by the
 * `Target.deliver` contract) is never split. Each bad record costs at most
 * two calls per halving, about `2 * log2 n` calls.
 */
import type { MappedRecord, Outcome } from '../../connectors/connector.types.js';

/** One call of the target on some records: what it answered, and whether it threw instead (then `outcomes` are the failures made of its error). */
export interface TargetAnswer {
  outcomes: Outcome[];
  threw: boolean;
}

/** One call a record took part in, for its audit detail: how many records the call carried and what this record got (a failure's code, never its message). */
export interface CallNote {
  size: number;
  status: Outcome['status'] | 'none';
  code?: string;
}

/** What {@link bisect} needs of the delivery it works for. */
export interface BisectHooks {
  /** Calls the target on `part` (paced, observed); rejects only for a fatal error. */
  call(part: MappedRecord[]): Promise<TargetAnswer>;
  /** False once no more calls may be made: the pass was aborted, the write window closed. */
  mayGoOn(): boolean;
}

/** What {@link bisect} settled: one outcome per record that has one (in the order of the records), every call each record took part in, in order, and how many calls it made (after the first). */
export interface Bisected {
  outcomes: Outcome[];
  calls: Map<string, CallNote[]>;
  made: number;
}

/** True when the target answered `part` (of two records or more) with every record `failed`, without throwing. */
export function failedAsWhole(part: readonly MappedRecord[], answer: TargetAnswer): boolean {
  if (answer.threw || part.length < 2) return false;
  const by = new Map(answer.outcomes.map((o) => [o.key, o.status]));
  return part.every((r) => by.get(r.key) === 'failed');
}

/**
 * Delivers `records` again in halves after `first`, the target's answer
 * failing them as a whole (see {@link failedAsWhole}), until each failure
 * stands alone or splitting must stop (see the module comment). A record
 * keeps the outcome of the last call it took part in.
 */
export async function bisect(records: readonly MappedRecord[], first: TargetAnswer, hooks: BisectHooks): Promise<Bisected> {
  const final = new Map<string, Outcome>();
  const calls = new Map<string, CallNote[]>(records.map((r) => [r.key, []]));
  const took = (part: readonly MappedRecord[], answer: TargetAnswer) => {
    const by = new Map(answer.outcomes.map((o) => [o.key, o]));
    for (const r of part) {
      const o = by.get(r.key);
      if (o) final.set(r.key, o);
      else final.delete(r.key);
      const note: CallNote = { size: part.length, status: o?.status ?? 'none' };
      if (o && 'error' in o) note.code = o.error.code;
      calls.get(r.key)!.push(note);
    }
  };
  took(records, first);
  const most = Math.ceil(Math.log2(records.length)) + 2;
  let barren = 0;
  let stopped = false;
  let made = 0;
  const split = async (part: readonly MappedRecord[]): Promise<void> => {
    const mid = Math.ceil(part.length / 2);
    for (const half of [part.slice(0, mid), part.slice(mid)]) {
      if (stopped || barren >= most || !hooks.mayGoOn()) {
        stopped = true;
        return;
      }
      made++;
      const answer = await hooks.call(half);
      took(half, answer);
      if (answer.threw) {
        stopped = true;
        return;
      }
      if (half.every((r) => final.get(r.key)?.status === 'failed')) {
        barren++;
        if (half.length > 1) await split(half);
      } else barren = 0;
    }
  };
  await split(records);
  return { outcomes: records.flatMap((r) => final.get(r.key) ?? []), calls, made };
}
