/**
 * Offline verification of a `jsonl` audit export (see `audit.export.ts`)
 * against signed checkpoints, with no state store: reads the file line by
 * line (memory stays bounded), recomputes every whole entry's hash, checks
 * that seqs run on without a gap and each line links to the one before, and
 * holds the lines to every checkpoint the export covers (the header's and
 * the external ones). Stops at the first problem and names it:
 *
 * - `edited`: a line no longer matches its hash, or does not link to the
 *   line before (that line was changed and its hash recomputed);
 * - `deleted`: a seq is missing, or a checkpoint signed a seq past the end;
 * - `reordered`: a seq appears after a later one;
 * - `appended`: a line lies past the last checkpoint the export covers, so
 *   it cannot be told from a line added after the export;
 * - `checkpoint-mismatch`: a checkpoint's or the seal's signature is bad,
 *   or the line at a checkpoint's seq does not have the signed hash.
 *
 * Lines the export's filter left out carry only their hashes: they link the
 * chain, but their hashes are taken from the file, not recomputed. A signed
 * export ends in a seal over every line before it, which makes any change to
 * them, omitted lines included, an `edited` file; an export whose header
 * has a checkpoint must end in one.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../../lib/canonical-json.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { entryHash, GENESIS_HASH, hashedDetailText } from './audit.hash.js';
import type { AuditEvent, SignedCheckpoint } from './audit.types.js';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportEnd, type ExportEntryLine, type ExportHeader } from './audit.export.js';
import { checkSignatures } from './audit.verify.js';
import { exportSealValid } from './checkpoints.js';

/** What kind of problem `verifyExport` found. */
export type ExportProblem = 'edited' | 'deleted' | 'reordered' | 'appended' | 'checkpoint-mismatch';

/** The outcome of `verifyExport`. */
export interface ExportVerifyResult {
  ok: boolean;
  /** The header's range. */
  range: { from: number; to: number } | null;
  /** Whole entries whose hash was recomputed. */
  entries: number;
  /** Lines the export's filter left out (hashes only). */
  omitted: number;
  /** Checkpoints held against a line. */
  checkpoints: number;
  /** Seq of the last checkpoint the export covers (null when none). */
  lastCheckpoint: number | null;
  /** Whether the file ends in a valid seal (no line changed since the export). */
  sealed: boolean;
  firstBad?: { seq: number; problem: ExportProblem; detail: string };
}

/** What `verifyExport` checks the export against. */
export interface ExportVerifyOptions {
  /** External checkpoints (from the write-once store); the header's own checkpoint is added to them. */
  checkpoints?: readonly SignedCheckpoint[];
  publicKey?: KeyObject;
}

type Bad = NonNullable<ExportVerifyResult['firstBad']>;

function invalid(message: string): PipelineError {
  return new PipelineError(PipelineCodes.AUDIT_EXPORT_INVALID, message);
}

function parseHeader(line: string | undefined): ExportHeader {
  let h: Partial<ExportHeader>;
  try {
    h = JSON.parse(line ?? '') as Partial<ExportHeader>;
  } catch {
    throw invalid('the first line is not JSON: not a rekey audit export (export with --format jsonl)');
  }
  if (h?.format !== EXPORT_FORMAT) throw invalid(`the first line is not a ${EXPORT_FORMAT} header (export with --format jsonl)`);
  if (h.version !== EXPORT_VERSION) throw invalid(`export version ${JSON.stringify(h.version)} is not supported (this rekey reads version ${EXPORT_VERSION})`);
  const r = h.range;
  if (r !== null && !(r && Number.isSafeInteger(r.from) && Number.isSafeInteger(r.to) && r.from >= 1 && r.from <= r.to)) throw invalid('the header has no valid range');
  return h as ExportHeader;
}

const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Every field a whole entry line may have: all hashed, but for `keys` (checked against the detail) and the hashes. */
const ENTRY_FIELDS = new Set(['seq', 'at', 'pipeline', 'event', 'actor', 'mappingVersion', 'target', 'legacyRef', 'keys', 'detail', 'detailText', 'prevHash', 'hash']);

/** Null when `l` is a whole entry that gives its own hash, else what is wrong with it. */
function wholeEntryProblem(l: ExportEntryLine): string | null {
  const extra = Object.keys(l).find((k) => !ENTRY_FIELDS.has(k));
  if (extra !== undefined) return `the entry at seq ${l.seq} carries a field its hash does not cover (${JSON.stringify(extra)})`;
  const shaped =
    isText(l.at) && isText(l.pipeline) && isText(l.event) && isText(l.actor) && isTextOrNull(l.mappingVersion) && isTextOrNull(l.target) && isTextOrNull(l.legacyRef) &&
    typeof l.detail === 'object' && l.detail !== null && Array.isArray(l.keys) && (l.detailText === undefined || isText(l.detailText));
  if (!shaped) return `the line at seq ${l.seq} is not a whole entry`;
  const at = new Date(l.at);
  if (Number.isNaN(at.getTime())) return `the entry at seq ${l.seq} has no valid time`;
  const detailText = l.detailText ?? JSON.stringify(l.detail);
  try {
    if (l.detailText !== undefined && canonicalJson(JSON.parse(l.detailText)) !== canonicalJson(l.detail)) return `the entry at seq ${l.seq} shows a detail that is not the one hashed`;
  } catch {
    return `the entry at seq ${l.seq} has a detail text that is not JSON`;
  }
  if (canonicalJson(l.keys) !== canonicalJson(l.detail.keys ?? [])) return `the entry at seq ${l.seq} lists keys that are not its detail's`;
  const fields = { seq: l.seq, at, pipeline: l.pipeline, event: l.event as AuditEvent, actor: l.actor, mappingVersion: l.mappingVersion, target: l.target, legacyRef: l.legacyRef };
  const hashed = hashedDetailText(detailText, l.detail);
  if (hashed === null) return `the entry at seq ${l.seq} has records that no longer give its Merkle root`;
  return entryHash(l.prevHash, fields, hashed) === l.hash ? null : `the entry at seq ${l.seq} no longer matches its hash`;
}

/**
 * Verifies a `jsonl` export given as its lines (e.g. `readline` over the
 * file); see the module comment for what each problem means. Never throws
 * for tampering with entry lines: the result says where the first problem
 * is. Throws `AUDIT_EXPORT_INVALID` when the first line is not an export
 * header this version reads.
 */
export async function verifyExport(lines: AsyncIterable<string>, opts: ExportVerifyOptions = {}): Promise<ExportVerifyResult> {
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const h = parseHeader(first.done ? undefined : first.value);
  const digest = createHash('sha256').update(`${first.done ? '' : first.value}\n`);
  let seal: ExportEnd['end'] | null = null;
  const all = [...(opts.checkpoints ?? []), ...(h.checkpoint ? [h.checkpoint] : [])];
  const result: ExportVerifyResult = { ok: true, range: h.range, entries: 0, omitted: 0, checkpoints: 0, lastCheckpoint: null, sealed: false };
  const fail = (firstBad: Bad): ExportVerifyResult => ({ ...result, ok: false, firstBad });
  const sig = checkSignatures(all, opts.publicKey);
  if (sig) return fail(sig);
  const lo = (h.range?.from ?? 1) - 1;
  const hi = Math.max(h.range?.to ?? 0, h.checkpoint?.seq ?? 0);
  const covering = all.filter((cp) => cp.seq >= lo && cp.seq <= hi).sort((a, b) => a.seq - b.seq);
  const bySeq = new Map<number, SignedCheckpoint[]>();
  for (const cp of covering) bySeq.set(cp.seq, [...(bySeq.get(cp.seq) ?? []), cp]);
  result.lastCheckpoint = covering.length ? covering[covering.length - 1]!.seq : null;
  let expected = h.range?.from ?? 1;
  let prev: { hash: string; whole: boolean } | null = null;
  const atStart = (hash: string, seq: number): Bad | null => {
    if (seq === 1 && hash !== GENESIS_HASH) return { seq: 1, problem: 'edited', detail: 'the first entry does not start from the genesis hash' };
    const cp = bySeq.get(seq - 1)?.find((c) => c.headHash !== hash);
    return cp ? { seq: seq - 1, problem: 'checkpoint-mismatch', detail: `seq ${seq} does not link to the head signed at ${cp.signedAt} for seq ${seq - 1}` } : null;
  };
  let blank = false;
  for (let next = await it.next(); !next.done; next = await it.next()) {
    const text = next.value;
    if (!text.trim()) {
      blank = true;
      continue;
    }
    if (seal) return fail({ seq: expected, problem: 'appended', detail: `a line follows the signed end of the export (after seq ${expected - 1})` });
    let l: ExportEntryLine & { omitted?: boolean } & Partial<ExportEnd>;
    try {
      l = JSON.parse(text) as ExportEntryLine & { omitted?: boolean } & Partial<ExportEnd>;
    } catch {
      return fail({ seq: expected, problem: 'edited', detail: `the line after seq ${expected - 1} is not JSON` });
    }
    if (l && typeof l === 'object' && l.end !== undefined && l.seq === undefined) {
      seal = l.end;
      continue;
    }
    digest.update(`${text}\n`);
    if (blank || typeof l !== 'object' || l === null || !Number.isSafeInteger(l.seq)) {
      return fail({ seq: expected, problem: 'edited', detail: `the line after seq ${expected - 1} is not an entry` });
    }
    const seq = l.seq;
    if (seq > expected) return fail({ seq: expected, problem: 'deleted', detail: seq - 1 === expected ? `seq ${expected} is missing` : `seqs ${expected}..${seq - 1} are missing` });
    if (seq < expected) return fail({ seq, problem: 'reordered', detail: `seq ${seq} appears after seq ${expected - 1}` });
    if (!isHash(l.prevHash) || !isHash(l.hash)) return fail({ seq, problem: 'edited', detail: `the line at seq ${seq} has no valid prevHash and hash` });
    if (l.omitted !== undefined && (l.omitted !== true || Object.keys(l).length !== 4)) {
      return fail({ seq, problem: 'edited', detail: `the line at seq ${seq} is marked omitted but is not just its hashes` });
    }
    if (l.omitted !== true) {
      const problem = wholeEntryProblem(l);
      if (problem) return fail({ seq, problem: 'edited', detail: problem });
    }
    if (prev && l.prevHash !== prev.hash) {
      const detail = prev.whole
        ? `the entry at seq ${seq - 1} was changed and its hash recomputed: seq ${seq} links to another hash`
        : `seq ${seq} does not link to the hash of seq ${seq - 1}`;
      return fail({ seq: seq - 1, problem: 'edited', detail });
    }
    if (!prev) {
      const bad = atStart(l.prevHash, seq);
      if (bad) return fail(bad);
    }
    for (const cp of bySeq.get(seq) ?? []) {
      if (cp.headHash !== l.hash) return fail({ seq, problem: 'checkpoint-mismatch', detail: `the line at seq ${seq} differs from the head signed at ${cp.signedAt}` });
      result.checkpoints++;
    }
    if (result.lastCheckpoint === null || seq > result.lastCheckpoint) {
      const last = result.lastCheckpoint === null ? 'no signed checkpoint covers the export' : `the last checkpoint the export covers is at seq ${result.lastCheckpoint}`;
      return fail({ seq, problem: 'appended', detail: `seq ${seq} is past the signed range (${last}): it cannot be told from an appended line` });
    }
    if (l.omitted === true) result.omitted++;
    else result.entries++;
    prev = { hash: l.hash, whole: l.omitted !== true };
    expected = seq + 1;
  }
  const beyond = covering.find((cp) => cp.seq >= expected);
  if (beyond) return fail({ seq: expected, problem: 'deleted', detail: `the export ends at seq ${expected - 1} but a checkpoint signed seq ${beyond.seq}` });
  const last = expected - 1;
  if (!seal) {
    return h.checkpoint ? fail({ seq: last, problem: 'deleted', detail: 'the export has lost the signed end its header promises' }) : result;
  }
  const sealShaped = typeof seal === 'object' && seal !== null && Number.isSafeInteger(seal.lines) && isHash(seal.sha256) && isText(seal.signature);
  if (!sealShaped || !opts.publicKey || !exportSealValid(seal, opts.publicKey)) {
    return fail({ seq: last, problem: 'checkpoint-mismatch', detail: 'the signed end of the export has a bad signature' });
  }
  if (seal.lines !== result.entries + result.omitted || seal.sha256 !== digest.digest('hex')) {
    return fail({ seq: last, problem: 'edited', detail: 'the lines are not the ones signed at the end of the export: a line was changed after the export' });
  }
  return { ...result, sealed: true };
}
