/**
 * Where signed checkpoints go so that the runner cannot rewrite them later:
 * a folder (one read-only file per checkpoint, created with O_EXCL, never
 * replaced) or an http(s) URL (one object per checkpoint, sent with PUT
 * and `If-None-Match: *`, so a store that honours it refuses an
 * overwrite). The write-once guarantee itself comes from the storage (a
 * WORM bucket, an immutable share, `chattr +a`); see
 * docs/audit-checkpoints.md. Each checkpoint is named by its seq, so
 * `readCheckpointFile` reads a folder of them back in order.
 */
import { constants } from 'node:fs';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { SignedCheckpoint } from './audit.types.js';

/** What happened to one checkpoint: written now, already there with the same head, or already there with another head (the chain was rewritten). */
export type CheckpointWrite = { outcome: 'written' | 'exists' | 'conflict'; where: string };

/** A write-once place for checkpoints. */
export interface CheckpointStore {
  /** The folder or URL, for logs. */
  readonly location: string;
  /** Writes `cp` once; throws the file system's or HTTP error when the place cannot take it. */
  write(cp: SignedCheckpoint): Promise<CheckpointWrite>;
}

/** The name a checkpoint is stored under: its seq, zero-padded so names sort in seq order. */
export function checkpointName(seq: number): string {
  return `checkpoint-${String(seq).padStart(12, '0')}.jsonl`;
}

const lineOf = (cp: SignedCheckpoint) => `${JSON.stringify(cp)}\n`;

function sameHead(text: string, cp: SignedCheckpoint): boolean {
  try {
    const old = JSON.parse(text) as Partial<SignedCheckpoint>;
    return old.seq === cp.seq && old.headHash === cp.headHash;
  } catch {
    return false;
  }
}

function folderStore(dir: string): CheckpointStore {
  return {
    location: dir,
    async write(cp) {
      const where = join(dir, checkpointName(cp.seq));
      let fh;
      try {
        fh = await open(where, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return { outcome: sameHead(await readFile(where, 'utf8').catch(() => ''), cp) ? 'exists' : 'conflict', where };
      }
      try {
        await fh.writeFile(lineOf(cp), 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await chmod(where, 0o444);
      return { outcome: 'written', where };
    },
  };
}

/** A URL as logs may show it: without user, password or query (they may hold credentials). */
function shown(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.search = '';
  return u.toString();
}

function urlStore(base: string): CheckpointStore {
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return {
    location: shown(base),
    async write(cp) {
      const url = `${prefix}${checkpointName(cp.seq)}`;
      const where = shown(url);
      const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/jsonl', 'if-none-match': '*' }, body: lineOf(cp) });
      await put.body?.cancel();
      if (put.ok) return { outcome: 'written', where };
      if (put.status !== 412 && put.status !== 409) throw new Error(`PUT ${where} answered HTTP ${put.status}`);
      const got = await fetch(url).catch(() => null);
      const text = got?.ok ? await got.text() : '';
      return { outcome: sameHead(text, cp) ? 'exists' : 'conflict', where };
    },
  };
}

/**
 * The checkpoint store `spec` names: an `http://` or `https://` URL, or a
 * folder that exists. Throws `AUDIT_CHECKPOINTS_UNAVAILABLE` for anything
 * else (another scheme, a missing folder, a file).
 */
export async function openCheckpointStore(spec: string): Promise<CheckpointStore> {
  if (/^https?:\/\//i.test(spec)) return urlStore(spec);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new PipelineError(PipelineCodes.AUDIT_CHECKPOINTS_UNAVAILABLE, `REKEY_AUDIT_CHECKPOINTS ${spec}: only folders and http(s) URLs are supported`);
  }
  const info = await stat(spec).catch(() => null);
  if (!info?.isDirectory()) throw new PipelineError(PipelineCodes.AUDIT_CHECKPOINTS_UNAVAILABLE, `REKEY_AUDIT_CHECKPOINTS ${spec} is not a folder that exists`);
  return folderStore(spec);
}
