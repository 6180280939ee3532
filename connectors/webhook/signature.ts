/**
 * The webhook signing scheme. The sender computes
 * `hex(HMAC-SHA256(secret, "<timestamp>.<raw body bytes>"))` with the
 * timestamp in unix seconds, and sends the digest (optionally written
 * `sha256=<hex>`) and the timestamp in two headers. The timestamp is inside
 * the signed text, so it cannot be changed to replay an old body later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a signature was refused, or `ok`. */
export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'bad-timestamp' | 'stale' | 'future' | 'bad-signature'; skewSeconds?: number };

/** The hex digest the sender puts in the signature header. */
export function sign(secret: string | Buffer, timestamp: string | number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

const TIMESTAMP = /^\d{1,12}$/;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

/**
 * Checks the timestamp header alone (cheap, before the body is read):
 * digits only, within `windowSeconds` of `nowMs` either way.
 */
export function checkTimestamp(timestamp: string, windowSeconds: number, nowMs: number): SignatureCheck {
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'bad-timestamp' };
  const skew = Math.floor(nowMs / 1000) - Number(timestamp);
  if (skew > windowSeconds) return { ok: false, reason: 'stale', skewSeconds: skew };
  if (-skew > windowSeconds) return { ok: false, reason: 'future', skewSeconds: skew };
  return { ok: true };
}

/**
 * Checks a signature header against the body and timestamp: the digest
 * must be 64 hex digits (an optional `sha256=` prefix is dropped) and equal
 * the expected one, compared in constant time. Does not check the
 * timestamp's age (see {@link checkTimestamp}).
 */
export function checkSignature(secret: string | Buffer, timestamp: string, body: Buffer, header: string): SignatureCheck {
  const given = header.trim().replace(/^sha256=/i, '');
  if (!HEX_DIGEST.test(given)) return { ok: false, reason: 'bad-signature' };
  const expected = Buffer.from(sign(secret, timestamp, body), 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? { ok: true } : { ok: false, reason: 'bad-signature' };
}
