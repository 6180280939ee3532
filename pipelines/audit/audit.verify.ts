/**
 * Verification of the audit chain: streams `audit_log` in seq order, page by
 * page, recomputes every hash and link, and checks signed checkpoints.
 * Stops at the first problem and names it:
 *
 * - `deleted`: a seq is missing, or a checkpoint signed a seq past the end;
 * - `reordered`: an entry's hash is right for another seq (entries moved);
 * - `edited`: an entry's columns no longer give its hash, or an entry's
 *   hash was recomputed after an edit (the next entry no longer links to it);
 * - `checkpoint-mismatch`: a checkpoint's signature is bad, or the chain's
 *   hash at its seq is not the signed head (the chain was rewritten whole).
 */
import type { KeyObject } from 'node:crypto';
import type { StateStore } from '../store/state-store.js';
import { detailCommitment, entryHash, GENESIS_HASH, hashedDetailText } from './audit.hash.js';
import { merkleRootOf } from './merkle-thread.js';
import { AUDIT_COLUMNS, auditPages, rowToEntry, type AuditRow } from './audit.rows.js';
import type { AuditEntry, SignedCheckpoint, VerifyResult } from './audit.types.js';
import { checkpointSignatureValid, keyIdOf } from './checkpoints.js';

/** What `verifyChain` checks against. */
export interface VerifyOptions {
  /** Checkpoints (from the WORM export) to hold the chain to; needs `publicKey`. */
  checkpoints?: readonly SignedCheckpoint[];
  publicKey?: KeyObject;
  pageSize?: number;
}

type Bad = NonNullable<VerifyResult['firstBad']>;

async function rowByHash(store: StateStore, hash: string): Promise<AuditRow | null> {
  const rows = await store.select<AuditRow>(`SELECT ${AUDIT_COLUMNS.join(',')} FROM audit_log WHERE hash = $1 LIMIT 1`, [hash]);
  return rows[0] ?? null;
}

function parse(row: AuditRow): AuditEntry | null {
  try {
    return rowToEntry(row);
  } catch {
    return null;
  }
}

/** Entries whose Merkle roots are computed ahead of the one being checked. */
const LOOKAHEAD = 4;

/** A row parsed, with the text its hash covers (null when its records or text were changed), or no entry when its detail is not JSON. */
interface Checked {
  e: AuditEntry | null;
  text: string | null;
}

/** Parses a row and works out the text its hash covers, a large batch's root on the Merkle thread. Never rejects but for a failure of that thread. */
function commitmentOf(row: AuditRow): Promise<Checked> {
  const e = parse(row);
  const c = e && detailCommitment(row.detail, e.detail);
  if (!c?.merkle) return Promise.resolve({ e, text: c?.hashed ?? null });
  const done = merkleRootOf(c.merkle.joined, c.merkle.lengths).then((root) => ({ e, text: root === c.merkle!.root ? c.hashed : null }));
  // Handled here too: a check abandoned when verify stops at an earlier entry must not surface as an unhandled rejection.
  done.catch(() => undefined);
  return done;
}

/** The seq the entry that follows the entry with hash `prevHash` was written with, following links back a few steps. */
async function writtenSeqAfter(store: StateStore, prevHash: string, depth: number): Promise<number | null> {
  if (prevHash === GENESIS_HASH) return 1;
  const row = await rowByHash(store, prevHash);
  const e = row && parse(row);
  const text = row && e && hashedDetailText(row.detail, e.detail);
  if (!row || !e || text === null) return null;
  if (entryHash(row.prev_hash, e, text!) === row.hash) return e.seq + 1;
  if (depth === 0) return null;
  const s = await writtenSeqAfter(store, row.prev_hash, depth - 1);
  return s !== null && entryHash(row.prev_hash, { ...e, seq: s }, text!) === row.hash ? s + 1 : null;
}

async function diagnoseHashMismatch(store: StateStore, row: AuditRow, e: AuditEntry, text: string): Promise<Bad> {
  const written = await writtenSeqAfter(store, row.prev_hash, 8);
  if (written !== null && written !== e.seq && entryHash(row.prev_hash, { ...e, seq: written }, text) === row.hash) {
    return { seq: e.seq, problem: 'reordered', detail: `the entry at seq ${e.seq} was written as seq ${written}` };
  }
  return { seq: e.seq, problem: 'edited', detail: `the entry at seq ${e.seq} no longer matches its hash` };
}

/** The first checkpoint whose signature `publicKey` does not bear out (or all of them when no key is given), as a problem; undefined when all are good. */
export function checkSignatures(checkpoints: readonly SignedCheckpoint[], publicKey: KeyObject | undefined): Bad | undefined {
  if (!checkpoints.length) return undefined;
  if (!publicKey) return { seq: checkpoints[0]!.seq, problem: 'checkpoint-mismatch', detail: 'checkpoints given without a public key to check them' };
  const keyId = keyIdOf(publicKey);
  for (const cp of checkpoints) {
    if (!checkpointSignatureValid(cp, publicKey)) {
      const other = cp.keyId !== keyId ? ` (signed by key ${cp.keyId}, verifying with ${keyId})` : '';
      return { seq: cp.seq, problem: 'checkpoint-mismatch', detail: `the checkpoint signed at ${cp.signedAt} has a bad signature${other}` };
    }
  }
  return undefined;
}

/** Verifies the whole chain in `store`; see the module comment for what each problem means. */
export async function verifyChain(store: StateStore, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const checkpoints = [...(opts.checkpoints ?? [])].sort((a, b) => a.seq - b.seq);
  const signatureProblem = checkSignatures(checkpoints, opts.publicKey);
  if (signatureProblem) return { ok: false, entries: 0, checkpoints: 0, firstBad: signatureProblem };
  const bySeq = new Map<number, SignedCheckpoint[]>();
  for (const cp of checkpoints) bySeq.set(cp.seq, [...(bySeq.get(cp.seq) ?? []), cp]);
  let expectedSeq = 1;
  let expectedPrev = GENESIS_HASH;
  let entries = 0;
  let checked = 0;
  const fail = (firstBad: Bad): VerifyResult => ({ ok: false, entries, checkpoints: checked, firstBad });
  for await (const page of auditPages(store, { pageSize: opts.pageSize })) {
    // Merkle roots are computed a few entries ahead, on the Merkle thread for large batches, while this thread checks the entries before them.
    const ahead: (Promise<Checked> | undefined)[] = [];
    let started = 0;
    for (const [i, row] of page.entries()) {
      while (started < page.length && started <= i + LOOKAHEAD) ahead[started] = commitmentOf(page[started++]!);
      const { e, text } = await ahead[i]!;
      ahead[i] = undefined;
      if (!e) return fail({ seq: Number(row.seq), problem: 'edited', detail: `the entry at seq ${row.seq} has a detail that is not JSON` });
      if (e.seq > expectedSeq) {
        const missing = e.seq - 1 === expectedSeq ? `seq ${expectedSeq} is` : `seqs ${expectedSeq}..${e.seq - 1} are`;
        return fail({ seq: expectedSeq, problem: 'deleted', detail: `${missing} missing` });
      }
      if (e.seq < expectedSeq) return fail({ seq: e.seq, problem: 'edited', detail: `seq ${e.seq} is out of the chain's range` });
      if (text === null) return fail({ seq: e.seq, problem: 'edited', detail: `the entry at seq ${e.seq} has records that no longer give its Merkle root` });
      if (entryHash(row.prev_hash, e, text) !== row.hash) return fail(await diagnoseHashMismatch(store, row, e, text));
      if (row.prev_hash !== expectedPrev) {
        if (e.seq === 1) return fail({ seq: 1, problem: 'edited', detail: 'the first entry does not start from the genesis hash' });
        return fail({
          seq: e.seq - 1,
          problem: 'edited',
          detail: `the entry at seq ${e.seq - 1} was changed and its hash recomputed: seq ${e.seq} links to another hash`,
        });
      }
      for (const cp of bySeq.get(e.seq) ?? []) {
        if (cp.headHash !== row.hash) {
          return fail({ seq: e.seq, problem: 'checkpoint-mismatch', detail: `the chain at seq ${e.seq} differs from the head signed at ${cp.signedAt}` });
        }
        checked++;
      }
      entries++;
      expectedSeq = e.seq + 1;
      expectedPrev = row.hash;
    }
  }
  const beyond = checkpoints.find((cp) => cp.seq >= expectedSeq);
  if (beyond) {
    return fail({ seq: expectedSeq, problem: 'deleted', detail: `the chain ends at seq ${expectedSeq - 1} but a checkpoint signed seq ${beyond.seq}` });
  }
  return { ok: true, entries, checkpoints: checked };
}
