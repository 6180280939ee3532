/**
 * The console's "correct and resubmit" form: which mapped fields of a dead
 * or rejected submission an operator may correct (named by the mapping the
 * pipeline's runner maps with, child rows as `GROUP[n].FIELD`), their
 * values for a user granted evidence only, and the form's answers turned
 * into `Ledger.correct`'s corrections. The checks themselves are the
 * ledger's (`pipelines/ledger/corrections.ts`), as for `rekey dlq correct`.
 */
import { dirname, resolve } from 'node:path';
import type { CompiledMapping, MappingSpec } from '../../../mappings/index.js';
import { specFromCanonical } from '../../../mappings/lineage.js';
import { readMappingText } from '../../../pipelines/audit/mapping-texts.js';
import type { StateStore } from '../../../pipelines/store/state-store.js';
import { CORRECTABLE } from '../../../pipelines/ledger/corrections.js';
import type { Corrections, LedgerState } from '../../../pipelines/ledger/ledger.types.js';
import type { Ledger } from '../../../pipelines/ledger/ledger.js';
import { loadMappingFile } from '../../mapping-files.js';
import type { ConsolePipeline } from '../context.js';

/** One correctable field as the form shows it. */
export interface CorrectionField {
  /** `FIELD` or `GROUP[n].FIELD`, as `Ledger.correct` takes it. */
  name: string;
  /** The form input's id and name. */
  input: string;
  /** Whether the mapping marks it personal data. */
  pii: boolean;
  /** Whether the last error names it (the field the legacy system refused). */
  refused: boolean;
  /**
   * Whether the mapping the runner maps with now has this field: a field of
   * the version the submission was keyed with that it dropped cannot be
   * corrected (it would not be sent); one it added is listed after them.
   */
  status: 'both' | 'keyed-only' | 'new';
  /** Whether the value now is a number (a numeric answer is then sent as a number). */
  numeric: boolean;
  /** The value as last sent (or as the mapping makes it), as text; only for a user granted evidence. */
  value?: string;
}

/** The form, or why there is none. */
export type CorrectionForm =
  | { ok: true; mapping: CompiledMapping; fields: CorrectionField[]; keyedWith: string | null; mapsWith: string }
  | { ok: false; why: string };

/** The form input name of field `name`. */
export function inputName(name: string): string {
  return `fix:${name}`;
}

/** Loads the mapping `pipeline`'s runner maps with, from its pipeline file (read afresh: serve reloads it each pass). */
export async function pipelineMapping(p: ConsolePipeline): Promise<CompiledMapping | string> {
  const loaded = await loadMappingFile(resolve(dirname(p.file), p.def.mapping));
  return loaded.compiled ?? `the mapping of ${p.name} has problems (rekey validate ${p.file} lists them)`;
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The fields of submission `key` an operator may correct: every field of the
 * mapping version it was keyed with (when that text is stored; else of the
 * mapping the runner maps with now), and every field of each child row the
 * submission has, then the fields only the mapping of now has. A field the
 * mapping of now dropped is listed but cannot be corrected. Values
 * are read (sent copy, else the body mapped) only to count child rows, and
 * handed out only with `withValues`. Never throws for a submission that
 * cannot be corrected: it says why instead.
 */
export async function correctionForm(ledger: Ledger, p: ConsolePipeline, key: string, state: LedgerState, refusedField: string | null, withValues: boolean): Promise<CorrectionForm> {
  if (!CORRECTABLE.includes(state)) return { ok: false, why: `only a dead or rejected submission can be corrected; this one is ${state}` };
  const mapping = await pipelineMapping(p);
  if (typeof mapping === 'string') return { ok: false, why: mapping };
  const entry = await ledger.get(p.name, key, { body: true });
  if (!entry) return { ok: false, why: 'the submission is no longer in the ledger' };
  if (entry.body === null) return { ok: false, why: 'its body was erased or purged: there is nothing to send again' };
  const mapped = mapping.map(entry.body);
  if (!mapped.ok) return { ok: false, why: 'its mapping refuses it: a value the mapping refused is a form value; fix the mapping and replay it' };
  const sent = await ledger.sentRecord(p.name, key);
  const record = sent ?? mapped;
  const refused = new Set((refusedField ?? '').split(', ').filter(Boolean));
  const now = names(mapping.spec, record);
  const keyed = entry.mappingVersion && entry.mappingVersion !== mapping.version ? await keyedSpec(ledger.store, entry.mappingVersion) : undefined;
  const then = keyed ? names(keyed, record) : now;
  const inNow = new Set(now.map((n) => n.name));
  const inThen = new Set(then.map((n) => n.name));
  const field = (n: Named, status: CorrectionField['status']): CorrectionField => ({
    name: n.name,
    input: inputName(n.name),
    pii: n.pii,
    refused: refused.has(n.name),
    status,
    numeric: typeof n.value === 'number',
    ...(withValues && { value: text(n.value) }),
  });
  const fields = [...then.map((n) => field(n, inNow.has(n.name) ? 'both' : 'keyed-only')), ...now.filter((n) => !inThen.has(n.name)).map((n) => field(n, 'new'))];
  return { ok: true, mapping, fields, keyedWith: entry.mappingVersion, mapsWith: mapping.version };
}

type Named = { name: string; pii: boolean; value: unknown };

/** The fields `spec` names, child rows numbered from 1 as many as `record` has, with `record`'s values. */
function names(spec: MappingSpec, record: { record: Record<string, unknown>; children: Record<string, Record<string, unknown>[]> }): Named[] {
  const out: Named[] = spec.fields.map((f) => ({ name: f.name, pii: f.pii === true, value: record.record[f.name] }));
  for (const g of spec.groups) {
    (record.children[g.name] ?? []).forEach((row, i) => {
      for (const f of g.fields) out.push({ name: `${g.name}[${i + 1}].${f.name}`, pii: f.pii === true, value: row[f.name] });
    });
  }
  return out;
}

/** The mapping spec of stored version `version`, or undefined when its text is not stored or does not read. */
async function keyedSpec(store: StateStore, version: string): Promise<MappingSpec | undefined> {
  try {
    const text = await readMappingText(store, version);
    return text === null ? undefined : specFromCanonical(text, version);
  } catch {
    return undefined;
  }
}

/**
 * The corrections a form asks for: each `fix:FIELD` answer that is not
 * blank, as text, or as a number where the value sent was a number and the
 * answer is one. Names not on the form are ignored.
 */
export function formCorrections(form: Extract<CorrectionForm, { ok: true }>, body: Record<string, unknown>): Corrections {
  const out: Corrections = {};
  for (const f of form.fields) {
    const v = body[f.input];
    if (f.status === 'keyed-only') continue;
    if (typeof v !== 'string' || !v.trim()) continue;
    out[f.name] = f.numeric && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v;
  }
  return out;
}
