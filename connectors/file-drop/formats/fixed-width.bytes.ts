/**
 * The fixed-width detail record written straight into bytes: a template of
 * the line (constants, gaps, pad characters, line ending) is copied, then
 * each record field's characters are written at its column through a
 * table from UTF-16 code unit to byte. Only what is certainly the same as
 * the text path goes this way (a character the table lacks, a line break,
 * a value longer than its field, a numeric or other refusal, child rows);
 * everything else is the text path's result, encoded, so the bytes and
 * errors are those of `format` in every case.
 */
import iconv from 'iconv-lite';
import { encodeText, type OutputEncoding } from './encoding.js';
import type { CompiledLayout } from './fixed-width.layout.js';
import { renderNumeric, renderText, type Rendered } from './fixed-width.values.js';
import type { Encoded, FormatRecord, Formatted } from './format.types.js';

/** Byte of each UTF-16 code unit the fast path may write directly; -1 for none (line breaks, characters outside the encoding, non-ASCII in UTF-8). */
function byteTable(encoding: OutputEncoding): Int16Array {
  const table = new Int16Array(65536).fill(-1);
  if (encoding === 'utf-8' || encoding === 'utf-8-bom') {
    for (let c = 0; c < 128; c++) table[c] = c;
  } else {
    const all = Buffer.alloc(256);
    for (let b = 0; b < 256; b++) all[b] = b;
    const chars = iconv.decode(all, encoding);
    for (let b = 0; b < 256; b++) {
      const c = chars.charCodeAt(b);
      if (c !== 0xfffd) table[c] = b;
    }
  }
  table[10] = -1;
  table[13] = -1;
  return table;
}

interface Slot {
  name: string;
  numeric: boolean;
  /** Numeric, unsigned: plain digit text may be written without `renderNumeric`. */
  plainDigits: boolean;
  decimals: number;
  summed: boolean;
  offset: number;
  length: number;
  alignRight: boolean;
  field: CompiledLayout['fields'][number];
}

/**
 * Writes numeric text of plain digits (`1234`, `12.5`: no sign, spaces,
 * separators or currency; at most 15 digits with the implied decimals) as
 * `renderNumeric` renders it in an unsigned field: implied decimals, the
 * leading zeros dropped, aligned, the rest left as the template's pad.
 * Returns the amount in units of the last decimal, or undefined (nothing
 * written) for anything else, which then takes the general path.
 */
function writeDigits(v: string, slot: Slot, out: Buffer): number | undefined {
  const n = v.length;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 46 && dot < 0) dot = i;
    else if (c < 48 || c > 57) return undefined;
  }
  const intLength = dot < 0 ? n : dot;
  const fracLength = dot < 0 ? 0 : n - dot - 1;
  if (intLength === 0 || (dot >= 0 && fracLength === 0) || fracLength > slot.decimals || intLength + slot.decimals > 15) return undefined;
  const total = intLength + slot.decimals;
  const digit = (k: number): number => (k < intLength ? v.charCodeAt(k) : k < intLength + fracLength ? v.charCodeAt(k + 1) : 48) - 48;
  let first = 0;
  while (first < total - 1 && digit(first) === 0) first++;
  const width = total - first;
  if (width > slot.length) return undefined;
  let p = slot.alignRight ? slot.offset + slot.length - width : slot.offset;
  let amount = 0;
  for (let k = first; k < total; k++) {
    const d = digit(k);
    out[p++] = 48 + d;
    amount = amount * 10 + d;
  }
  return amount;
}

/**
 * The `encode` of a fixed-width format for its detail layout, or undefined
 * when a constant cannot be rendered (every record then fails the same way
 * through `format`). `constantText` renders a constant field as `format`
 * does; `summed` names the fields with control totals.
 */
export function detailEncoder(
  detail: CompiledLayout,
  encoding: OutputEncoding,
  eol: string,
  summed: ReadonlySet<string>,
  constantText: (f: CompiledLayout['fields'][number]) => Rendered,
  format: (r: FormatRecord) => Formatted,
): ((r: FormatRecord) => Encoded) | undefined {
  const table = byteTable(encoding);
  const eolBytes = Buffer.from(eol, 'latin1');
  const size = detail.width + eolBytes.length;
  const template = Buffer.alloc(size, 0x20);
  const slots: Slot[] = [];
  let pos = 0;
  for (const f of detail.fields) {
    pos += f.gap;
    if (f.source.kind === 'const') {
      const r = constantText(f);
      if (!r.ok) return undefined;
      const bytes = encodeText(r.text, encoding);
      if (bytes.length !== f.length) return undefined;
      bytes.copy(template, pos);
    } else {
      template.fill(f.pad.charCodeAt(0), pos, pos + f.length);
      slots.push({
        name: f.name,
        numeric: f.numeric,
        plainDigits: f.numeric && f.sign === 'none' && f.decimals <= 14,
        decimals: f.decimals,
        summed: summed.has(f.name),
        offset: pos,
        length: f.length,
        alignRight: f.alignRight,
        field: f,
      });
    }
    pos += f.length;
  }
  eolBytes.copy(template, detail.width);
  const out = Buffer.alloc(size);
  const totals = summed.size > 0;

  const slow = (r: FormatRecord): Encoded => {
    const f = format(r);
    return f.ok ? { ok: true, bytes: encodeText(f.text, encoding), lines: f.lines, amounts: f.amounts } : f;
  };

  return (r) => {
    for (const g in r.children) if ((r.children[g]?.length ?? 0) > 0) return slow(r);
    out.set(template);
    const amounts: Record<string, bigint> | undefined = totals ? {} : undefined;
    const rec = r.record;
    for (let s = 0; s < slots.length; s++) {
      const slot = slots[s]!;
      const v = rec[slot.name];
      if (slot.plainDigits && typeof v === 'string') {
        const amount = writeDigits(v, slot, out);
        if (amount !== undefined) {
          if (amounts && slot.summed) amounts[slot.name] = BigInt(amount);
          continue;
        }
      }
      let text: string;
      if (!slot.numeric && typeof v === 'string') text = v;
      else {
        const rendered = slot.numeric ? renderNumeric(v, slot.field) : renderText(v, slot.field, encoding);
        if (!rendered.ok) return slow(r);
        if (amounts && slot.summed && rendered.amount !== undefined) amounts[slot.name] = rendered.amount;
        text = rendered.text;
      }
      const n = text.length;
      if (n > slot.length) return slow(r);
      let p = slot.alignRight ? slot.offset + slot.length - n : slot.offset;
      for (let i = 0; i < n; i++) {
        const b = table[text.charCodeAt(i)]!;
        if (b < 0) return slow(r);
        out[p++] = b;
      }
    }
    return { ok: true, bytes: out, lines: 1, amounts };
  };
}
