/**
 * The console's "correct and resubmit" form: which mapped fields of a dead
 * or rejected submission an operator may correct (named by the mapping the
 * pipeline's runner maps with, child rows as `GROUP[n].FIELD`), their
 * values for a user granted evidence only, and the form's answers turned
 * into `Ledger.correct`'s corrections. The checks themselves are the
 * ledger's (`pipelines/ledger/corrections.ts`), as for `rekey dlq correct`.
 */
import { dirname, resolve } from 'node:path';
import type { CompiledMapping } from '../../../mappings/index.js';
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
 * mapping, and every field of each child row the submission has. Values
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
  const field = (name: string, pii: boolean, value: unknown): CorrectionField => ({
    name,
    input: inputName(name),
    pii,
    refused: refused.has(name),
    numeric: typeof value === 'number',
    ...(withValues && { value: text(value) }),
  });
  const fields = mapping.spec.fields.map((f) => field(f.name, mapping.piiFields.has(f.name), record.record[f.name]));
  for (const g of mapping.spec.groups) {
    const rows = record.children[g.name] ?? [];
    rows.forEach((row, i) => {
      for (const f of g.fields) fields.push(field(`${g.name}[${i + 1}].${f.name}`, f.pii === true, row[f.name]));
    });
  }
  return { ok: true, mapping, fields, keyedWith: entry.mappingVersion, mapsWith: mapping.version };
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
    if (typeof v !== 'string' || !v.trim()) continue;
    out[f.name] = f.numeric && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v;
  }
  return out;
}
