/**
 * Fixed-width record layouts as configured, their JSON Schema, and their
 * compiled form (each field's offset, width and rendering rules), checked
 * once when the target is built: overlapping fields, a pad character the
 * encoding lacks, a total of a field that is not numeric are config errors.
 */
import { firstUnencodable, type OutputEncoding } from './encoding.js';
import { FIXED_FIELD_DEFAULTS, type RecordLayoutConfig, type SignStyle } from './fixed-width.config.js';

export { recordLayoutSchema, type FixedFieldConfig, type RecordLayoutConfig, type SignStyle } from './fixed-width.config.js';

/** Where a header or trailer field's value comes from. */
export type FieldSource =
  | { kind: 'record' }
  | { kind: 'const'; value: string }
  | { kind: 'count'; of: 'records' | 'body' | 'lines' }
  | { kind: 'sum'; field: string; scale: bigint }
  | { kind: 'date'; format: string }
  | { kind: 'sequence' }
  | { kind: 'fileName' };

/** A field ready to render. */
export interface CompiledField {
  name: string;
  /** Spaces before it (a gap left by `start`). */
  gap: number;
  length: number;
  numeric: boolean;
  alignRight: boolean;
  pad: string;
  decimals: number;
  sign: SignStyle;
  truncate: boolean;
  source: FieldSource;
}

/** A record type ready to render. */
export interface CompiledLayout {
  fields: CompiledField[];
  /** Spaces after the last field up to the record length. */
  tail: number;
  width: number;
}

/**
 * Compiles one layout. `where` names it in errors (`detail`,
 * `children.VEHICLES`); `file` says whether header/trailer sources are
 * allowed; `detail` (for header/trailer) is the compiled detail layout that
 * `sum` refers to. Throws an Error with every problem found.
 */
export function compileLayout(config: RecordLayoutConfig, where: string, encoding: OutputEncoding, file: boolean, detail?: CompiledLayout): CompiledLayout {
  const problems: string[] = [];
  const fields: CompiledField[] = [];
  let pos = 0;
  let prev = '';
  for (const f of config.fields) {
    const at = `${where}.${f.name}`;
    const numeric = f.type === 'numeric' || f.count !== undefined || f.sum !== undefined || f.sequence === true;
    const start = f.start === undefined ? pos : f.start - 1;
    if (start < pos) problems.push(`${at} starts at column ${start + 1}, inside ${prev} (which ends at column ${pos})`);
    const pad = f.pad ?? (numeric ? '0' : ' ');
    if (firstUnencodable(pad, encoding) !== undefined || Buffer.byteLength(pad, 'utf8') !== 1) problems.push(`${at}: pad character must be one ASCII character`);
    const sources = [f.value !== undefined, f.count !== undefined, f.sum !== undefined, f.date !== undefined, f.sequence === true, f.fileName === true].filter(Boolean).length;
    if (sources > 1) problems.push(`${at}: give at most one of value, count, sum, date, sequence, fileName`);
    if (!file && (f.count ?? f.sum ?? f.date) !== undefined) problems.push(`${at}: count, sum and date belong in header and trailer layouts`);
    if (!file && (f.sequence === true || f.fileName === true)) problems.push(`${at}: sequence and fileName belong in header and trailer layouts`);
    if (file && sources === 0) problems.push(`${at}: a header or trailer field needs a value, count, sum, date, sequence or fileName`);
    const decimals = f.decimals ?? 0;
    if (!numeric && (f.decimals !== undefined || (f.sign !== undefined && f.sign !== 'none'))) problems.push(`${at}: decimals and sign apply to numeric fields`);
    if (numeric && f.truncate === true) problems.push(`${at}: numeric values are never truncated`);
    let source: FieldSource = { kind: 'record' };
    if (f.value !== undefined) source = { kind: 'const', value: f.value };
    else if (f.count !== undefined) source = { kind: 'count', of: f.count };
    else if (f.date !== undefined) source = { kind: 'date', format: f.date };
    else if (f.sequence === true) source = { kind: 'sequence' };
    else if (f.fileName === true) source = { kind: 'fileName' };
    else if (f.sum !== undefined) {
      const summed = detail?.fields.find((d) => d.name === f.sum && d.source.kind === 'record');
      if (summed === undefined || !summed.numeric) problems.push(`${at}: sum of ${f.sum}, which is not a numeric field of the detail layout`);
      else if (summed.decimals > decimals) problems.push(`${at}: ${decimals} decimals cannot hold the total of ${f.sum}, which has ${summed.decimals}`);
      else source = { kind: 'sum', field: f.sum, scale: 10n ** BigInt(decimals - summed.decimals) };
    }
    fields.push({
      name: f.name,
      gap: Math.max(0, start - pos),
      length: f.length,
      numeric,
      alignRight: (f.align ?? (numeric ? 'right' : 'left')) === 'right',
      pad,
      decimals,
      sign: f.sign ?? FIXED_FIELD_DEFAULTS.sign,
      truncate: f.truncate === true,
      source,
    });
    pos = Math.max(pos, start) + f.length;
    prev = at;
  }
  if (config.length !== undefined && config.length < pos) problems.push(`${where}: length ${config.length} is shorter than its fields, which end at column ${pos}`);
  if (problems.length) throw new Error(`fixed-width layout: ${problems.join('; ')}`);
  const width = config.length ?? pos;
  return { fields, tail: width - pos, width };
}
