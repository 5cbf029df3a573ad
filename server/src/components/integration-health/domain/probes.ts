/**
 * How each integration's own signal becomes a state: the broker connection, a database round trip, the payment
 * provider's probe and recent calls, the licence provider's recent calls, the availability index's age.
 */
import type { ProbeResult } from './integration-monitor.js';

const SLOW_DB_MS = 500;
/** the availability index is rebuilt every second: older than this is degraded, much older down */
const INDEX_DEGRADED_MS = 10_000;
const INDEX_DOWN_MS = 60_000;
/** licence calls that failed in a row before the provider counts as down (one failure: degraded) */
const LICENCE_DOWN_AFTER = 3;

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The broker: down is the link's state, not the cars' (they keep their last-known state, marked stale). */
export function brokerProbe(mqtt: { isReady(): boolean; linkState(): { since: number } }, url: string) {
  return (): ProbeResult => {
    if (mqtt.isReady()) return { state: 'up', error: null, detail: url };
    return {
      state: 'down',
      error: 'not connected (reconnecting with backoff); cars shown at their last-known state, commands queued until it is back',
      detail: `${url}, unreachable since ${new Date(mqtt.linkState().since).toISOString()}`,
    };
  };
}

export function databaseProbe(ping: () => Promise<void>, backend: string, now: () => number = Date.now) {
  return async (): Promise<ProbeResult> => {
    const started = now();
    try {
      await ping();
    } catch (err) {
      // what it means for the people looking (the desk's banner shows `error`); the cause is in `detail`
      return {
        state: 'down',
        error:
          'not reachable (retried); searches answer from memory, writes wait — desks work from their replica and send their changes once it is back',
        detail: `${backend}: ${errorText(err)}`,
      };
    }
    const ms = now() - started;
    return ms > SLOW_DB_MS
      ? { state: 'degraded', error: `round trip ${ms} ms`, detail: `${backend}, round trip ${ms} ms` }
      : { state: 'up', error: null, detail: `${backend}, round trip ${ms} ms` };
  };
}

export interface PaymentProviderView {
  up: boolean;
  consecutiveFailures: number;
  lastError: string | null;
  lastAnswerAt: string | null;
  lastProbeAt: string | null;
}

export function paymentProviderProbe(payments: { probeProvider(): Promise<void>; providerHealth(): PaymentProviderView }) {
  return async (): Promise<ProbeResult> => {
    await payments.probeProvider();
    const view = payments.providerHealth();
    if (!view.up)
      return { state: 'down', error: view.lastError ?? 'not answering', detail: `${view.consecutiveFailures} calls failed in a row` };
    return view.consecutiveFailures > 0
      ? { state: 'degraded', error: view.lastError, detail: `${view.consecutiveFailures} calls failed in a row` }
      : { state: 'up', error: null, detail: view.lastAnswerAt ? `last answer ${view.lastAnswerAt}` : 'health endpoint answering' };
  };
}

export interface LicenceProviderView {
  consecutiveFailures: number;
  lastError: string | null;
  lastAnswerAt: number | null;
  lastFailureAt: number | null;
}

export function licenceProviderProbe(customers: { licenceProviderHealth(): LicenceProviderView }) {
  return (): ProbeResult => {
    const h = customers.licenceProviderHealth();
    const last = h.lastAnswerAt === null ? 'no check answered yet' : `last answer ${new Date(h.lastAnswerAt).toISOString()}`;
    if (h.consecutiveFailures === 0) return { state: 'up', error: null, detail: last };
    return {
      state: h.consecutiveFailures >= LICENCE_DOWN_AFTER ? 'down' : 'degraded',
      error: h.lastError,
      detail: `${h.consecutiveFailures} checks failed in a row (retried with backoff); ${last}`,
    };
  };
}

export function availabilityIndexProbe(bookings: { availabilityAsOf(): number }, now: () => number = Date.now) {
  return (): ProbeResult => {
    const age = now() - bookings.availabilityAsOf();
    const detail = `rebuilt ${Math.round(age / 1000)} s ago (search and GBFS answer from it)`;
    if (age > INDEX_DOWN_MS) return { state: 'down', error: 'the index has not been rebuilt for over a minute', detail };
    if (age > INDEX_DEGRADED_MS) return { state: 'degraded', error: 'the index is not being rebuilt every second', detail };
    return { state: 'up', error: null, detail };
  };
}
