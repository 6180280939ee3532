/**
 * Inclusion proofs: what an auditor hands a third party (an ombudsman, a
 * court, the citizen) to show what the audit log says about one
 * submission, checkable offline with the verify key alone, and without any
 * other submission's records.
 *
 * A proof (`AuditProof`) holds every entry of the chain from the first
 * entry naming the submission to a signed checkpoint (the anchor):
 *
 * - an entry naming it: its columns and hashes, and either its rest (a
 *   Merkle entry, see `audit.hash.ts`) with the submission's records, each
 *   with its leaf index and RFC 6962 audit path, or its whole detail text
 *   (an entry hashed whole);
 * - any other entry: its columns and hashes, and its rest (Merkle entries:
 *   no key and no record of the batch) or its whole detail text, so that
 *   its hash is recomputed rather than taken on trust.
 *
 * `verifyProof` recomputes each record's leaf up to its entry's root, each
 * entry's hash, the links between them, and holds the last to the
 * checkpoint's signed head. The checkpoint's signature over that head
 * commits to every entry before it, so a proof need not start at seq 1.
 * For a routed pipeline the proof can hold the whole case: the entries of
 * its lanes (`PIPELINE~ROUTE`) for the same key too, so that it shows which
 * offices were told what. What a proof does not show: that no other entry
 * names the submission.
 */
import type { KeyObject } from 'node:crypto';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { StateStore } from '../store/state-store.js';
import { detailCommitment, entryHash, hashedDetailText, recordTexts, type MerkleCommitment } from './audit.hash.js';
import { auditPages, rowToEntry } from './audit.rows.js';
import type { AuditEvent, AuditRecord, SignedCheckpoint } from './audit.types.js';
import { checkSignatures } from './audit.verify.js';
import { auditPath, leafHash, rootFromPath } from './merkle.js';

/** `format` of a proof. */
export const PROOF_FORMAT = 'rekey-audit-proof';
/** `version` of a proof. */
export const PROOF_VERSION = 1;

/** One of the submission's records in a Merkle entry: its text as hashed, its leaf index and audit path (hex, from the leaf up). */
export interface ProvenRecord {
  index: number;
  text: string;
  path: string[];
}

/** One entry of a proof. Exactly one of `rest` and `detailText` is set. */
export interface ProofEntry {
  seq: number;
  at: string;
  pipeline: string;
  event: string;
  actor: string;
  mappingVersion: string | null;
  target: string | null;
  legacyRef: string | null;
  prevHash: string;
  hash: string;
  /** A Merkle entry: the detail its hash covers (no keys, no records; with `merkle`). */
  rest?: string;
  /** A Merkle entry naming the submission: its records for it. */
  records?: ProvenRecord[];
  /** An entry hashed whole: its stored detail text. */
  detailText?: string;
}

/** A proof file. */
export interface AuditProof {
  format: typeof PROOF_FORMAT;
  version: number;
  madeAt: string;
  pipeline: string;
  key: string;
  /** A routed pipeline's lanes (`PIPELINE~ROUTE`) whose entries for the same key the proof holds too: the whole case, each office's delivery. */
  lanes?: string[];
  hash: string;
  /** Consecutive seqs, from the first entry naming the submission to the anchor (or to the head when no checkpoint is at or after it). */
  entries: ProofEntry[];
  /** The checkpoint whose signed head is the last entry's hash; null when none was found. */
  checkpoint: SignedCheckpoint | null;
}

/** What one proven entry says about the submission. */
export interface ProvenEntry {
  seq: number;
  /** The pipeline, or the lane of a route, the entry is about. */
  pipeline: string;
  at: string;
  event: AuditEvent;
  actor: string;
  mappingVersion: string | null;
  target: string | null;
  legacyRef: string | null;
  /** The submission's records on the entry. */
  records: AuditRecord[];
}

/** What `verifyProof` found. */
export interface ProofVerifyResult {
  ok: boolean;
  pipeline: string;
  key: string;
  /** The entries that name the submission, as proved. */
  proven: ProvenEntry[];
  /** Entries whose hash was recomputed. */
  entries: number;
  /** The checkpoint the chain was held to; null when the proof has none (the entries link, but a rewrite of the log cannot be ruled out). */
  anchor: { seq: number; signedAt: string; keyId: string } | null;
  firstBad?: { seq: number; problem: 'edited' | 'deleted' | 'checkpoint-mismatch'; detail: string };
}

const HASH_RULE =
  'each entry: sha256_hex(prevHash + canonicalJson({seq, at, pipeline, event, actor, mappingVersion, target, legacyRef}) + (rest ?? detailText)); ' +
  "a record's leaf: RFC 6962 SHA-256 leaf hash of its text, which its path takes to rest.merkle.root; the last entry's hash is the checkpoint's signed headHash";

function invalid(message: string): PipelineError {
  return new PipelineError(PipelineCodes.AUDIT_PROOF_INVALID, message);
}

/**
 * Builds the proof for submission `key` of `pipeline` from the store,
 * anchored to the first of `checkpoints` at or after the last entry naming
 * it (none: to the head, unanchored). Reads the entries between page by
 * page. Throws `AUDIT_PROOF_INVALID` when no entry names the submission.
 */
export async function buildProof(store: StateStore, pipeline: string, key: string, seqs: readonly number[], checkpoints: readonly SignedCheckpoint[], lanes: readonly string[] = []): Promise<AuditProof> {
  if (!seqs.length) throw invalid(`no audit entry names submission ${JSON.stringify(key)} of pipeline ${JSON.stringify(pipeline)}: nothing to prove`);
  const naming = new Set(seqs);
  const subjects = new Set([pipeline, ...lanes]);
  const first = Math.min(...seqs);
  const last = Math.max(...seqs);
  const checkpoint = [...checkpoints].sort((a, b) => a.seq - b.seq).find((c) => c.seq >= last) ?? null;
  const entries: ProofEntry[] = [];
  for await (const page of auditPages(store, { from: first, ...(checkpoint && { to: checkpoint.seq }) })) {
    for (const row of page) {
      const e = rowToEntry(row);
      // The rest a Merkle entry's hash covers is enough to link it: its root is not recomputed here (verifyProof takes the naming entries' records to it).
      const c = detailCommitment(row.detail, e.detail);
      const out: ProofEntry = {
        seq: e.seq,
        at: e.at.toISOString(),
        pipeline: e.pipeline,
        event: e.event,
        actor: e.actor,
        mappingVersion: e.mappingVersion,
        target: e.target,
        legacyRef: e.legacyRef,
        prevHash: e.prevHash,
        hash: e.hash,
      };
      if (!c?.merkle) out.detailText = row.detail;
      else {
        out.rest = c.hashed;
        if (naming.has(e.seq) && subjects.has(e.pipeline)) {
          const texts = recordTexts(c.merkle.joined, c.merkle.lengths);
          const leaves = texts.map(leafHash);
          out.records = e.detail.records!.flatMap((r, i) => (r.key === key ? [{ index: i, text: texts[i]!, path: auditPath(leaves, i).map((b) => b.toString('hex')) }] : []));
        }
      }
      entries.push(out);
    }
  }
  return { format: PROOF_FORMAT, version: PROOF_VERSION, madeAt: new Date().toISOString(), pipeline, key, ...(lanes.length && { lanes: [...lanes] }), hash: HASH_RULE, entries, checkpoint };
}

const HEX64 = /^[0-9a-f]{64}$/;
const isText = (v: unknown): v is string => typeof v === 'string';
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Parses a proof file's text; throws `AUDIT_PROOF_INVALID` when it is not a proof this version reads. */
export function parseProof(text: string): AuditProof {
  let p: Partial<AuditProof>;
  try {
    p = JSON.parse(text) as Partial<AuditProof>;
  } catch {
    throw invalid('the file is not JSON: not a rekey audit proof (make one with rekey audit prove)');
  }
  if (p?.format !== PROOF_FORMAT) throw invalid(`the file is not a ${PROOF_FORMAT} (make one with rekey audit prove)`);
  if (p.version !== PROOF_VERSION) throw invalid(`proof version ${JSON.stringify(p.version)} is not supported (this rekey reads version ${PROOF_VERSION})`);
  if (!isText(p.pipeline) || !isText(p.key) || !Array.isArray(p.entries) || !p.entries.length) throw invalid('the proof has no pipeline, key or entries');
  if (p.lanes !== undefined && !(Array.isArray(p.lanes) && p.lanes.every(isText))) throw invalid('the proof names lanes that are not a list of names');
  return p as AuditProof;
}

/** The text an entry's hash covers, or what is wrong with it. */
function hashedText(e: ProofEntry): { text: string } | { problem: string } {
  if ((e.rest === undefined) === (e.detailText === undefined)) return { problem: `the entry at seq ${e.seq} must give either its rest or its detail text` };
  const text = e.rest ?? e.detailText!;
  let detail: unknown;
  try {
    detail = JSON.parse(text);
  } catch {
    return { problem: `the entry at seq ${e.seq} has a detail that is not JSON` };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { problem: `the entry at seq ${e.seq} has a detail that is not an object` };
  if (e.rest !== undefined) {
    const m = (detail as { merkle?: Partial<MerkleCommitment> }).merkle;
    if (!m || !Number.isSafeInteger(m.size) || !isText(m.root) || !HEX64.test(m.root) || 'keys' in detail || 'records' in detail) {
      return { problem: `the entry at seq ${e.seq} gives a rest that is not a Merkle entry's` };
    }
    return { text };
  }
  const hashed = hashedDetailText(text, detail as never);
  return hashed === null ? { problem: `the entry at seq ${e.seq} has records that no longer give its Merkle root` } : { text: hashed };
}

/** Whether an entry names the submission, and its records for it, checked against its root; or what is wrong. */
function provenRecords(e: ProofEntry, key: string, subjects: ReadonlySet<string>): { names: boolean; records: AuditRecord[] } | { problem: string } {
  if (e.detailText !== undefined) {
    const d = JSON.parse(e.detailText) as { keys?: unknown; records?: unknown };
    const names = subjects.has(e.pipeline) && Array.isArray(d.keys) && d.keys.includes(key);
    const records = names && Array.isArray(d.records) ? (d.records as AuditRecord[]).filter((r) => r?.key === key) : [];
    return { names, records };
  }
  if (e.records === undefined) return { names: false, records: [] };
  if (!Array.isArray(e.records) || !subjects.has(e.pipeline)) return { problem: `the entry at seq ${e.seq} shows records of another pipeline` };
  const m = (JSON.parse(e.rest!) as { merkle: MerkleCommitment }).merkle;
  const out: AuditRecord[] = [];
  for (const r of e.records) {
    if (!r || !isText(r.text) || !Array.isArray(r.path) || !r.path.every((h) => isText(h) && HEX64.test(h))) return { problem: `the entry at seq ${e.seq} has a record proof that is not one` };
    const root = rootFromPath(leafHash(r.text), r.index, m.size, r.path.map((h) => Buffer.from(h, 'hex')));
    if (!root || root.toString('hex') !== m.root) return { problem: `a record shown for the entry at seq ${e.seq} is not in its Merkle tree at position ${r.index}` };
    let record: AuditRecord;
    try {
      record = JSON.parse(r.text) as AuditRecord;
    } catch {
      return { problem: `a record shown for the entry at seq ${e.seq} is not JSON` };
    }
    if (record?.key !== key) return { problem: `a record shown for the entry at seq ${e.seq} is another submission's` };
    out.push(record);
  }
  return { names: out.length > 0, records: out };
}

/**
 * Checks a proof offline (see the module comment) against `publicKey`.
 * Never throws for a forged or damaged proof: the result names the first
 * problem. A proof without a checkpoint, or checked without a key, proves
 * only that its entries link (`anchor` null).
 */
export function verifyProof(proof: AuditProof, opts: { publicKey?: KeyObject } = {}): ProofVerifyResult {
  const result: ProofVerifyResult = { ok: true, pipeline: proof.pipeline, key: proof.key, proven: [], entries: 0, anchor: null };
  const fail = (seq: number, problem: 'edited' | 'deleted' | 'checkpoint-mismatch', detail: string): ProofVerifyResult => ({ ...result, ok: false, firstBad: { seq, problem, detail } });
  const subjects = new Set([proof.pipeline, ...(proof.lanes ?? [])]);
  let prev: ProofEntry | null = null;
  for (const e of proof.entries) {
    const shaped =
      e !== null && typeof e === 'object' && Number.isSafeInteger(e.seq) && isText(e.at) && isText(e.pipeline) && isText(e.event) && isText(e.actor) &&
      isTextOrNull(e.mappingVersion) && isTextOrNull(e.target) && isTextOrNull(e.legacyRef) && isText(e.prevHash) && HEX64.test(e.prevHash) && isText(e.hash) && HEX64.test(e.hash);
    if (!shaped) return fail(prev ? prev.seq + 1 : 0, 'edited', `the entry after seq ${prev?.seq ?? 0} is not an entry`);
    if (prev && e.seq !== prev.seq + 1) {
      return e.seq > prev.seq + 1 ? fail(prev.seq + 1, 'deleted', `seq ${prev.seq + 1} is missing`) : fail(e.seq, 'edited', `seq ${e.seq} appears after seq ${prev.seq}`);
    }
    const at = new Date(e.at);
    if (Number.isNaN(at.getTime())) return fail(e.seq, 'edited', `the entry at seq ${e.seq} has no valid time`);
    const text = hashedText(e);
    if ('problem' in text) return fail(e.seq, 'edited', text.problem);
    const fields = { seq: e.seq, at, pipeline: e.pipeline, event: e.event as AuditEvent, actor: e.actor, mappingVersion: e.mappingVersion, target: e.target, legacyRef: e.legacyRef };
    if (entryHash(e.prevHash, fields, text.text) !== e.hash) return fail(e.seq, 'edited', `the entry at seq ${e.seq} no longer matches its hash`);
    if (prev && e.prevHash !== prev.hash) return fail(prev.seq, 'edited', `the entry at seq ${prev.seq} was changed and its hash recomputed: seq ${e.seq} links to another hash`);
    const shown = provenRecords(e, proof.key, subjects);
    if ('problem' in shown) return fail(e.seq, 'edited', shown.problem);
    if (shown.names) {
      result.proven.push({ seq: e.seq, pipeline: e.pipeline, at: e.at, event: e.event as AuditEvent, actor: e.actor, mappingVersion: e.mappingVersion, target: e.target, legacyRef: e.legacyRef, records: shown.records });
    }
    result.entries++;
    prev = e;
  }
  if (!result.proven.length) return fail(proof.entries[0]!.seq, 'edited', `no entry of the proof names submission ${JSON.stringify(proof.key)}`);
  const cp = proof.checkpoint;
  if (!cp || !opts.publicKey) return result;
  const bad = checkSignatures([cp], opts.publicKey);
  if (bad) return fail(bad.seq, 'checkpoint-mismatch', bad.detail);
  if (cp.seq !== prev!.seq || cp.headHash !== prev!.hash) {
    return fail(prev!.seq, 'checkpoint-mismatch', `the proof ends at seq ${prev!.seq}, which is not the head signed at ${cp.signedAt} (seq ${cp.seq})`);
  }
  return { ...result, anchor: { seq: cp.seq, signedAt: cp.signedAt, keyId: cp.keyId } };
}
