import { backoffDelay, EQUAL_JITTER, type Backoff } from '../../shared/backoff.js';

/** What a service's options may override of the desktop's retry backoff (tests shorten the delays). */
export type BackoffOptions = Partial<Backoff>;

/**
 * The desktop's retry backoff (broker, server, session refresh): the shared formula with "equal jitter", so the
 * reconnects of many desktops after a broker or server restart don't all arrive in the same instant.
 */
const DESKTOP_RETRY_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, maxExponent: 30, jitter: EQUAL_JITTER };

/** Delay before retry number `attempt` (1-based). */
export function desktopRetryDelay(attempt: number, options: BackoffOptions = {}): number {
  return backoffDelay(attempt, { ...DESKTOP_RETRY_BACKOFF, ...options });
}
