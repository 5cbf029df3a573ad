/**
 * The one exponential backoff of every program (server, desktop main, renderer): attempt n waits
 * initial · factorⁿ⁻¹, capped, optionally spread at random so that many clients retrying after the same outage do
 * not all arrive in the same instant. Pure: the callers own their timers and attempt counters.
 */
export interface Backoff {
  /** delay before the first retry (attempt 1), ms */
  initialMs: number;
  /** cap, ms */
  maxMs: number;
  /** growth per attempt (default 2) */
  factor?: number;
  /** the exponent stops growing after this many steps (default: it does not) */
  maxExponent?: number;
  /** random spread: the delay becomes delay · (fixed + random · r), r uniform in [0, 1) (default: none) */
  jitter?: BackoffJitter;
  random?: () => number;
}

export interface BackoffJitter {
  fixed: number;
  random: number;
}

/** "Equal jitter": half the delay fixed, half random. */
export const EQUAL_JITTER: BackoffJitter = { fixed: 0.5, random: 0.5 };
/** ±20 % around the delay. */
export const PLUS_MINUS_20_PERCENT: BackoffJitter = { fixed: 0.8, random: 0.4 };

/** Delay before retry number `attempt` (1-based; below 1 counts as 1), ms; rounded when jittered. */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  const exponent = Math.max(0, Math.min(attempt - 1, backoff.maxExponent ?? Infinity));
  const delay = Math.min(backoff.maxMs, backoff.initialMs * (backoff.factor ?? 2) ** exponent);
  const jitter = backoff.jitter;
  if (!jitter) return delay;
  const random = backoff.random ?? Math.random;
  return Math.round(delay * (jitter.fixed + jitter.random * random()));
}
