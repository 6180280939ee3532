/**
 * How `rekey preview` shows a mapped record to a person: the record's place
 * in the file, its key, each field, and each error with field, source and rule.
 */
import type { MapResult } from '../mappings/index.js';
import type { RecordLocation } from '../connectors/connector.types.js';
import type { PathHint } from './preview-hints.js';

/** One previewed record: its mapping result, or why it could not be read. */
export interface PreviewItem {
  at: RecordLocation;
  key?: string;
  result?: MapResult;
  unreadable?: { code: string; message: string };
  /** Required fields whose `from:` path the submission lacks, with the closest path it has. */
  hints?: PathHint[];
}

const MASK = '***';

/** A copy of `result` with PII fields (`FIELD` or `GROUP.FIELD`) replaced by `***`. */
export function maskRecord(result: MapResult, pii: ReadonlySet<string>): MapResult {
  const mask = (rec: Record<string, unknown>, prefix: string) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rec)) out[k] = pii.has(prefix + k) && v !== undefined ? MASK : v;
    return out;
  };
  const children: MapResult['children'] = {};
  for (const [g, rows] of Object.entries(result.children)) children[g] = rows.map((r) => mask(r, `${g}.`));
  return { ...result, record: mask(result.record, ''), children };
}

function show(v: unknown): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

function where(at: RecordLocation): string {
  return `${at.file} record ${at.record}${at.line !== undefined ? ` (line ${at.line})` : ''}`;
}

/** Renders one item as indented text for a terminal. */
export function renderResult(item: PreviewItem): string {
  if (item.unreadable) return `\n✗ ${where(item.at)}: unreadable: ${item.unreadable.message} [${item.unreadable.code}]\n`;
  const r = item.result!;
  let out = `\n${r.ok ? '✓' : '✗'} ${where(item.at)}${item.key ? `  key ${item.key}` : ''}\n`;
  const width = Math.max(4, ...Object.keys(r.record).map((k) => k.length));
  for (const [k, v] of Object.entries(r.record)) out += `    ${k.padEnd(width)}  ${show(v)}\n`;
  for (const [g, rows] of Object.entries(r.children)) {
    rows.forEach((row, i) => {
      out += `    ${g}[${i + 1}]\n`;
      for (const [k, v] of Object.entries(row)) out += `      ${k.padEnd(width)}  ${show(v)}\n`;
    });
  }
  for (const e of r.errors) out += `  error ${e.field}${e.source ? ` (from ${e.source})` : ''}: ${e.rule}: ${e.message}\n`;
  for (const n of r.notes) out += `  note  ${n.field}: ${n.rule}: ${n.message}\n`;
  for (const h of item.hints ?? []) out += `  hint  ${h.field}: ${h.message}\n`;
  return out;
}
