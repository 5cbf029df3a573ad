/**
 * The licence-check provider contract (a third party that verifies driving licences, e.g. an identity/KYC
 * service). Version 1:
 *
 * - `check(request, signal)` resolves with the provider's decision: `verified`, or `rejected` with a reason the
 *   customer may see.
 * - Anything else — a rejection of the promise, a network error, an HTTP 5xx, no answer before `signal` aborts
 *   (LICENCE_CHECK_TIMEOUT_MS) — is a provider failure: the check stays pending and is retried with backoff.
 *   A provider must therefore be idempotent per `checkId` (the same check may be asked again after a timeout).
 * - The caller never asks about a licence whose expiry date has passed (that is `expired` without a call).
 */
export interface LicenceCheckRequest {
  /** stable per submitted licence; the idempotency key for the provider */
  checkId: string;
  number: string;
  /** ISO 3166-1 alpha-2 of the issuing country */
  country: string;
  /** YYYY-MM-DD */
  expiresOn: string;
  holderName: string;
}

export interface LicenceCheckDecision {
  outcome: 'verified' | 'rejected';
  reason?: string;
}

export interface LicenceCheckProvider {
  readonly name: string;
  check(request: LicenceCheckRequest, signal: AbortSignal): Promise<LicenceCheckDecision>;
}

/** What a provider throws for an outage (5xx, refused); any other error counts the same. */
export class LicenceProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LicenceProviderError';
  }
}
