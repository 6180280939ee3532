/**
 * The tamper-evident audit log: append-only, one entry per event per batch,
 * hash-chained (see `audit.hash.ts`), each batch's records under a Merkle
 * root so that one submission's entries can be proved alone, with an
 * `audit_keys` index from each submission key to the entries that name it,
 * signed checkpoints, streaming exports and proofs.
 */
import type { KeyObject } from 'node:crypto';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { insertMany, iso, readDateStrict, readInt, sqliteInsertValues } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import { exportAudit, type AuditExportOptions, type ExportTally } from './audit.export.js';
import { buildProof, verifyProof, type AuditProof, type ProofVerifyResult } from './audit.prove.js';
import { entryHash, GENESIS_HASH, merklePlan, sealPlan, sealWhole } from './audit.hash.js';
import { merkleRootOf } from './merkle-thread.js';
import { AUDIT_COLUMNS, rowToEntry, type AuditRow } from './audit.rows.js';
import { AUDIT_EVENTS, type AuditEntry, type NewAuditEntry, type SignedCheckpoint, type VerifyResult } from './audit.types.js';
import { verifyChain } from './audit.verify.js';
import { signCheckpoint, writeCheckpointFile } from './checkpoints.js';
import { PII_HASH } from './pii.js';
import { sentProblem } from './sent-detail.js';

const EVENTS = new Set<string>(AUDIT_EVENTS);

function badRequest(message: string): PipelineError {
  return new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, message);
}

function isPiiHash(v: unknown): boolean {
  return typeof v === 'string' && PII_HASH.test(v);
}

function checkEntry(e: NewAuditEntry): void {
  if (!EVENTS.has(e.event)) throw badRequest(`unknown audit event ${JSON.stringify(e.event)}`);
  if (!Array.isArray(e.detail?.keys)) throw badRequest('audit detail must list the keys it names (detail.keys)');
  for (const r of e.detail.records ?? []) {
    const pii = r.pii ?? {};
    for (const field in pii) {
      const v = pii[field];
      if (!(Array.isArray(v) ? v.every(isPiiHash) : isPiiHash(v))) {
        throw badRequest(`audit record for ${JSON.stringify(r.key)}: PII field ${field} must be a piiHash (hmac:...), never a value`);
      }
    }
    const problem = r.sent === undefined ? undefined : sentProblem(r.sent);
    if (problem) throw badRequest(`audit record for ${JSON.stringify(r.key)}: ${problem}`);
  }
}

/** What `AuditLog.prove` holds the proof to, and what more it proves. */
export interface ProveOptions {
  /** Checkpoints to anchor to (default: those in the state store). */
  checkpoints?: readonly SignedCheckpoint[];
  /** A routed pipeline's lanes whose entries for the key are proved too. */
  lanes?: readonly string[];
}

/** Where in an audit row its detail text is (see `AUDIT_COLUMNS`). */
const DETAIL_COLUMN = AUDIT_COLUMNS.indexOf('detail');

/**
 * Inserts audit rows whose detail is text or its UTF-8 bytes (a Merkle
 * entry's, `sealPlan`). SQLite binds the bytes and stores them as TEXT
 * (`CAST`, the same bytes in a UTF-8 database), every value a parameter
 * of its own, so no long text is escaped into JSON; PostgreSQL is given
 * the text.
 */
async function insertAuditRows(store: StateStore, rows: unknown[][], t: StoreTx): Promise<void> {
  if (store.dialect === 'sqlite') return sqliteInsertValues(store, 'audit_log', AUDIT_COLUMNS, rows, t, '', { [DETAIL_COLUMN]: 'CAST($ AS TEXT)' });
  const texts = rows.map((r) => r.map((v, i) => (i === DETAIL_COLUMN && v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : v)));
  await insertMany(store, 'audit_log', AUDIT_COLUMNS, texts, t);
}

/** Ledger ids by submission key, of one pipeline's rows. */
export type LedgerIds = ReadonlyMap<string, number | string>;

/** The audit log of one state store. */
export class AuditLog {
  constructor(readonly store: StateStore) {}

  /**
   * Appends entries at the head of the chain with consecutive seqs, inside
   * `opts.transaction` (the caller's, so the entries commit with the change
   * they record) or a transaction of its own. On PostgreSQL it takes a
   * transaction-scoped advisory lock first, so concurrent runners never fork
   * the chain; SQLite write transactions are already exclusive. Call it last
   * in a transaction: the lock is held until commit. Throws
   * `LEDGER_BAD_REQUEST` for an unknown event, a detail without `keys`, or a
   * PII field that is not a `piiHash`; nothing is written then. With
   * `opts.ledgerIds` (the caller's ledger ids by key, for keys whose rows
   * it just wrote; or, for entries of several pipelines, a function giving
   * each pipeline's), entries whose keys all have one are indexed by those
   * ids without looking the keys up.
   */
  async append(entries: readonly NewAuditEntry[], opts: { transaction?: StoreTx; ledgerIds?: LedgerIds | ((pipeline: string) => LedgerIds | undefined) } = {}): Promise<AuditEntry[]> {
    if (!entries.length) return [];
    const t = opts.transaction;
    if (!t) return this.store.transaction((tx) => this.append(entries, { ...opts, transaction: tx }));
    entries.forEach(checkEntry);
    // Roots first, before the chain's lock is taken: a large batch's tree is hashed on a thread of its own meanwhile.
    const sealed = await Promise.all(
      entries.map(async (n) => {
        const plan = merklePlan(n.detail);
        return plan ? sealPlan(plan, await merkleRootOf(plan.joined, plan.lengths)) : sealWhole(n.detail);
      }),
    );
    if (this.store.dialect === 'postgres') {
      await this.store.exec(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`, [], t);
    }
    let { seq, hash: prev } = await this.head(t);
    const now = new Date();
    const rows: unknown[][] = [];
    const keyLists: [number, string, string[]][] = [];
    const out: AuditEntry[] = [];
    for (const [i, n] of entries.entries()) {
      const { detail, detailText, hashedText } = sealed[i]!;
      const e = {
        seq: ++seq,
        at: n.at ?? now,
        pipeline: n.pipeline,
        event: n.event,
        actor: n.actor,
        mappingVersion: n.mappingVersion ?? null,
        target: n.target ?? null,
        legacyRef: n.legacyRef ?? null,
        detail,
      };
      const hash = entryHash(prev, e, hashedText);
      rows.push([e.seq, iso(e.at), e.pipeline, e.event, e.actor, e.mappingVersion, e.target, e.legacyRef, detailText, prev, hash]);
      keyLists.push([e.seq, e.pipeline, [...new Set(e.detail.keys)]]);
      out.push({ ...e, prevHash: prev, hash });
      prev = hash;
    }
    await insertAuditRows(this.store, rows, t);
    await this.indexKeys(keyLists, t, opts.ledgerIds);
    return out;
  }

  /**
   * Adds `audit_keys` rows (the ledger id of each key an entry names): one
   * statement for the entries whose keys all have an id in `ids`, bound as
   * pairs, and one that looks the other entries' keys up by (pipeline, key),
   * each with one JSON parameter. Keys are indexed through their ledger
   * rows, which every audited submission has; a key without one is on the
   * entry but not in the index.
   */
  private async indexKeys(lists: [number, string, string[]][], t: StoreTx, given?: LedgerIds | ((pipeline: string) => LedgerIds | undefined)): Promise<void> {
    const pairs: [number, number | string][] = [];
    const lookUp = lists.filter(([seq, pipeline, keys]) => {
      const ids = typeof given === 'function' ? given(pipeline) : given;
      if (!ids || !keys.every((k) => ids.has(k))) return keys.length > 0;
      for (const k of keys) pairs.push([seq, ids.get(k)!]);
      return false;
    });
    if (pairs.length) {
      const sql =
        this.store.dialect === 'sqlite'
          ? 'INSERT INTO audit_keys (seq, ledger_id) SELECT value ->> 0, value ->> 1 FROM json_each($1)'
          : 'INSERT INTO audit_keys (seq, ledger_id) SELECT (e ->> 0)::bigint, (e ->> 1)::bigint FROM jsonb_array_elements($1::jsonb) e';
      await this.store.exec(sql, [JSON.stringify(pairs)], t);
    }
    if (!lookUp.length) return;
    const sql =
      this.store.dialect === 'sqlite'
        ? `WITH e AS MATERIALIZED (SELECT value ->> 0 AS seq, value ->> 1 AS pipeline, value -> 2 AS keys FROM json_each($1))
           INSERT INTO audit_keys (seq, ledger_id) SELECT e.seq, l.id FROM e CROSS JOIN json_each(e.keys) k CROSS JOIN ledger l WHERE l.pipeline = e.pipeline AND l.key = k.value`
        : `INSERT INTO audit_keys (seq, ledger_id) SELECT (e ->> 0)::bigint, l.id FROM jsonb_array_elements($1::jsonb) e
           CROSS JOIN LATERAL jsonb_array_elements_text(e -> 2) k(value) JOIN ledger l ON l.pipeline = e ->> 1 AND l.key = k.value`;
    await this.store.exec(sql, [JSON.stringify(lookUp)], t);
  }

  /** The seqs of every entry that names `key` in `pipeline`, as `entriesFor` finds them, ascending. */
  async seqsFor(pipeline: string, key: string): Promise<number[]> {
    const rows = await this.store.select<{ seq: number | string }>(
      `SELECT k.seq FROM ledger l JOIN audit_keys k ON k.ledger_id = l.id WHERE l.pipeline = $1 AND l.key = $2
         UNION SELECT r.seq FROM audit_keys_retired r WHERE r.pipeline = $1 AND r.key = $2 ORDER BY 1`,
      [pipeline, key],
    );
    return rows.map((r) => readInt(r.seq));
  }

  /**
   * The inclusion proof of submission `key` of `pipeline` (see
   * `audit.prove.ts`), with the entries of `opts.lanes` (a routed
   * pipeline's lanes) for the same key, anchored to the first of
   * `opts.checkpoints` (default: those in the state store) at or after its
   * last entry. Throws `AUDIT_PROOF_INVALID` when no entry names it.
   */
  async prove(pipeline: string, key: string, opts: ProveOptions = {}): Promise<AuditProof> {
    const lanes = opts.lanes ?? [];
    const seqs = (await Promise.all([pipeline, ...lanes].map((p) => this.seqsFor(p, key)))).flat();
    return buildProof(this.store, pipeline, key, seqs, opts.checkpoints ?? (await this.checkpoints()), lanes);
  }

  /**
   * As `prove`, for a person (`actor`): checks the proof's links first and,
   * when they hold, hands its text (pretty JSON) to `write`, then appends
   * `audit-proved` (who, which submission in the detail, not in `keys`,
   * the lanes, the seqs covered, how many entries name it, the
   * checkpoint). A proof whose links do not hold (the log is broken in its
   * range) is neither written nor recorded: `check` says where it broke. A
   * failed `write` is thrown, with nothing recorded.
   */
  async proveRecorded(pipeline: string, key: string, actor: string, write: (text: string) => Promise<void>, opts: ProveOptions = {}): Promise<{ proof: AuditProof; check: ProofVerifyResult }> {
    const proof = await this.prove(pipeline, key, opts);
    const check = verifyProof(proof);
    if (!check.ok) return { proof, check };
    await write(`${JSON.stringify(proof, null, 2)}\n`);
    const range = { from: proof.entries[0]!.seq, to: proof.entries[proof.entries.length - 1]!.seq };
    // Named in the detail, as audit-exported names its filter: were the entry indexed under the key, each proof would end past the checkpoint the one before was held to.
    const detail = { keys: [], key, ...(proof.lanes && { lanes: proof.lanes }), range, naming: check.proven.length, checkpoint: proof.checkpoint?.seq ?? null };
    await this.append([{ pipeline, event: 'audit-proved', actor, detail }]);
    return { proof, check };
  }

  /** The last entry's seq and hash (`0` and 64 zeros for an empty log). */
  async head(t?: StoreTx): Promise<{ seq: number; hash: string }> {
    const [row] = await this.store.select<{ seq: number | string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1', [], t);
    return row ? { seq: readInt(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  /** Every entry that names `key` in `pipeline`, oldest first (through `audit_keys`, and `audit_keys_retired` once retention purged its ledger row). */
  async entriesFor(pipeline: string, key: string): Promise<AuditEntry[]> {
    const cols = AUDIT_COLUMNS.map((c) => `a.${c}`).join(',');
    const rows = await this.store.select<AuditRow>(
      `SELECT ${cols} FROM audit_log a WHERE a.seq IN (SELECT k.seq FROM ledger l JOIN audit_keys k ON k.ledger_id = l.id WHERE l.pipeline = $1 AND l.key = $2
         UNION SELECT r.seq FROM audit_keys_retired r WHERE r.pipeline = $1 AND r.key = $2) ORDER BY a.seq`,
      [pipeline, key],
    );
    return rows.map(rowToEntry);
  }

  /**
   * Recomputes the whole chain in seq order with bounded memory and checks
   * the given checkpoints (signature with `publicKey`, and the chain's hash
   * at each checkpoint's seq). Never throws for tampering: the result says
   * where the first problem is and what kind (see `audit.verify.ts`).
   */
  verify(opts: { checkpoints?: readonly SignedCheckpoint[]; publicKey?: KeyObject; pageSize?: number } = {}): Promise<VerifyResult> {
    return verifyChain(this.store, opts);
  }

  /**
   * Signs the current head with an Ed25519 private key (PEM), stores the
   * checkpoint in `audit_checkpoints` and returns it. Throws
   * `AUDIT_EMPTY` when the log has no entry, `AUDIT_KEY_INVALID` for a bad key.
   */
  async checkpoint(privateKeyPem: string | Buffer): Promise<SignedCheckpoint> {
    const head = await this.head();
    if (head.seq === 0) throw new PipelineError(PipelineCodes.AUDIT_EMPTY, 'the audit log is empty: nothing to checkpoint');
    const cp = signCheckpoint(head.seq, head.hash, privateKeyPem);
    await this.store.exec('INSERT INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) VALUES ($1,$2,$3,$4,$5)', [
      cp.seq,
      cp.headHash,
      cp.signedAt,
      cp.keyId,
      cp.signature,
    ]);
    return cp;
  }

  /**
   * As `checkpoint`, but only when no checkpoint of the head's seq is
   * stored yet (by any runner); resolves to undefined otherwise, or when
   * the log is empty. Reading the head, looking and storing are one
   * transaction that, on PostgreSQL, holds the chain's advisory lock, so
   * runners sharing the store that sign at once store one checkpoint.
   */
  async checkpointUnlessSigned(privateKeyPem: string | Buffer): Promise<SignedCheckpoint | undefined> {
    return this.store.transaction(async (t) => {
      if (this.store.dialect === 'postgres') await this.store.exec(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`, [], t);
      const head = await this.head(t);
      if (head.seq === 0) return undefined;
      if ((await this.store.select('SELECT 1 AS one FROM audit_checkpoints WHERE seq = $1 LIMIT 1', [head.seq], t)).length) return undefined;
      const cp = signCheckpoint(head.seq, head.hash, privateKeyPem);
      await this.store.exec('INSERT INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) VALUES ($1,$2,$3,$4,$5)', [cp.seq, cp.headHash, cp.signedAt, cp.keyId, cp.signature], t);
      return cp;
    });
  }

  /** Checkpoints stored in this state store, oldest first. */
  async checkpoints(): Promise<SignedCheckpoint[]> {
    const rows = await this.store.select<Record<string, unknown>>(
      'SELECT seq, head_hash, signed_at, key_id, signature FROM audit_checkpoints ORDER BY seq, id',
    );
    return rows.map((r) => ({
      seq: readInt(r.seq),
      headHash: String(r.head_hash),
      signedAt: readDateStrict(r.signed_at).toISOString(),
      keyId: String(r.key_id),
      signature: String(r.signature),
    }));
  }

  /**
   * Writes every stored checkpoint as JSON lines to a new read-only file in
   * `dest` (a directory) or at `dest` (a file that must not exist). Point it
   * at a WORM location the runner cannot rewrite; `verify` then holds the
   * chain to it. Resolves to the file written.
   */
  async exportCheckpoints(dest: string): Promise<string> {
    return writeCheckpointFile(dest, await this.checkpoints());
  }

  /** Streams the selected entries as CSV or JSON text chunks (see `exportAudit`). Writes nothing: see `exportRecorded`. */
  export(opts: AuditExportOptions): AsyncIterable<string> {
    return exportAudit(this.store, opts);
  }

  /**
   * As `export`, for a person (`actor`): once the stream ends, or is
   * abandoned after it began, appends `audit-exported` (pipeline: the
   * filter's, else `*`) with the format, the filter (pipeline, submission
   * key, ledger state, events), the bounds asked for (`from`, `to`),
   * the seqs covered, the entries selected (and, for `jsonl`, left out),
   * whether it was signed and whether it completed; never an entry's
   * content. The export's range is fixed before the entry is appended, so
   * the entry is never in the export it records, which verifies as
   * before. An export that failed before handing anything out records
   * nothing. A failed append is thrown once the stream is done.
   */
  async *exportRecorded(opts: AuditExportOptions, actor: string): AsyncGenerator<string> {
    const tally: ExportTally = { range: null, entries: 0, omitted: 0, complete: false };
    let began = false;
    try {
      for await (const chunk of exportAudit(this.store, opts, tally)) {
        began = true;
        yield chunk;
      }
    } finally {
      if (began || tally.complete) {
        const bound = (b: number | Date | undefined) => (b === undefined ? null : b instanceof Date ? b.toISOString() : b);
        const filter = Object.fromEntries(Object.entries({ pipeline: opts.pipeline, key: opts.key, state: opts.state, events: opts.events }).filter(([, v]) => v !== undefined));
        const detail = {
          keys: [],
          format: opts.format,
          filter,
          from: bound(opts.from),
          to: bound(opts.to),
          range: tally.range,
          entries: tally.entries,
          ...(opts.format === 'jsonl' && { omitted: tally.omitted }),
          signed: opts.format === 'jsonl' && Boolean(opts.signingKey),
          complete: tally.complete,
        };
        await this.append([{ pipeline: opts.pipeline ?? '*', event: 'audit-exported', actor, detail }]);
      }
    }
  }
}
