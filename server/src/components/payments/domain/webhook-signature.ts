/**
 * Webhook signatures (Stripe's scheme): header `Provider-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`,
 * v1 = HMAC-SHA256(secret, "<t>.<raw body>"). Verified over the raw bytes, compared in constant time, and only
 * within a tolerance of the timestamp so a captured request cannot be replayed later.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'provider-signature';
export const WEBHOOK_TOLERANCE_S = 300;

export type SignatureCheck = { ok: true; timestampS: number } | { ok: false; reason: 'missing' | 'malformed' | 'too_old' | 'mismatch' };

export function computeSignature(secret: string, timestampS: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${rawBody}`).digest('hex');
}

export function signatureHeader(secret: string, timestampS: number, rawBody: string): string {
  return `t=${timestampS},v1=${computeSignature(secret, timestampS, rawBody)}`;
}

export function verifySignature(
  header: string | undefined,
  rawBody: string,
  secret: string,
  nowMs: number,
  toleranceS = WEBHOOK_TOLERANCE_S,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing' };
  let timestampS: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'malformed' };
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') timestampS = /^\d{1,12}$/.test(value) ? Number(value) : NaN;
    else if (name === 'v1') candidates.push(value);
  }
  if (timestampS === undefined || !Number.isFinite(timestampS) || candidates.length === 0) return { ok: false, reason: 'malformed' };
  // Both directions: a timestamp from the future is as suspicious as an old one.
  if (Math.abs(nowMs / 1000 - timestampS) > toleranceS) return { ok: false, reason: 'too_old' };
  const expected = Buffer.from(computeSignature(secret, timestampS, rawBody), 'hex');
  for (const candidate of candidates) {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) continue;
    if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) return { ok: true, timestampS };
  }
  return { ok: false, reason: 'mismatch' };
}
