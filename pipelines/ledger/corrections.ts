/**
 * Correct and resubmit: an operator replaces mapped values the legacy
 * system refused (a submission `rejected` by the target, or `dead`, e.g.
 * dead-lettered by the legacy system's answer), and the submission goes
 * back to `received`, so the next pass delivers it under the same key with
 * the corrections applied after mapping (`applyCorrections`). The
 * corrections are citizens' data: they are kept only sealed under the
 * submission's own data key in its `ledger_bodies` row (`corrections`), so
 * an erasure or a body purge removes them with the body. The audit log
 * gets a `corrected` entry with the operator, the reason, the field names
 * and keyed hashes of the values before and after, never a value.
 *
 * A value the mapping refused is a form value, not a mapped one: a
 * submission its mapping rejects cannot be corrected here (fix the mapping
 * and replay it). Cross-field rules of the mapping are not checked again
 * against corrected values; each corrected value is checked against its own
 * field's rules (required, pattern, length, enum, range).
 */
import { seal, unseal, type KeyRing } from '../../lib/envelope.js';
import * as H from '../../mappings/runtime.js';
import type { CompiledMapping, FieldSpec, MapResult } from '../../mappings/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { bodyAad, sealedBodies, sealedBytes } from '../privacy/bodies.js';
import { BODY_JOIN, BODY_TEXT, bodyPipeline } from '../privacy/case-bodies.js';
import { sentAad } from '../privacy/sent-copy.js';
import { readDate } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { readCurrent, writeRows } from './ledger.apply.js';
import { planMoves } from './ledger.plan.js';
import type { Actor, Corrections, LedgerState } from './ledger.types.js';
import { applyCorrections, CHILD, valueAt, type FieldRef } from './corrections.apply.js';

export { applyCorrections };

/** The states a submission may be corrected from: refused by the legacy system (`rejected` by the target, or `dead`). */
export const CORRECTABLE: readonly LedgerState[] = ['dead', 'rejected'];

/** What `correct` needs beside the ledger: the pipeline's compiled mapping (the one its runner maps with) and the audit log's keyed hash. */
export interface CorrectOptions {
  mapping: CompiledMapping;
  piiHash(value: unknown): string;
}

/** What a correction did. */
export interface CorrectResult {
  key: string;
  /** The state it was corrected from. */
  from: LedgerState;
  /** The fields corrected by this call, sorted. */
  fields: string[];
  /** Where the values before came from: the record as last sent, or (never delivered) the body mapped again with earlier corrections. */
  originalFrom: 'sent' | 'mapping';
}

/** Parses `FIELD` or `GROUP[n].FIELD` against the mapping; throws `CORRECTION_UNKNOWN_FIELD` naming the field. */
function fieldRef(mapping: CompiledMapping, field: string): { ref: FieldRef; spec: FieldSpec } {
  const unknown = (why: string) => new PipelineError(PipelineCodes.CORRECTION_UNKNOWN_FIELD, `cannot correct ${field}: ${why}`);
  const m = CHILD.exec(field);
  if (m) {
    const group = mapping.spec.groups.find((g) => g.name === m[1]);
    if (!group) throw unknown(`the mapping has no group ${m[1]} (groups: ${mapping.spec.groups.map((g) => g.name).join(', ') || 'none'})`);
    const spec = group.fields.find((f) => f.name === m[3]);
    if (!spec) throw unknown(`group ${group.name} of the mapping has no field ${m[3]}`);
    return { ref: { field, name: spec.name, group: group.name, index: Number(m[2]) - 1 }, spec };
  }
  const spec = mapping.spec.fields.find((f) => f.name === field);
  if (!spec) {
    const hint = mapping.spec.groups.some((g) => g.fields.some((f) => `${g.name}.${f.name}` === field)) ? ' (name the child row: GROUP[n].FIELD, n from 1)' : '';
    throw unknown(`the mapping has no such field${hint}`);
  }
  return { ref: { field, name: spec.name }, spec };
}

/** Why `value` breaks `spec`'s own rules, as `{rule, message}` (never holding the value); undefined when it keeps them. */
export function fieldProblem(spec: FieldSpec, value: unknown): { rule: string; message: string } | undefined {
  const kind = value === null ? 'null' : typeof value;
  if (!['string', 'number', 'boolean', 'null'].includes(kind) || (typeof value === 'number' && !Number.isFinite(value))) {
    return { rule: 'type', message: 'must be text, a finite number, true, false or null' };
  }
  if (!H.present(value)) return spec.required && spec.default === undefined ? { rule: 'required', message: 'is required but was not given' } : undefined;
  const v = spec.validate;
  if (!v) return undefined;
  const msg = (fallback: string) => v.message ?? fallback;
  if (v.pattern !== undefined && !new RegExp(v.pattern, 'u').test(H.str(value))) return { rule: 'pattern', message: msg(`must match ${v.pattern}`) };
  if (v.length !== undefined) {
    const { min, max } = typeof v.length === 'number' ? { min: v.length, max: v.length } : v.length;
    const n = H.len(value);
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      const text = min === max ? `must be exactly ${min} characters` : min !== undefined && max !== undefined ? `must be ${min} to ${max} characters` : min !== undefined ? `must be at least ${min} characters` : `must be at most ${max} characters`;
      return { rule: 'length', message: v.message ?? `${text} (got ${n})` };
    }
  }
  if (v.enum !== undefined && !H.inList(value, v.enum)) return { rule: 'enum', message: msg(`must be one of ${v.enum.map(String).join(', ')}`) };
  if (v.range !== undefined && !H.inRange(value, v.range.min, v.range.max)) {
    const { min, max } = v.range;
    return { rule: 'range', message: msg(`must be ${min !== undefined ? `at least ${min}` : ''}${min !== undefined && max !== undefined ? ' and ' : ''}${max !== undefined ? `at most ${max}` : ''}`) };
  }
  return undefined;
}

/**
 * Checks `corrections` against `mapping`: every field one of its target
 * fields (`GROUP[n].FIELD` for a child row, n from 1), every value keeping
 * that field's rules. Throws `LEDGER_BAD_REQUEST` for none,
 * `CORRECTION_UNKNOWN_FIELD` or `CORRECTION_INVALID` naming the field and
 * the rule (never the value). Resolves to the parsed references, sorted by field.
 */
export function checkCorrections(mapping: CompiledMapping, corrections: Corrections): FieldRef[] {
  const fields = Object.keys(corrections).sort();
  if (!fields.length) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, 'a correction needs at least one FIELD=VALUE');
  return fields.map((field) => {
    const { ref, spec } = fieldRef(mapping, field);
    const problem = fieldProblem(spec, corrections[field]);
    if (problem) throw new PipelineError(PipelineCodes.CORRECTION_INVALID, `cannot correct ${field}: ${problem.rule}: ${problem.message}`);
    return ref;
  });
}

interface BodyRow {
  erased_at: unknown;
  body: string | Uint8Array | null;
  body_of: number | string | null;
  kid: string | null;
  dek: string | null;
  sent: string | Uint8Array | null;
  corrections: string | null;
  id: number | string | null;
}

/**
 * Corrects submission `key` of `pipeline` (see the module comment), in one
 * transaction: the corrections merged with earlier ones and stored sealed,
 * the row moved back to `received` (attempts reset, as a retry does), and
 * one `corrected` audit entry whose record carries `fields`, `original`
 * and `corrected` (field -> `piiHash` of the value; an absent value hashes
 * as null) and `originalFrom`, with the operator's `reason` on the entry.
 * Throws, with nothing written: `LEDGER_BAD_REQUEST` (no reason, no
 * field), `CORRECTION_UNKNOWN_FIELD`, `CORRECTION_INVALID`,
 * `LEDGER_UNKNOWN_KEY`, `LEDGER_ACTION_REFUSED` (not dead or rejected),
 * `SUBMISSION_ERASED`, `BODY_PURGED`.
 */
export async function correctSubmission(
  store: StateStore,
  audit: AuditLog,
  keys: KeyRing,
  pipeline: string,
  key: string,
  corrections: Corrections,
  reason: string,
  actor: Actor,
  opts: CorrectOptions,
): Promise<CorrectResult> {
  const why = reason?.trim();
  if (!why) throw new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, 'correcting needs a reason');
  const refs = checkCorrections(opts.mapping, corrections);
  const named = `${JSON.stringify(key)} of pipeline ${pipeline}`;
  return store.transaction(async (t) => {
    const current = await readCurrent(store, pipeline, [key], t);
    const plan = (detail: Record<string, unknown>) =>
      planMoves(current, [{ key, to: 'received', detail }], { pipeline, actor, allowedFrom: CORRECTABLE, extra: { reason: why }, now: new Date() });
    plan({});
    const from = current.get(key)!.state;
    const [row] = await store.select<BodyRow>(
      `SELECT l.erased_at, b.id, ${BODY_TEXT} AS body, b.body_of, b.kid, b.dek, s.sent, b.corrections FROM ledger l ${BODY_JOIN} LEFT JOIN ledger_sent s ON s.id = l.id WHERE l.pipeline = $1 AND l.key = $2`,
      [pipeline, key],
      t,
    );
    if (row!.erased_at !== null && row!.erased_at !== undefined) {
      throw new PipelineError(PipelineCodes.SUBMISSION_ERASED, `cannot correct ${named}: it was erased at ${readDate(row!.erased_at)?.toISOString()} (right to erasure)`);
    }
    if (row!.body === null || row!.body === undefined) throw new PipelineError(PipelineCodes.BODY_PURGED, `cannot correct ${named}: its body was purged by the retention policy`);
    if (row!.kid === null || row!.dek === null) throw new PipelineError(PipelineCodes.CORRECTION_INVALID, `cannot correct ${named}: its body is not sealed yet (open the store with rekey once to seal it)`);
    const { kid, dek } = row as { kid: string; dek: string };
    const codec = sealedBodies(keys);
    const mapped = opts.mapping.map(JSON.parse(codec.open(bodyPipeline(pipeline, row!.body_of), 'body', key, { body: row!.body, kid, dek })));
    if (!mapped.ok) {
      const refused = mapped.errors.map((e) => `${e.field}: ${e.rule}`).join('; ');
      throw new PipelineError(PipelineCodes.CORRECTION_INVALID, `cannot correct ${named}: its mapping refuses it (${refused}); a value the mapping refused is a form value: fix the mapping and replay it`);
    }
    const earlier: Corrections = row!.corrections ? (JSON.parse(codec.open(pipeline, 'corrections', key, { body: row!.corrections, kid, dek })) as Corrections) : {};
    applyCorrections(mapped, earlier);
    for (const ref of refs) {
      if (ref.group !== undefined && !mapped.children[ref.group]?.[ref.index!]) {
        const n = mapped.children[ref.group]?.length ?? 0;
        throw new PipelineError(PipelineCodes.CORRECTION_UNKNOWN_FIELD, `cannot correct ${ref.field}: the submission has ${n} ${ref.group} row(s)`);
      }
    }
    const dataKey = keys.unwrap({ kid, wrapped: dek });
    const sent = row!.sent ? (JSON.parse(unseal(dataKey, sealedBytes(row!.sent), sentAad(pipeline, key), `the record sent for ${JSON.stringify(key)}`).toString('utf8')) as MapResult) : undefined;
    const original: Record<string, string> = {};
    const corrected: Record<string, string> = {};
    for (const ref of refs) {
      original[ref.field] = opts.piiHash(valueAt(sent ?? mapped, ref));
      corrected[ref.field] = opts.piiHash(corrections[ref.field]);
    }
    const fields = refs.map((r) => r.field);
    const originalFrom = sent ? 'sent' : 'mapping';
    const { rows, entries } = plan({ fields, original, corrected, originalFrom });
    const merged = JSON.stringify({ ...earlier, ...corrections });
    await store.exec('UPDATE ledger_bodies SET corrections = $1 WHERE id = $2', [seal(dataKey, merged, bodyAad(pipeline, 'corrections', key)).toString('base64'), row!.id], t);
    await writeRows(store, pipeline, rows, t);
    for (const e of entries) e.event = 'corrected';
    await audit.append(entries, { transaction: t });
    return { key, from, fields, originalFrom };
  });
}
