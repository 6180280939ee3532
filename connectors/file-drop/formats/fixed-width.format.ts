/**
 * Fixed-width files: a declared layout per record type (detail, one per
 * child group, optional header and trailer), each field at its column and
 * width. Header and trailer fields carry record counts, control totals
 * (sums kept as integers of the smallest unit, so exact), the file date,
 * sequence number and name. The header is written first with zero totals
 * and rewritten in place at the end (same width).
 */
import { DateTime } from 'luxon';
import { ConnectorFailure, FileDropErrors } from '../../connector.errors.js';
import { valueError } from '../file-drop.errors.js';
import { describeChar, firstUnencodable, LINE_ENDINGS } from './encoding.js';
import { FIXED_WIDTH_DEFAULTS, type FixedWidthFormatConfig } from './fixed-width.config.js';
import { detailEncoder } from './fixed-width.bytes.js';
import { compileLayout, type CompiledLayout } from './fixed-width.layout.js';
import { renderAmount, renderNumeric, renderText, SPECIAL, type Rendered } from './fixed-width.values.js';
import type { ControlTotal, FileFacts, FileFormat, FileTotals, FormatRecord, Formatted } from './format.types.js';

export { fixedWidthFormatSchema, type FixedWidthFormatConfig } from './fixed-width.config.js';

/** Builds the fixed-width format. Throws an Error listing every layout problem. */
export function fixedWidthFormat(config: FixedWidthFormatConfig): FileFormat & { readonly maxRecords: number | undefined } {
  const encoding = config.encoding ?? FIXED_WIDTH_DEFAULTS.encoding;
  const lineEnding = config.lineEnding ?? FIXED_WIDTH_DEFAULTS.lineEnding;
  const eol = lineEnding === 'none' ? '' : LINE_ENDINGS[lineEnding];
  const zone = config.timezone ?? FIXED_WIDTH_DEFAULTS.timezone;
  if (!DateTime.now().setZone(zone).isValid) throw new Error(`fixed-width layout: unknown time zone "${zone}"`);
  const detail = compileLayout(config.detail, 'detail', encoding, false);
  const children = Object.entries(config.children ?? {}).map(([g, l]) => [g, compileLayout(l, `children.${g}`, encoding, false)] as const);
  const header = config.header && compileLayout(config.header, 'header', encoding, true, detail);
  const trailer = config.trailer && compileLayout(config.trailer, 'trailer', encoding, true, detail);
  const fileFields = [...(header?.fields ?? []), ...(trailer?.fields ?? [])];
  const totals: ControlTotal[] = [];
  for (const f of fileFields) {
    if (f.source.kind === 'sum' && !totals.some((t) => t.field === (f.source as { field: string }).field)) {
      const summed = detail.fields.find((d) => d.name === (f.source as { field: string }).field)!;
      totals.push({ field: summed.name, decimals: summed.decimals });
    }
  }
  const summed = new Set(totals.map((t) => t.field));
  const constants = new Map<CompiledLayout['fields'][number], Rendered>();
  for (const layout of [detail, ...children.map(([, l]) => l)]) {
    for (const f of layout.fields) if (f.source.kind === 'const') constants.set(f, constant(f.source.value, f));
  }
  const countWidths = fileFields.filter((f) => f.source.kind === 'count').map((f) => (f.sign === 'leading' || f.sign === 'trailing' ? f.length - 1 : f.length));
  const maxRecords = countWidths.length ? Number(10n ** BigInt(Math.min(...countWidths)) - 1n) - 2 : undefined;
  const extraLines = (header ? 1 : 0) + (trailer ? 1 : 0);

  function line(layout: CompiledLayout, render: (i: number) => Rendered, where: string): string | Formatted {
    let out = '';
    for (let i = 0; i < layout.fields.length; i++) {
      const f = layout.fields[i]!;
      const r = render(i);
      if (!r.ok) return { ok: false, error: valueError(FileDropErrors[r.code], where + f.name, r.message) };
      out += (f.gap ? ' '.repeat(f.gap) : '') + r.text;
    }
    return out + (layout.tail ? ' '.repeat(layout.tail) : '') + eol;
  }

  function constant(value: string, f: CompiledLayout['fields'][number]): Rendered {
    if (f.numeric) return renderNumeric(value, f);
    const bad = firstUnencodable(value, encoding);
    if (bad !== undefined) return { ok: false, code: 'ENCODING', message: `character ${describeChar(bad)} cannot be written in ${encoding}` };
    return renderText(value, f, encoding);
  }

  function recordLine(layout: CompiledLayout, rec: Record<string, unknown>, where: string, amounts?: Record<string, bigint>): string | Formatted {
    let out = '';
    for (const f of layout.fields) {
      if (f.gap) out += ' '.repeat(f.gap);
      const v = f.source.kind === 'record' ? rec[f.name] : undefined;
      if (!f.numeric && typeof v === 'string' && v.length <= f.length && !SPECIAL.test(v)) {
        out += f.alignRight ? v.padStart(f.length, f.pad) : v.padEnd(f.length, f.pad);
        continue;
      }
      const r = f.source.kind === 'const' ? (constants.get(f) ?? constant(f.source.value, f)) : f.numeric ? renderNumeric(v, f) : renderText(v, f, encoding);
      if (!r.ok) return { ok: false, error: valueError(FileDropErrors[r.code], where + f.name, r.message) };
      if (amounts && r.amount !== undefined && summed.has(f.name)) amounts[f.name] = r.amount;
      out += r.text;
    }
    return out + (layout.tail ? ' '.repeat(layout.tail) : '') + eol;
  }

  function fileLine(layout: CompiledLayout, file: FileFacts, t: FileTotals, which: string): string {
    const text = line(
      layout,
      (i) => {
        const f = layout.fields[i]!;
        const s = f.source;
        switch (s.kind) {
          case 'const':
            return constant(s.value, f);
          case 'count':
            return renderAmount(BigInt(s.of === 'records' ? t.records : s.of === 'body' ? t.lines : t.lines + extraLines), f);
          case 'sum':
            return renderAmount((t.sums[s.field] ?? 0n) * s.scale, f);
          case 'sequence':
            return renderAmount(BigInt(file.sequence), f);
          case 'date':
            return renderText(DateTime.fromJSDate(file.createdAt, { zone }).toFormat(s.format), f, encoding);
          case 'fileName':
            return renderText(file.name, f, encoding);
          default:
            return renderText('', f, encoding);
        }
      },
      `${which}.`,
    );
    if (typeof text !== 'string') throw new ConnectorFailure(FileDropErrors.CONFIG, `file ${file.name}: ${text.ok ? '' : text.error.message}`);
    return text;
  }

  const zero = (): FileTotals => ({ records: 0, lines: 0, sums: {} });

  function format(r: FormatRecord): Formatted {
    const amounts: Record<string, bigint> | undefined = totals.length ? {} : undefined;
    const first = recordLine(detail, r.record, '', amounts);
    if (typeof first !== 'string') return first;
    let text = first;
    let lines = 1;
    for (const group of Object.keys(r.children)) {
      const rows = r.children[group] ?? [];
      if (!rows.length) continue;
      const layout = children.find(([g]) => g === group)?.[1];
      if (!layout) return { ok: false, error: valueError(FileDropErrors.VALUE, group, 'child rows with no layout under format.children') };
      for (let i = 0; i < rows.length; i++) {
        const child = recordLine(layout, rows[i]!, `${group}[${i + 1}].`);
        if (typeof child !== 'string') return child;
        text += child;
        lines++;
      }
    }
    return { ok: true, text, lines, amounts };
  }

  const encode = detailEncoder(detail, encoding, eol, summed, (f) => constants.get(f) ?? constant((f.source as { value: string }).value, f), format);

  return {
    encoding,
    extension: 'dat',
    totals,
    maxRecords,
    begin(file) {
      return header ? fileLine(header, file, zero(), 'header') : '';
    },
    format,
    ...(encode ? { encode } : {}),
    end(file, t) {
      return { head: header ? fileLine(header, file, t, 'header') : undefined, tail: trailer ? fileLine(trailer, file, t, 'trailer') : '' };
    },
  };
}
