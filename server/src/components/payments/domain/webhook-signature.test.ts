/** Webhook signatures: accepted only with the right secret, over the exact body, within the tolerance. */
import { describe, expect, it } from 'vitest';
import { signPayload } from '../../../sandbox/payment-provider/index.js';
import { signatureHeader, verifySignature } from './webhook-signature.js';

const secret = 'whsec_test_0123456789abcdef';
const body = '{"id":"evt_1","type":"hold.captured","data":{}}';
const now = 1_700_000_000_000;
const t = now / 1000;

describe('webhook signature', () => {
  it('accepts the sandbox’s own signature (the two sides agree on the scheme)', () => {
    expect(verifySignature(signPayload(secret, body, t), body, secret, now)).toEqual({ ok: true, timestampS: t });
    expect(verifySignature(signatureHeader(secret, t, body), body, secret, now).ok).toBe(true);
  });

  it('accepts any of several v1 signatures (secret rotation)', () => {
    const other = signatureHeader('another-secret-value', t, body).split(',')[1];
    expect(verifySignature(`${signatureHeader(secret, t, body)},${other}`, body, secret, now).ok).toBe(true);
  });

  it('rejects a wrong secret, a changed body, a missing or malformed header', () => {
    expect(verifySignature(signatureHeader('wrong-secret-value', t, body), body, secret, now)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifySignature(signatureHeader(secret, t, body), body.replace('captured', 'voided'), secret, now)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifySignature(undefined, body, secret, now)).toEqual({ ok: false, reason: 'missing' });
    expect(verifySignature('garbage', body, secret, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(`t=${t}`, body, secret, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignature(`t=${t},v1=zz`, body, secret, now)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a timestamp more than 5 minutes away (replay), in either direction', () => {
    expect(verifySignature(signatureHeader(secret, t - 301, body), body, secret, now)).toEqual({ ok: false, reason: 'too_old' });
    expect(verifySignature(signatureHeader(secret, t + 301, body), body, secret, now)).toEqual({ ok: false, reason: 'too_old' });
    expect(verifySignature(signatureHeader(secret, t - 299, body), body, secret, now).ok).toBe(true);
  });
});
