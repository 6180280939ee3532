/**
 * Password hashes for the console's users file: scrypt (Node's own, from
 * OpenSSL), written `scrypt:N:r:p:SALT:HASH` with base64 salt and hash, so
 * the cost travels with each hash and can be raised without breaking old
 * ones. The default cost is OWASP's recommendation for scrypt (N=2^17, r=8,
 * p=1).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, length: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, length, opts, (e, key) => (e ? reject(e) : resolve(key))));

/** The cost of a new hash. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** OWASP's recommended scrypt cost. */
export const DEFAULT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

const FORMAT = /^scrypt:(\d+):(\d+):(\d+):([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

function memory(c: ScryptCost): number {
  return 128 * c.N * c.r * c.p + 1024 * 1024;
}

/** Hashes `password` with a fresh 16-byte salt. */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { ...cost, maxmem: memory(cost) });
  return `scrypt:${cost.N}:${cost.r}:${cost.p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/** Why `text` is not a password hash this module can check, or undefined when it is one. */
export function hashProblem(text: string): string | undefined {
  const m = FORMAT.exec(text);
  if (!m) return 'is not a scrypt hash of the form scrypt:N:r:p:SALT:HASH (make one with `rekey console hash-password`)';
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 ** 14 || (N & (N - 1)) !== 0) return 'has a scrypt N that is not a power of two of at least 16384';
  if (r < 1 || r > 32 || p < 1 || p > 16) return 'has a scrypt r or p out of range';
  if (Buffer.from(m[5]!, 'base64').length < 16) return 'has a hash shorter than 16 bytes';
  return undefined;
}

/** Whether `password` matches `stored` (a hash `hashProblem` accepts), in time that does not depend on where they differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) return false;
  const cost = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = await scrypt(password, Buffer.from(m[4]!, 'base64'), expected.length, { ...cost, maxmem: memory(cost) });
  return timingSafeEqual(actual, expected);
}
