/**
 * Fault injection of the sandbox payment provider: latency, timeouts (some applied, some not), 5xx answers and
 * declines. Decisions are a hash of (seed, request identity, how often that identity was seen) rather than one
 * random stream, so a seeded run takes the same decisions for the same requests however they interleave.
 */
import { createHash } from 'node:crypto';

export interface SandboxSettings {
  /** added to every call before it is processed */
  latencyMs: number;
  /** up to this much more, per call */
  latencyJitterMs: number;
  /** `tok_sandbox_flaky`: share of the calls on such a method that fail (half time out, half answer 5xx) */
  flakyRate: number;
  /** share of ALL calls that time out (an operator-made outage; 0 by default) */
  timeoutRate: number;
  /** share of ALL calls answered 503 without being processed */
  errorRate: number;
  /** share of holds declined on methods that are neither `tok_sandbox_ok` (never) nor `tok_sandbox_decline` (always) */
  declineRate: number;
  /** share of the timed-out POSTs that were applied before the answer got lost (the case idempotency keys exist for) */
  lostReplyRate: number;
  /** a timed-out request hangs this long (or until the client gives up), then its connection is dropped */
  hangMs: number;
  seed: string;
}

export const DEFAULT_SANDBOX_SETTINGS: Readonly<SandboxSettings> = Object.freeze({
  latencyMs: 0,
  latencyJitterMs: 0,
  flakyRate: 0.3,
  timeoutRate: 0,
  errorRate: 0,
  declineRate: 0,
  lostReplyRate: 0.5,
  hangMs: 30_000,
  seed: 'fleetdesk',
});

export type FaultDecision = 'none' | 'error' | 'timeout_applied' | 'timeout_lost';

const RATE_FIELDS = ['flakyRate', 'timeoutRate', 'errorRate', 'declineRate', 'lostReplyRate'] as const;
const MS_FIELDS = ['latencyMs', 'latencyJitterMs', 'hangMs'] as const;

/** Validates a partial settings object (HTTP or options); throws a message naming the field. */
export function checkSettings(patch: Record<string, unknown>): Partial<SandboxSettings> {
  const out: Partial<SandboxSettings> = {};
  for (const [key, value] of Object.entries(patch)) {
    if ((RATE_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new Error(`${key} must be a number 0–1`);
      out[key as (typeof RATE_FIELDS)[number]] = value;
    } else if ((MS_FIELDS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 600_000)
        throw new Error(`${key} must be an integer 0–600000 (ms)`);
      out[key as (typeof MS_FIELDS)[number]] = value;
    } else if (key === 'seed') {
      if ((typeof value !== 'string' && typeof value !== 'number') || String(value).length > 200)
        throw new Error('seed must be a string or a number');
      out.seed = String(value);
    } else {
      throw new Error(`unknown setting ${key}`);
    }
  }
  return out;
}

export class FaultPlan {
  private readonly seen = new Map<string, number>();

  constructor(private readonly settings: () => SandboxSettings) {}

  /** A number in [0, 1) for this identity's n-th occurrence and purpose. */
  private draw(identity: string, n: number, purpose: string): number {
    const digest = createHash('sha256').update(`${this.settings().seed}\u0000${identity}\u0000${n}\u0000${purpose}`).digest();
    return digest.readUInt32BE(0) / 0x1_0000_0000;
  }

  private next(identity: string): number {
    const n = this.seen.get(identity) ?? 0;
    this.seen.set(identity, n + 1);
    return n;
  }

  /** `identity`: the idempotency key of a POST, or method + path of a read. */
  decide(identity: string, flaky: boolean): FaultDecision {
    const s = this.settings();
    const n = this.next(identity);
    const pTimeout = Math.min(1, s.timeoutRate + (flaky ? s.flakyRate / 2 : 0));
    const pError = Math.min(1 - pTimeout, s.errorRate + (flaky ? s.flakyRate / 2 : 0));
    const u = this.draw(identity, n, 'fault');
    if (u < pTimeout) return this.draw(identity, n, 'lost') < s.lostReplyRate ? 'timeout_applied' : 'timeout_lost';
    if (u < pTimeout + pError) return 'error';
    return 'none';
  }

  latencyMs(identity: string): number {
    const s = this.settings();
    if (s.latencyJitterMs === 0) return s.latencyMs;
    return s.latencyMs + Math.floor(this.draw(identity, this.seen.get(identity) ?? 0, 'latency') * (s.latencyJitterMs + 1));
  }

  /** Whether a hold on a method with a decline rate is declined (deterministic per hold request). */
  declines(identity: string): boolean {
    const rate = this.settings().declineRate;
    return rate > 0 && this.draw(identity, 0, 'decline') < rate;
  }
}
