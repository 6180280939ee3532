/**
 * Streaming export of the audit log, page by page (memory stays bounded
 * however long the log), in three formats:
 *
 * - `csv` (csv-stringify) and `json` (one array) hold the selected entries
 *   only, for reading; each entry's submission keys are a JSON array (the
 *   CSV `keys` column holds that array as text, quoted by csv-stringify).
 * - `jsonl` is the format an auditor verifies offline (`rekey audit verify
 *   --export`): a header line (`ExportHeader`: format, version, chain range,
 *   filter, a checkpoint signed at the range end or null), then one line per
 *   entry of the range in seq order. An entry the filter selects is written
 *   whole (`ExportEntryLine`), with the stored detail text when it differs
 *   from the detail re-serialised; an entry it leaves out is written as
 *   `{seq, omitted: true, prevHash, hash}`, so the chain still links and
 *   nothing about the entry leaks. With a signing key the file ends in a
 *   seal (`{end: ExportSeal}`): the entry count and the sha256 of every
 *   line before it, signed, so no line can be changed, cut or added after
 *   the export, not even an omitted entry's hashes, which cannot be
 *   recomputed.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import { readInt } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { auditPages, rowToEntry, type AuditRange, type AuditRow } from './audit.rows.js';
import type { AuditDetail, AuditEntry, SignedCheckpoint } from './audit.types.js';
import { sealExport, signCheckpoint, type ExportSeal } from './checkpoints.js';

/** Which entries an export selects; unset fields select everything. */
export interface AuditExportFilter {
  /** Only this pipeline's entries. */
  pipeline?: string;
  /** Only entries naming this submission key (of `pipeline`). */
  key?: string;
  /** Only entries naming a submission (of `pipeline`, if given) now in this ledger state. */
  state?: string;
  /** Only these events. */
  events?: readonly string[];
}

/** What `exportAudit` writes. */
export interface AuditExportOptions extends AuditRange, AuditExportFilter {
  format: 'csv' | 'json' | 'jsonl';
  /** `jsonl`: an Ed25519 private key (PEM) to sign a checkpoint at the range end for the header, and the seal at the end. */
  signingKey?: string | Buffer;
  /** `jsonl`: what the header's `filter` records (defaults to the filter fields); e.g. the reference the user gave for `key`. */
  describe?: Record<string, unknown>;
}

/** What an export has written so far, kept up to date by `exportAudit` as it yields (for the `audit-exported` entry). */
export interface ExportTally {
  /** The seqs the export covers, fixed when it starts (null when the range holds no entry, or before it is known). */
  range: { from: number; to: number } | null;
  /** Entries the filter selected, counted as each page is handed out. */
  entries: number;
  /** `jsonl`: entries the filter left out, handed out as their hashes only. */
  omitted: number;
  /** Whether every chunk was yielded. */
  complete: boolean;
}

/** `format` in a `jsonl` export's header. */
export const EXPORT_FORMAT = 'rekey-audit-export';
/** `version` in a `jsonl` export's header. */
export const EXPORT_VERSION = 1;

/** The first line of a `jsonl` export. */
export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: number;
  exportedAt: string;
  /** The seqs the export covers, both inclusive: every seq in it has a line. Null when the range holds no entry. */
  range: { from: number; to: number } | null;
  filter: Record<string, unknown>;
  /** Signed at `range.to` when the exporter had a signing key, else null. */
  checkpoint: SignedCheckpoint | null;
  /** How each line's hash is computed (see `audit.hash.ts`). */
  hash: string;
  lines: string;
}

/** The last line of a signed `jsonl` export. */
export interface ExportEnd {
  end: ExportSeal;
}

/** A whole entry in a `jsonl` export. */
export interface ExportEntryLine extends Omit<AuditEntry, 'at'> {
  at: string;
  keys: string[];
  /** The stored detail text, present only when it is not `JSON.stringify(detail)`. */
  detailText?: string;
}

/** An entry a `jsonl` export's filter left out. */
export interface ExportOmittedLine {
  seq: number;
  omitted: true;
  prevHash: string;
  hash: string;
}

/** CSV columns, in order. `keys` is a JSON array of the entry's submission keys; `detail` the stored JSON. */
export const CSV_COLUMNS = ['seq', 'at', 'pipeline', 'event', 'actor', 'keys', 'mapping_version', 'target', 'legacy_ref', 'detail', 'prev_hash', 'hash'] as const;

const HASH_RULE =
  'sha256_hex(prevHash + canonicalJson({seq, at, pipeline, event, actor, mappingVersion, target, legacyRef}) + (detailText ?? JSON.stringify(detail))), ' +
  'where a detail with merkle: {size, root} is hashed without its keys and records, and root is the RFC 6962 SHA-256 Merkle root over JSON.stringify of each record';
const LINES_RULE =
  'one line per seq of range, in order: a whole entry, or {seq, omitted: true, prevHash, hash} for an entry the filter leaves out; ' +
  'when signed, a last line {end: {lines, sha256, keyId, signature}}: the entry line count and the sha256 of every line before it';

/** Resolves `from`/`to` (seq or time) to the seqs they cover, `to` defaulting to the head at the start of the export. */
async function resolveRange(store: StateStore, opts: AuditRange): Promise<{ from: number; to: number } | null> {
  const one = async (sql: string, param: unknown[]) => {
    const [row] = await store.select<{ s: number | string | null }>(sql, param);
    return row?.s === null || row?.s === undefined ? null : readInt(row.s);
  };
  const from = opts.from instanceof Date ? await one('SELECT MIN(seq) AS s FROM audit_log WHERE at >= $1', [opts.from.toISOString()]) : Math.max(1, opts.from ?? 1);
  const head = await one('SELECT MAX(seq) AS s FROM audit_log', []);
  const to = opts.to instanceof Date ? await one('SELECT MAX(seq) AS s FROM audit_log WHERE at <= $1', [opts.to.toISOString()]) : Math.min(opts.to ?? Infinity, head ?? 0);
  return from === null || to === null || from > to ? null : { from, to };
}

/** A predicate for one page: whether the filter selects an entry. */
async function pageFilter(store: StateStore, page: readonly AuditRow[], f: AuditExportFilter): Promise<(e: AuditEntry) => boolean> {
  let inState: Set<number> | undefined;
  if (f.state !== undefined) {
    const params: unknown[] = [readInt(page[0]!.seq), readInt(page[page.length - 1]!.seq), f.state];
    if (f.pipeline !== undefined) params.push(f.pipeline);
    const rows = await store.select<{ seq: number | string }>(
      `SELECT DISTINCT k.seq FROM audit_keys k JOIN ledger l ON l.id = k.ledger_id WHERE k.seq >= $1 AND k.seq <= $2 AND l.state = $3${f.pipeline !== undefined ? ' AND l.pipeline = $4' : ''}`,
      params,
    );
    inState = new Set(rows.map((r) => readInt(r.seq)));
  }
  const events = f.events?.length ? new Set(f.events) : undefined;
  return (e) =>
    (f.pipeline === undefined || e.pipeline === f.pipeline) &&
    (events === undefined || events.has(e.event)) &&
    (f.key === undefined || e.detail.keys.includes(f.key)) &&
    (inState === undefined || inState.has(e.seq));
}

function entryLine(e: AuditEntry, detailText: string): ExportEntryLine {
  const { seq, pipeline, event, actor, mappingVersion, target, legacyRef, detail, prevHash, hash } = e;
  const line: ExportEntryLine = { seq, at: e.at.toISOString(), pipeline, event, actor, mappingVersion, target, legacyRef, keys: keysOf(detail), detail, prevHash, hash };
  if (JSON.stringify(detail) !== detailText) line.detailText = detailText;
  return line;
}

function keysOf(detail: AuditDetail): string[] {
  return Array.isArray(detail.keys) ? detail.keys : [];
}

/** The header line of a `jsonl` export of `range`. */
async function header(store: StateStore, opts: AuditExportOptions, range: { from: number; to: number } | null): Promise<ExportHeader> {
  let checkpoint: SignedCheckpoint | null = null;
  if (range && opts.signingKey) {
    const [row] = await store.select<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [range.to]);
    checkpoint = signCheckpoint(range.to, row!.hash, opts.signingKey);
  }
  const filter = opts.describe ?? Object.fromEntries(Object.entries({ pipeline: opts.pipeline, key: opts.key, state: opts.state, events: opts.events }).filter(([, v]) => v !== undefined));
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: new Date().toISOString(), range, filter, checkpoint, hash: HASH_RULE, lines: LINES_RULE };
}

/**
 * Yields the export as text chunks, one page of entries per chunk (see the
 * module comment for the formats). The range is fixed when the export
 * starts: entries appended meanwhile are not in it. With `tally`, keeps
 * it up to date with what has been yielded. Throws `AUDIT_KEY_INVALID`
 * when `signingKey` is not an Ed25519 private key.
 */
export async function* exportAudit(store: StateStore, opts: AuditExportOptions, tally?: ExportTally): AsyncGenerator<string> {
  const range = await resolveRange(store, opts);
  if (tally) tally.range = range;
  const f: AuditExportFilter = { pipeline: opts.pipeline, key: opts.key, state: opts.state, events: opts.events };
  const digest = createHash('sha256');
  let lines = 0;
  if (opts.format === 'jsonl') {
    const head = `${JSON.stringify(await header(store, opts, range))}\n`;
    digest.update(head);
    yield head;
  }
  if (opts.format === 'json') yield '[';
  let first = true;
  const pages = range ? auditPages(store, { from: range.from, to: range.to, pageSize: opts.pageSize, pipeline: opts.format === 'jsonl' ? undefined : opts.pipeline }) : [];
  for await (const page of pages) {
    const selects = await pageFilter(store, page, f);
    const out: string[] = [];
    const records: unknown[][] = [];
    let chosenCount = 0;
    for (const r of page) {
      const e = rowToEntry(r);
      const chosen = selects(e);
      if (chosen) chosenCount++;
      if (opts.format === 'jsonl') {
        const line = `${JSON.stringify(chosen ? entryLine(e, r.detail) : ({ seq: e.seq, omitted: true, prevHash: e.prevHash, hash: e.hash } satisfies ExportOmittedLine))}\n`;
        digest.update(line);
        lines++;
        out.push(line);
      } else if (chosen && opts.format === 'csv') {
        records.push([e.seq, e.at.toISOString(), e.pipeline, e.event, e.actor, JSON.stringify(keysOf(e.detail)), e.mappingVersion, e.target, e.legacyRef, r.detail, e.prevHash, e.hash]);
      } else if (chosen) {
        const { detail, prevHash, hash, ...rest } = e;
        out.push(`${first ? '\n' : ',\n'}${JSON.stringify({ ...rest, keys: keysOf(detail), detail, prevHash, hash })}`);
        first = false;
      }
    }
    if (tally) {
      tally.entries += chosenCount;
      if (opts.format === 'jsonl') tally.omitted += page.length - chosenCount;
    }
    if (opts.format === 'csv' && records.length) {
      yield stringify(records, { header: first, columns: [...CSV_COLUMNS] });
      first = false;
    } else if (out.length) yield out.join('');
  }
  if (opts.format === 'csv' && first) yield stringify([], { header: true, columns: [...CSV_COLUMNS] });
  if (opts.format === 'json') yield '\n]\n';
  if (opts.format === 'jsonl' && opts.signingKey) yield `${JSON.stringify({ end: sealExport(lines, digest.digest('hex'), opts.signingKey) } satisfies ExportEnd)}\n`;
  if (tally) tally.complete = true;
}
