/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random. The jitter spreads the
 * reconnects of many desktops after a broker or server restart so they don't all arrive in the same instant.
 */
export interface BackoffOptions {
  /** delay before the first retry, ms (default 500) */
  initialMs?: number;
  /** cap, ms (default 30 000) */
  maxMs?: number;
  /** 0..1 share of the delay that is random (default 0.5) */
  jitter?: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (1-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const random = options.random ?? Math.random;
  const exp = Math.min(max, initial * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp * (1 - jitter) + exp * jitter * random());
}
