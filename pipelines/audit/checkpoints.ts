/**
 * Signed checkpoints of the audit chain. A checkpoint is an Ed25519
 * signature over `canonicalJson({ seq, headHash, signedAt })`. Exported to a
 * place the runner cannot write later (a WORM bucket, a write-once share),
 * checkpoints let `verify` detect a chain that was rewritten whole and
 * consistently: the rewritten chain's hash at a checkpoint's seq no longer
 * equals the signed head.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson } from '../../lib/canonical-json.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { SignedCheckpoint } from './audit.types.js';

/** File names `rekey audit keygen` writes. */
export const KEY_FILES = { private: 'audit-signing.key.pem', public: 'audit-verify.pub.pem' } as const;

function keyError(what: string, e: unknown): PipelineError {
  return new PipelineError(PipelineCodes.AUDIT_KEY_INVALID, `${what}: ${(e as Error).message}`);
}

/** Parses a PEM Ed25519 private key; throws `AUDIT_KEY_INVALID`. */
export function parsePrivateKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw keyError('the audit signing key is not a PEM private key', e);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError('the audit signing key', new Error('must be Ed25519'));
  return key;
}

/** Parses a PEM Ed25519 public key (or derives it from a private one); throws `AUDIT_KEY_INVALID`. */
export function parsePublicKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw keyError('the audit verify key is not a PEM public key', e);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError('the audit verify key', new Error('must be Ed25519'));
  return key;
}

/** First 16 hex digits of sha256 over the public key's SPKI DER: names the key pair in checkpoints. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

function signedBytes(cp: Pick<SignedCheckpoint, 'seq' | 'headHash' | 'signedAt'>): Buffer {
  return Buffer.from(canonicalJson({ seq: cp.seq, headHash: cp.headHash, signedAt: cp.signedAt }), 'utf8');
}

/** Signs the chain head `(seq, headHash)` with an Ed25519 private key (PEM). */
export function signCheckpoint(seq: number, headHash: string, privateKeyPem: string | Buffer, signedAt = new Date()): SignedCheckpoint {
  const key = parsePrivateKey(privateKeyPem);
  const unsigned = { seq, headHash, signedAt: signedAt.toISOString() };
  const signature = sign(null, signedBytes(unsigned), key).toString('base64');
  return { ...unsigned, keyId: keyIdOf(createPublicKey(key)), signature };
}

/** The signed end of a `jsonl` audit export: how many entry lines it has and the sha256 of every line before it. */
export interface ExportSeal {
  lines: number;
  sha256: string;
  keyId: string;
  /** Ed25519 signature over `canonicalJson({ lines, sha256 })`, base64. */
  signature: string;
}

function sealBytes(seal: Pick<ExportSeal, 'lines' | 'sha256'>): Buffer {
  return Buffer.from(canonicalJson({ lines: seal.lines, sha256: seal.sha256 }), 'utf8');
}

/** Signs the end of an export: `lines` entry lines whose text, with the header's, hashes to `sha256`. */
export function sealExport(lines: number, sha256: string, privateKeyPem: string | Buffer): ExportSeal {
  const key = parsePrivateKey(privateKeyPem);
  return { lines, sha256, keyId: keyIdOf(createPublicKey(key)), signature: sign(null, sealBytes({ lines, sha256 }), key).toString('base64') };
}

/** True when `seal` carries a valid signature by `publicKey`. */
export function exportSealValid(seal: ExportSeal, publicKey: KeyObject): boolean {
  try {
    return verify(null, sealBytes(seal), publicKey, Buffer.from(seal.signature, 'base64'));
  } catch {
    return false;
  }
}

/** True when `cp` carries a valid signature by `publicKey`. */
export function checkpointSignatureValid(cp: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, signedBytes(cp), publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Writes a new Ed25519 key pair into `dir` (created if needed):
 * `audit-signing.key.pem` (mode 0600, for `REKEY_AUDIT_SIGNING_KEY`) and
 * `audit-verify.pub.pem` (for `REKEY_AUDIT_VERIFY_KEY`). Never overwrites:
 * throws `EEXIST` if either file exists.
 */
export async function generateSigningKeys(dir: string): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  await mkdir(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = join(dir, KEY_FILES.private);
  const publicKeyPath = join(dir, KEY_FILES.public);
  await writeOnce(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  await writeOnce(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o444);
  return { privateKeyPath, publicKeyPath };
}

async function writeOnce(path: string, text: string, mode: number): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, mode);
}

/**
 * Writes checkpoints as JSON lines to a new file and makes it read-only.
 * `dest` is a directory (a file `checkpoints-<seq>-<time>.jsonl` is created
 * in it) or the path of a file that must not exist yet. Point it at a WORM
 * location the runner cannot rewrite. Resolves to the file written.
 */
export async function writeCheckpointFile(dest: string, checkpoints: readonly SignedCheckpoint[]): Promise<string> {
  let path = dest;
  const info = await stat(dest).catch(() => null);
  if (info?.isDirectory()) {
    const last = checkpoints.at(-1)?.seq ?? 0;
    path = join(dest, `checkpoints-${last}-${new Date().toISOString().replace(/[:.]/g, '')}.jsonl`);
  }
  await writeOnce(path, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''), 0o444);
  return path;
}

function parseCheckpoint(line: string, where: string): SignedCheckpoint {
  let v: Partial<SignedCheckpoint>;
  try {
    v = JSON.parse(line) as Partial<SignedCheckpoint>;
  } catch {
    throw new PipelineError(PipelineCodes.AUDIT_CHECKPOINT_INVALID, `${where}: not JSON`);
  }
  const ok =
    typeof v.seq === 'number' && typeof v.headHash === 'string' && typeof v.signedAt === 'string' && typeof v.keyId === 'string' && typeof v.signature === 'string';
  if (!ok) throw new PipelineError(PipelineCodes.AUDIT_CHECKPOINT_INVALID, `${where}: not a checkpoint (seq, headHash, signedAt, keyId, signature)`);
  return v as SignedCheckpoint;
}

/**
 * Reads checkpoints from a JSON-lines file, or from every `.jsonl` file in a
 * directory. Throws `AUDIT_CHECKPOINT_INVALID` for a line that is not a
 * checkpoint, and the file system's error when the path cannot be read.
 */
export async function readCheckpointFile(path: string): Promise<SignedCheckpoint[]> {
  const info = await stat(path);
  const files = info.isDirectory()
    ? (await readdir(path)).filter((f) => f.endsWith('.jsonl')).sort().map((f) => join(path, f))
    : [path];
  const out: SignedCheckpoint[] = [];
  for (const file of files) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (line.trim()) out.push(parseCheckpoint(line, `${file}:${i + 1}`));
    });
  }
  return out.sort((a, b) => a.seq - b.seq);
}
